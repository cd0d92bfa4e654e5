#include "hub/offer_service.hpp"

#include <utility>

#include "hub/access.hpp"
#include "hub/event_log.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {
namespace {

// Store nodes of the program hear of a new, changed or withdrawn offer (sync pull) with all they
// need to earn by it offline (categories, multiplier, validity); webhooks never see this type.
core::Status RecordOfferChanged(storage::WriteTxn& txn, const std::string& program_id,
                                const core::Offer& offer, core::Timestamp now) {
    EventData data = {{"offer_id", offer.offer_id},
                      {"store_id", offer.store_id},
                      {"title", offer.title},
                      {"categories", offer.categories},
                      {"valid_from", EventTime(offer.valid_from)},
                      {"valid_to", EventTime(offer.valid_to)},
                      {"points_multiplier_milli", offer.points_multiplier_milli}};
    if (offer.withdrawn_at) data["withdrawn_at"] = EventTime(*offer.withdrawn_at);
    return RecordEvent(txn, "offer.changed", program_id, "", now, data);
}

// The program whose stores hear of the calling store's offers.
std::string ProgramOf(HubContext& context, const Caller& caller) {
    auto store = context.StoreById(caller.store_id);
    return store && *store ? (*store)->program_id : caller.program_id;
}

}  // namespace

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
        return RecordOfferChanged(txn, program_id, offer, now);
    }));
    context_.InvalidateOffers(offer.store_id);
    return offer;
}

namespace {

// The calling store's offer `offer_id`; another store's is not found, like an unknown one.
core::Result<core::Offer> OwnOffer(storage::WriteTxn& txn, const Caller& caller,
                                   const std::string& offer_id) {
    KZ_ASSIGN_OR_RETURN(auto found, txn.FindOffer(offer_id));
    if (!found || found->store_id != caller.store_id) {
        return core::MakeError(core::ErrorCode::kNotFound,
                               "no offer " + offer_id + " of this store", "offer_id");
    }
    return std::move(*found);
}

}  // namespace

core::Result<core::Offer> OfferService::UpdateOffer(const Caller& caller,
                                                    const std::string& offer_id,
                                                    const OfferChange& change) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "edit offers"));
    const core::Timestamp now = context_.Now();
    const std::string program_id = ProgramOf(context_, caller);
    core::Offer offer;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(offer, OwnOffer(txn, caller, offer_id));
        if (offer.withdrawn_at) {
            return core::MakeError(core::ErrorCode::kRuleViolation,
                                   "offer " + offer_id + " was withdrawn; register a new one");
        }
        if (change.title) offer.title = *change.title;
        if (change.body) offer.body = *change.body;
        if (change.categories) offer.categories = *change.categories;
        if (change.valid_from) offer.valid_from = *change.valid_from;
        if (change.valid_to) offer.valid_to = *change.valid_to;
        if (change.points_multiplier_milli) {
            offer.points_multiplier_milli = *change.points_multiplier_milli;
        }
        offer.updated_at = now;
        KZ_RETURN_IF_ERROR(core::ValidateOffer(offer));
        KZ_RETURN_IF_ERROR(txn.UpdateOffer(offer));
        return RecordOfferChanged(txn, program_id, offer, now);
    }));
    context_.InvalidateOffers(caller.store_id);
    return offer;
}

core::Result<core::Offer> OfferService::WithdrawOffer(const Caller& caller,
                                                      const std::string& offer_id) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "withdraw offers"));
    const core::Timestamp now = context_.Now();
    const std::string program_id = ProgramOf(context_, caller);
    core::Offer offer;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(offer, OwnOffer(txn, caller, offer_id));
        if (offer.withdrawn_at) return core::Status::Ok();
        offer.withdrawn_at = now;
        offer.updated_at = now;
        KZ_RETURN_IF_ERROR(txn.UpdateOffer(offer));
        return RecordOfferChanged(txn, program_id, offer, now);
    }));
    context_.InvalidateOffers(caller.store_id);
    return offer;
}

core::Result<OfferListing> OfferService::ListOffersWithNames(const Caller& caller) {
    OfferListing listing;
    KZ_ASSIGN_OR_RETURN(listing.offers, ListOffers(caller));
    for (const core::Offer& offer : listing.offers) {
        if (listing.store_names.count(offer.store_id)) continue;
        KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(offer.store_id));
        if (store) listing.store_names[offer.store_id] = store->name;
    }
    return listing;
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
