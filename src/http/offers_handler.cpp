// Offers: stores register sales and recommendations (seed function 6); members and stores list
// the current ones (7).
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

HttpResponse CreateOffer(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    core::Offer offer;
    offer.title = body.RequiredString("title");
    offer.body = body.OptionalString("body").value_or("");
    offer.categories = body.OptionalStringArray("categories");
    // Absent: the service starts the offer now.
    offer.valid_from = body.OptionalTime("valid_from").value_or(core::Timestamp{});
    offer.valid_to = body.RequiredTime("valid_to");
    offer.points_multiplier_milli = body.OptionalMilli("points_multiplier").value_or(1000);
    if (!body.ok()) return ErrorResponse(body.error());

    auto created = ctx.hub.offers().CreateOffer(ctx.caller, std::move(offer));
    if (!created) return ErrorResponse(created.error());
    Json json = Json::object();
    json["offer_id"] = created->offer_id;
    json.update(OfferToJson(*created));
    return JsonResponse(201, json);
}

HttpResponse ListOffers(const RequestContext& ctx) {
    auto listing = ctx.hub.offers().ListOffersWithNames(ctx.caller);
    if (!listing) return ErrorResponse(listing.error());
    Json list = Json::array();
    for (const core::Offer& offer : listing->offers) {
        auto name = listing->store_names.find(offer.store_id);
        list.push_back(OfferToJson(offer, name == listing->store_names.end() ? "" : name->second));
    }
    Json json = Json::object();
    json["offers"] = std::move(list);
    return JsonResponse(200, json);
}

HttpResponse UpdateOffer(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::OfferChange change;
    change.title = body.OptionalString("title");
    change.body = body.OptionalString("body");
    if (body.Has("categories")) change.categories = body.OptionalStringArray("categories");
    change.valid_from = body.OptionalTime("valid_from");
    change.valid_to = body.OptionalTime("valid_to");
    change.points_multiplier_milli = body.OptionalMilli("points_multiplier");
    const bool withdraw = body.OptionalBool("withdrawn").value_or(false);
    if (!body.ok()) return ErrorResponse(body.error());
    auto offer = withdraw ? ctx.hub.offers().WithdrawOffer(ctx.caller, ctx.Param("id"))
                          : ctx.hub.offers().UpdateOffer(ctx.caller, ctx.Param("id"), change);
    if (!offer) return ErrorResponse(offer.error());
    return JsonResponse(200, OfferToJson(*offer));
}

HttpResponse WithdrawOffer(const RequestContext& ctx) {
    auto offer = ctx.hub.offers().WithdrawOffer(ctx.caller, ctx.Param("id"));
    if (!offer) return ErrorResponse(offer.error());
    return JsonResponse(200, OfferToJson(*offer));
}

}  // namespace

void AddOfferRoutes(Router& router) {
    router.Add({"POST", "/v1/offers", Access::Roles({Role::kStore}), CreateOffer});
    router.Add({"GET", "/v1/offers", Access::Roles({Role::kMember, Role::kStore}), ListOffers});
    router.Add({"PATCH", "/v1/offers/{id}", Access::Roles({Role::kStore}), UpdateOffer});
    router.Add({"DELETE", "/v1/offers/{id}", Access::Roles({Role::kStore}), WithdrawOffer});
}

}  // namespace kizuna::http
