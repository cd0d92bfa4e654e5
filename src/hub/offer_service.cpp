#include "hub/offer_service.hpp"

#include <utility>

#include "hub/access.hpp"
#include "hub/event_log.hpp"
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
    KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(caller.store_id));
    const std::string program_id = store ? store->program_id : caller.program_id;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_RETURN_IF_ERROR(txn.InsertOffer(offer));
        // Store nodes of the program hear of it (sync pull); webhooks never see this type.
        return RecordEvent(txn, "offer.changed", program_id, "", now,
                           {{"offer_id", offer.offer_id},
                            {"store_id", offer.store_id},
                            {"title", offer.title},
                            {"valid_from", EventTime(offer.valid_from)},
                            {"valid_to", EventTime(offer.valid_to)}});
    }));
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
