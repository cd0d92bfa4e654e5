#pragma once
// What every service shares: storage, clock, randomness, the card signer and the caches of
// things every request needs and that rarely change (API key -> store, store -> rules).
// Internal to src/hub.

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/earning_rule.hpp"
#include "core/random.hpp"
#include "core/store.hpp"
#include "core/time.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext {
public:
    HubContext(storage::Storage& storage, const core::Clock& clock, core::Random& random,
               std::string operator_token_digest, std::string card_public_key,
               std::string card_secret_key);

    storage::Storage& storage() { return storage_; }
    core::Timestamp Now() const { return clock_.Now(); }
    // Thread-safe wrapper over the injected Random.
    uint64_t Uniform(uint64_t upper_bound);
    std::string NewOpaqueId(std::string_view prefix);
    std::string NewMemberId();
    std::string NewCardNumber();

    const std::string& operator_token_digest() const { return operator_token_digest_; }
    const std::string& card_public_key() const { return card_public_key_; }
    // Signs a card record with the hub's key; returns the record's text form ("KZ1....").
    core::Result<std::string> SignCardRecord(const core::Card& card);

    // Cached reads; storage is asked once, then again only after Invalidate*.
    core::Result<std::optional<core::Store>> StoreByKeyHash(const std::string& hash);
    core::Result<std::optional<core::Store>> StoreById(const std::string& store_id);
    core::Result<std::vector<core::EarningRule>> RulesOf(const std::string& store_id);
    void InvalidateStore(const std::string& store_id);
    void InvalidateRules(const std::string& store_id);

private:
    storage::Storage& storage_;
    const core::Clock& clock_;
    std::mutex random_mutex_;
    core::Random& random_;
    std::string operator_token_digest_;
    std::string card_public_key_;
    std::string card_secret_key_;

    std::mutex cache_mutex_;
    std::unordered_map<std::string, core::Store> stores_by_key_;
    std::unordered_map<std::string, core::Store> stores_by_id_;
    std::unordered_map<std::string, std::vector<core::EarningRule>> rules_by_store_;
};

}  // namespace kizuna::hub
