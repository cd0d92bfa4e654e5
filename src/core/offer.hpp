#pragma once
// A store's offers (the seed's service information: sales and recommendations, [0027]).

#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

struct Offer {
    std::string offer_id;
    std::string store_id;
    std::string title;                    // 1..200 characters
    std::string body;                     // 0..5000 characters
    std::vector<std::string> categories;  // matched against purchase categories for targeting
    Timestamp valid_from{};
    Timestamp valid_to{};  // exclusive; valid_from < valid_to
    Timestamp created_at{};
};

// Errors: kInvalidArgument naming the field ("title", "valid_to", "categories[1]", ...).
Status ValidateOffer(const Offer& offer);
bool IsCurrent(const Offer& offer, Timestamp now);

}  // namespace kizuna::core
