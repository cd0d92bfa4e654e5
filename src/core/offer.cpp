#include "core/offer.hpp"

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
    if (!(offer.valid_from < offer.valid_to)) {
        return MakeError(ErrorCode::kInvalidArgument, "valid_to must be after valid_from",
                         "valid_to");
    }
    return Status::Ok();
}

bool IsCurrent(const Offer& offer, Timestamp now) {
    return offer.valid_from <= now && now < offer.valid_to;
}

}  // namespace kizuna::core
