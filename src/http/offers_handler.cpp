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
    if (!body.ok()) return ErrorResponse(body.error());

    auto created = ctx.hub.offers().CreateOffer(ctx.caller, std::move(offer));
    if (!created) return ErrorResponse(created.error());
    Json json = Json::object();
    json["offer_id"] = created->offer_id;
    json.update(OfferToJson(*created));
    return JsonResponse(201, json);
}

HttpResponse ListOffers(const RequestContext& ctx) {
    auto offers = ctx.hub.offers().ListOffers(ctx.caller);
    if (!offers) return ErrorResponse(offers.error());
    Json list = Json::array();
    for (const core::Offer& offer : *offers) list.push_back(OfferToJson(offer));
    Json json = Json::object();
    json["offers"] = std::move(list);
    return JsonResponse(200, json);
}

}  // namespace

void AddOfferRoutes(Router& router) {
    router.Add({"POST", "/v1/offers", Access::Roles({Role::kStore}), CreateOffer});
    router.Add({"GET", "/v1/offers", Access::Roles({Role::kMember, Role::kStore}), ListOffers});
}

}  // namespace kizuna::http
