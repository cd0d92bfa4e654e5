#pragma once
// Offers: stores register sales and recommendations (seed function 6); members list the
// current ones (7).

#include <string>
#include <vector>

#include "core/offer.hpp"
#include "core/result.hpp"
#include "hub/caller.hpp"

namespace kizuna::hub {

class HubContext;

class OfferService {
  public:
    explicit OfferService(HubContext& context) : context_(context) {}

    // Stores only; store_id and offer_id are set here. valid_from defaults to now.
    core::Result<core::Offer> CreateOffer(const Caller& caller, core::Offer offer);
    // Members: every current offer of every store (seed [0027] S314). Stores: their own.
    core::Result<std::vector<core::Offer>> ListOffers(const Caller& caller);

  private:
    HubContext& context_;
};

}  // namespace kizuna::hub
