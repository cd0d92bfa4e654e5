#pragma once
// The API's routes, one function per resource, each in its own file (programs_handler.cpp,
// ...). Handlers are thin: read and check the request's shape into a service request, call one
// service, map the result. The shared pieces they use are declared below.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "http/error_mapping.hpp"
#include "http/http_message.hpp"
#include "http/json.hpp"
#include "http/router.hpp"

namespace kizuna::http {

void AddProgramRoutes(Router& router);
void AddStoreRoutes(Router& router);
void AddMemberRoutes(Router& router);
void AddSessionRoutes(Router& router);
void AddPurchaseRoutes(Router& router);
void AddRedemptionRoutes(Router& router);
void AddOfferRoutes(Router& router);
// Operations on the running hub: POST /v1/admin/backup.
void AddAdminRoutes(Router& router);
void AddReservationRoutes(Router& router);
void AddWebhookRoutes(Router& router);
// Coalition economics and settlement statements (settlements_handler.cpp).
void AddSettlementRoutes(Router& router);
// Issue 19: GET /v1/programs/{id}, redemption limits and tiers; campaigns; member merge.
void AddProgramSettingsRoutes(Router& router);
void AddCampaignRoutes(Router& router);
void AddMergeRoutes(Router& router);
// Store node sync, the hub side: /v1/sync/* (sync_handler.cpp).
void AddSyncRoutes(Router& router);
// Offer dispatch runs, their letters and labels, and the unsubscribe links.
void AddDispatchRoutes(Router& router);
// The till: a store's terminals, staff, limits and day report (till_handler.cpp).
void AddTillRoutes(Router& router);
// Health, the card-signing key, metrics (rendered by `render_metrics`) and the OpenAPI document.
void AddSystemRoutes(Router& router, std::function<std::string()> render_metrics);

// A JSON answer with `status`.
HttpResponse JsonResponse(int status, const Json& body);
// The answer to an idempotent write (purchase, redemption, refund): 201 the first time, 200 with
// the first answer again when the same id is replayed.
HttpResponse IdempotentWriteResponse(bool replayed, const Json& body);
// As above, with the body already JSON text (a JsonWriter's).
HttpResponse IdempotentWriteResponse(bool replayed, std::string body);
// The completion of an async idempotent write (purchase, redemption, refund): takes the
// service's outcome on whatever thread it arrives (the storage's), and builds and sends the
// answer on the connection's thread (ctx.defer): an error as ErrorResponse, a receipt as
// IdempotentWriteResponse(receipt.replayed, to_json(receipt)); to_json returns a Json or the
// JSON text itself.
template <typename Receipt, typename ToJson>
std::function<void(core::Result<Receipt>)> AnswerWhenDurable(const RequestContext& ctx,
                                                             Respond respond, ToJson to_json) {
    return [later = ctx.defer, respond = std::move(respond),
            to_json = std::move(to_json)](core::Result<Receipt> outcome) mutable {
        Task answer = [respond = std::move(respond), to_json = std::move(to_json),
                       outcome = std::move(outcome)] {
            if (!outcome) return respond(ErrorResponse(outcome.error()));
            respond(IdempotentWriteResponse(outcome->replayed, to_json(*outcome)));
        };
        if (later) {
            later(std::move(answer));
        } else {
            answer();
        }
    };
}
// 404 naming what was not found, e.g. NotFound("member", "123").
HttpResponse NotFound(std::string_view what, std::string_view id);
// The `limit` query parameter: `fallback` when absent, else an integer 1..max; anything else
// leaves the 400 answer naming "limit" in `refusal` and returns none.
std::optional<int> QueryLimit(const HttpRequest& request, int fallback, int max,
                              HttpResponse& refusal);
// The member id in the path, if it is well-formed (10 digits, valid check digit); a malformed
// one cannot exist, so the caller answers 404 without asking storage.
bool IsMemberIdParam(std::string_view id);
// The token of an "Authorization: Bearer <token>" header; empty when there is no header.
// Errors: kUnauthenticated for another scheme or an empty token.
core::Result<std::string> BearerToken(std::string_view header);

}  // namespace kizuna::http
