#include "hub/offer_service.hpp"

#include <utility>

#include "hub/access.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {

core::Result<core::Offer> OfferService::CreateOffer(const Caller& caller, core::Offer offer) {
    KZ_RETURN_IF_ERROR(RequireManager(caller, "register offers"));
    const core::Timestamp now = context_.Now();
    offer.store_id = caller.store_id;
    offer.created_at = now;
    if (offer.valid_from == core::Timestamp{}) offer.valid_from = now;
    KZ_RETURN_IF_ERROR(core::ValidateOffer(offer));
    offer.offer_id = context_.NewOpaqueId("of");
    KZ_RETURN_IF_ERROR(
        context_.storage().Write([&](storage::WriteTxn& txn) { return txn.InsertOffer(offer); }));
    return offer;
}

core::Result<std::vector<core::Offer>> OfferService::ListOffers(const Caller& caller) {
    KZ_RETURN_IF_ERROR(
        RequireRole(caller, {Role::kMember, Role::kStore, Role::kOperator}, "list offers"));
    // Members (seed [0027] S314) and the operator see every store's; a store its own.
    std::vector<std::string> store_ids;
    if (caller.role == Role::kStore) store_ids.push_back(caller.store_id);
    std::vector<core::Offer> offers;
    const core::Timestamp now = context_.Now();
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(offers, txn.CurrentOffers(now, store_ids));
        return core::Status::Ok();
    }));
    return offers;
}

}  // namespace kizuna::hub
