#pragma once
// Offers: stores register sales and recommendations (seed function 6); members list the
// current ones (7).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/offer.hpp"
#include "core/result.hpp"
#include "hub/caller.hpp"

namespace kizuna::hub {

class HubContext;

// A change to an offer: only the fields set change.
struct OfferChange {
    std::optional<std::string> title, body;
    std::optional<std::vector<std::string>> categories;
    std::optional<core::Timestamp> valid_from, valid_to;
    std::optional<int64_t> points_multiplier_milli;
};

// Current offers with the names of their stores.
struct OfferListing {
    std::vector<core::Offer> offers;
    std::map<std::string, std::string> store_names;  // store id -> name
};

class OfferService {
  public:
    explicit OfferService(HubContext& context) : context_(context) {}

    // Stores only; store_id and offer_id are set here. valid_from defaults to now.
    core::Result<core::Offer> CreateOffer(const Caller& caller, core::Offer offer);
    // Members: every current offer of every store (seed [0027] S314). Stores: their own.
    core::Result<std::vector<core::Offer>> ListOffers(const Caller& caller);
    // ListOffers with the stores' names (from the cached stores: no read per offer).
    core::Result<OfferListing> ListOffersWithNames(const Caller& caller);
    // The store that made the offer: edits it, validated like a new one. A withdrawn offer
    // cannot be edited. Errors: kInvalidArgument naming the field, kNotFound (also another
    // store's offer), kRuleViolation (withdrawn).
    core::Result<core::Offer> UpdateOffer(const Caller& caller, const std::string& offer_id,
                                          const OfferChange& change);
    // The store that made it: the offer ends now for everybody (listings, mailings, points).
    // Withdrawing again answers the first withdrawal. Errors: kNotFound.
    core::Result<core::Offer> WithdrawOffer(const Caller& caller, const std::string& offer_id);

  private:
    HubContext& context_;
};

}  // namespace kizuna::hub
