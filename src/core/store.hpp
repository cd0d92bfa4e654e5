#pragma once
// Stores and programs. A program is a points currency; by default each store is its own
// program (the seed's customer x store point table), and a chain puts several in one.

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

enum class StoreKind { kPhysical, kOnline };
std::string_view StoreKindName(StoreKind k);  // "physical" / "online"
Result<StoreKind> ParseStoreKind(std::string_view text, std::string_view field);

struct Program {
    std::string program_id;
    std::string name;
    Timestamp created_at{};
};

struct Store {
    std::string store_id;
    std::string name;
    StoreKind kind = StoreKind::kPhysical;
    std::string program_id;
    std::string currency = "JPY";  // ISO 4217; amounts are integers in its minor unit
    std::string api_key_hash;      // hash of the API key; the key itself is shown once
    Timestamp created_at{};
};

// Validates a display name (stores, programs): 1..100 characters, no control characters.
Status ValidateName(std::string_view name, std::string_view field);
// Three upper-case ASCII letters.
Status ValidateCurrency(std::string_view currency, std::string_view field);

}  // namespace kizuna::core
