#include "core/offer.hpp"

#include <algorithm>
#include <map>

#include "core/text.hpp"

namespace kizuna::core {

namespace {
constexpr std::size_t kMaxTitleChars = 200;
constexpr std::size_t kMaxBodyChars = 5000;
constexpr std::size_t kMaxCategories = 50;
constexpr std::size_t kMaxCategoryChars = 100;
}  // namespace

Status ValidateOffer(const Offer& offer) {
    KZ_RETURN_IF_ERROR(CheckText(offer.title, "title", 1, kMaxTitleChars));
    KZ_RETURN_IF_ERROR(CheckText(offer.body, "body", 0, kMaxBodyChars, true));
    if (offer.categories.size() > kMaxCategories) {
        return MakeError(ErrorCode::kInvalidArgument, "categories must hold at most 50 entries",
                         "categories");
    }
    for (std::size_t i = 0; i < offer.categories.size(); ++i) {
        KZ_RETURN_IF_ERROR(CheckText(offer.categories[i], "categories[" + std::to_string(i) + "]",
                                     1, kMaxCategoryChars));
    }
    if (offer.points_multiplier_milli < kMultiplierOne ||
        offer.points_multiplier_milli > kMaxOfferMultiplierMilli) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "points_multiplier must be between 1 and 10 (1: no extra points)",
                         "points_multiplier");
    }
    if (!(offer.valid_from < offer.valid_to)) {
        return MakeError(ErrorCode::kInvalidArgument, "valid_to must be after valid_from",
                         "valid_to");
    }
    return Status::Ok();
}

bool IsCurrent(const Offer& offer, Timestamp now) {
    if (offer.withdrawn_at && *offer.withdrawn_at <= now) return false;
    return offer.valid_from <= now && now < offer.valid_to;
}

EarningRule WithOfferMultipliers(EarningRule rule, const std::vector<Offer>& offers,
                                 Timestamp occurred_at) {
    std::map<std::string, int64_t> best_by_category;
    for (const Offer& offer : offers) {
        if (offer.store_id != rule.store_id || offer.points_multiplier_milli <= kMultiplierOne ||
            !IsCurrent(offer, occurred_at)) {
            continue;
        }
        if (offer.categories.empty()) {
            rule.bonus_windows.push_back(
                {offer.valid_from, offer.valid_to, offer.points_multiplier_milli});
            continue;
        }
        for (const std::string& category : offer.categories) {
            int64_t& best = best_by_category[category];
            best = std::max(best, offer.points_multiplier_milli);
        }
    }
    for (const auto& [category, offer_milli] : best_by_category) {
        auto [it, inserted] = rule.category_multipliers_milli.try_emplace(category, kMultiplierOne);
        // Both at most 100x and 10x: the product fits easily; ComputePoints bounds the points.
        it->second = it->second * offer_milli / kMultiplierOne;
    }
    return rule;
}

}  // namespace kizuna::core
