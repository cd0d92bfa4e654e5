#pragma once
// A store's offers (the seed's service information: sales and recommendations, [0027]).

#include <optional>
#include <string>
#include <vector>

#include "core/earning_rule.hpp"
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
    // Points a purchase at the offer's store earns while the offer is current, in thousandths
    // (1000: the rule's own points): on the lines of the offer's categories, or on every line
    // when the offer names none. 1000..kMaxOfferMultiplierMilli.
    int64_t points_multiplier_milli = kMultiplierOne;
    std::optional<Timestamp> withdrawn_at{};  // a withdrawn offer is never current again
    std::optional<Timestamp> updated_at{};    // the last PATCH, if any
};

// An offer multiplies points by at most 10x.
inline constexpr int64_t kMaxOfferMultiplierMilli = 10'000;

// Errors: kInvalidArgument naming the field ("title", "valid_to", "categories[1]", ...).
Status ValidateOffer(const Offer& offer);
// Valid at `now` and not withdrawn.
bool IsCurrent(const Offer& offer, Timestamp now);

// The earning rule a purchase at `occurred_at` is computed with once the store's offers are
// counted: each current offer with a multiplier multiplies the category multipliers of its
// categories, or (naming no category) acts as a bonus window over its validity; of several
// offers on one category the largest counts. Offers of other stores are ignored.
EarningRule WithOfferMultipliers(EarningRule rule, const std::vector<Offer>& offers,
                                 Timestamp occurred_at);

}  // namespace kizuna::core
