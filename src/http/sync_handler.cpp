// Store node sync, the hub side: bootstrap, id leases, push, pull, conflicts (/v1/sync/*).
// With `kizuna hub serve --node-ca`, every /v1/sync/* call must also come over TLS with a client
// certificate the hub's node CA signed for the calling store.
#include <charconv>

#include "core/card_record.hpp"
#include "core/purchase.hpp"
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "http/request_readers.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

// The node certificate check (HttpRequest::node_store): none when the server does not ask for
// one, else the refusal of a call without a certificate, or with another store's.
std::optional<HttpResponse> RefuseNode(const RequestContext& ctx) {
    if (!ctx.request.node_store) return std::nullopt;
    if (ctx.request.node_store->empty()) {
        return ErrorResponse(
            core::MakeError(core::ErrorCode::kUnauthenticated,
                            "store node calls need a client certificate from this hub's node CA "
                            "(kizuna hub nodes add STORE_ID writes node.crt and node.key)"));
    }
    if (ctx.caller.role == Role::kStore && *ctx.request.node_store != ctx.caller.store_id) {
        return ErrorResponse(core::MakeError(
            core::ErrorCode::kForbidden, "the client certificate was issued to store " +
                                             *ctx.request.node_store + ", not to the API key's " +
                                             ctx.caller.store_id));
    }
    return std::nullopt;
}

std::optional<int64_t> QueryInt(const HttpRequest& request, std::string_view name,
                                HttpResponse& refusal) {
    auto it = request.query.find(name);
    if (it == request.query.end()) return int64_t{0};
    int64_t value = -1;
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
        refusal = ErrorResponse(core::MakeError(core::ErrorCode::kInvalidArgument,
                                                std::string(name) + " must be an integer >= 0",
                                                std::string(name)));
        return std::nullopt;
    }
    return value;
}

HttpResponse Bootstrap(const RequestContext& ctx) {
    if (auto refusal = RefuseNode(ctx)) return std::move(*refusal);
    auto snapshot = ctx.hub.sync().Bootstrap(ctx.caller);
    if (!snapshot) return ErrorResponse(snapshot.error());
    Json json = Json::object();
    json["cursor"] = snapshot->cursor;
    json["store"] = StoreToJson(snapshot->store);
    json["program"] = ProgramToJson(snapshot->program);
    Json rule = Json::object();
    if (!snapshot->rule_versions.empty()) rule = RuleToJson(snapshot->rule_versions.back());
    Json versions = Json::array();
    for (const auto& version : snapshot->rule_versions) versions.push_back(RuleToJson(version));
    rule["versions"] = std::move(versions);
    json["rule"] = std::move(rule);
    Json offers = Json::array();
    for (const auto& offer : snapshot->offers) offers.push_back(OfferToJson(offer));
    json["offers"] = std::move(offers);
    json["card_key_algorithm"] = "Ed25519";
    json["card_public_key"] = core::Base64UrlEncode(snapshot->card_public_key);
    Json revoked = Json::array();
    for (const auto& number : snapshot->revoked_cards) revoked.push_back(number);
    json["revoked_cards"] = std::move(revoked);
    return JsonResponse(200, json);
}

// The store's staff (with PIN hashes), terminals (with key digests), till settings and its
// program's tiers: what the node needs to act for the till offline.
HttpResponse Till(const RequestContext& ctx) {
    if (auto refusal = RefuseNode(ctx)) return std::move(*refusal);
    auto till = ctx.hub.sync().Till(ctx.caller);
    if (!till) return ErrorResponse(till.error());
    Json staff = Json::array();
    for (const core::StaffMember& s : till->staff) {
        staff.push_back({{"staff_id", s.staff_id},
                         {"role", core::StaffRoleName(s.role)},
                         {"pin_hash", s.pin_hash},
                         {"removed_at", s.removed_at ? TimeToJson(*s.removed_at) : Json()}});
    }
    Json terminals = Json::array();
    for (const core::Terminal& t : till->terminals) {
        terminals.push_back({{"terminal_id", t.terminal_id},
                             {"key_hash", t.key_hash},
                             {"revoked_at", t.revoked_at ? TimeToJson(*t.revoked_at) : Json()}});
    }
    Json tiers = Json::array();
    for (const core::Tier& tier : till->tiers.tiers) {
        tiers.push_back({{"name", tier.name},
                         {"threshold", tier.threshold},
                         {"multiplier", MilliToJson(tier.multiplier_milli)}});
    }
    Json json = Json::object();
    json["staff"] = std::move(staff);
    json["terminals"] = std::move(terminals);
    json["limits"] = {{"max_sale_total", till->settings.max_sale_total},
                      {"max_points_per_sale", till->settings.max_points_per_sale},
                      {"manager_refund_above", till->settings.manager_refund_above},
                      {"utc_offset_minutes", till->settings.utc_offset_minutes}};
    json["tiers"] = {{"basis", core::TierBasisName(till->tiers.basis)},
                     {"tiers", std::move(tiers)}};
    return JsonResponse(200, json);
}

HttpResponse Lease(const RequestContext& ctx) {
    if (auto refusal = RefuseNode(ctx)) return std::move(*refusal);
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    std::string kind = body.RequiredString("kind");
    int64_t count = body.RequiredInt("count");
    if (body.ok() && (count < 1 || count > hub::kMaxLeaseCount)) {
        body.Fail("count", "count must be 1.." + std::to_string(hub::kMaxLeaseCount));
    }
    if (!body.ok()) return ErrorResponse(body.error());
    auto values = ctx.hub.sync().Lease(ctx.caller, kind, static_cast<int>(count));
    if (!values) return ErrorResponse(values.error());
    Json json = Json::object();
    json["kind"] = kind;
    Json list = Json::array();
    for (const auto& value : *values) list.push_back(value);
    json["values"] = std::move(list);
    return JsonResponse(201, json);
}

// The online request an event's body (`text`, a JSON object) stands for, read on its own as the
// online endpoint reads it; a problem with it is the event's rejection, named as that endpoint
// names it.
void ReadEventRequest(const std::string& text, hub::SyncEvent& out) {
    JsonReader body = JsonReader::ParseBody(text);
    const std::string& type = out.type;
    if (type == "purchase.created") {
        out.request = ReadPurchaseRequest(body);
    } else if (type == "purchase.refunded") {
        std::string purchase_id = body.RequiredString("purchase_id");
        out.request = ReadRefundRequest(body, purchase_id);
    } else if (type == "points.redeemed") {
        out.request = ReadRedemptionRequest(body);
    } else if (type == "member.enrolled") {
        hub::OfflineEnrollment enrollment;
        enrollment.member = ReadNewMember(body);
        enrollment.member_id = body.RequiredString("member_id");
        enrollment.card_number = body.RequiredString("card_number");
        out.request = std::move(enrollment);
    } else if (type == "card.issued") {
        hub::OfflineCard card;
        card.member_id = body.RequiredString("member_id");
        card.card_number = body.OptionalString("card_number").value_or("");
        card.password = body.OptionalString("password").value_or("");
        card.medium = ReadCardMedium(body, "medium", core::CardMedium::kVirtual);
        out.request = std::move(card);
    } else if (type == "reservation.created") {
        out.request = ReadReservationRequest(body);
    } else if (type == "reservation.updated") {
        hub::ReservationChange change;
        change.reservation_id = body.RequiredString("reservation_id");
        change.created_by = body.OptionalString("created_by").value_or("");
        std::string status = body.RequiredString("status");
        if (body.ok()) {
            auto parsed = core::ParseReservationStatus(status, "status");
            if (!parsed) {
                body.Fail("status", parsed.error().message);
            } else {
                change.status = *parsed;
            }
        }
        out.request = std::move(change);
    } else {
        out.request = core::MakeError(
            core::ErrorCode::kInvalidArgument,
            "type must be one of member.enrolled, card.issued, purchase.created, "
            "purchase.refunded, points.redeemed, reservation.created, reservation.updated",
            "type");
        return;
    }
    if (!body.ok()) out.request = body.error();
}

std::string ErrorBody(const core::Error& error) { return ErrorResponse(error).body; }

const hub::SyncRendering& Rendering() {
    static const hub::SyncRendering rendering{
        .purchase = [](const hub::PurchaseReceipt& r) { return PurchaseReceiptText(r); },
        .refund = [](const hub::RefundReceipt& r) { return DumpJson(RefundReceiptToJson(r)); },
        .redemption =
            [](const hub::RedemptionReceipt& r) {
                Json json = RedemptionReceiptToJson(r);
                if (r.points_short > 0) json["points_short"] = r.points_short;
                return DumpJson(json);
            },
        .enrollment =
            [](const hub::Enrollment& e) {
                Json json = Json::object();
                json["member_id"] = e.member_id;
                json["card"] = IssuedCardToJson(e.card);
                return DumpJson(json);
            },
        .card =
            [](const hub::IssuedCard& card) {
                Json json = Json::object();
                json["card"] = IssuedCardToJson(card);
                return DumpJson(json);
            },
        .reservation =
            [](const hub::ReservationAnswer& a) {
                Json json = ReservationToJson(a.reservation);
                if (a.replayed) json["replayed"] = true;
                return DumpJson(json);
            },
        .error = ErrorBody,
        .error_status = [](const core::Error& error) { return ErrorResponse(error).status; },
    };
    return rendering;
}

HttpResponse Push(const RequestContext& ctx) {
    if (auto refusal = RefuseNode(ctx)) return std::move(*refusal);
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    std::vector<JsonReader> items = body.ObjectArray("events", true);
    if (body.ok() && items.size() > static_cast<std::size_t>(hub::kMaxPushEvents)) {
        body.Fail("events",
                  "a push holds at most " + std::to_string(hub::kMaxPushEvents) + " events");
    }
    if (!body.ok()) return ErrorResponse(body.error());
    // The envelope (id, type, time) must be right for the whole push; a body's problem is only
    // its event's.
    for (JsonReader& item : items) {
        const std::string event_id = item.RequiredString("event_id");
        if (item.ok()) {
            if (auto valid = core::ValidateClientId(event_id, "event_id"); !valid.ok()) {
                item.Fail("event_id", valid.error().message);
            }
        }
        (void)item.RequiredString("type");
        (void)item.RequiredTime("occurred_at");
        (void)item.OptionalString("terminal_id");
        (void)item.OptionalString("staff_id");
        (void)item.Object("body", true);
    }
    if (!body.ok()) return ErrorResponse(body.error());
    const Json document = Json::parse(ctx.request.body);
    const Json& list = document.at("events");
    std::vector<hub::SyncEvent> events;
    events.reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
        hub::SyncEvent event;
        event.event_id = list[i].at("event_id").get<std::string>();
        event.type = list[i].at("type").get<std::string>();
        event.occurred_at = items[i].RequiredTime("occurred_at");
        event.terminal_id = items[i].OptionalString("terminal_id").value_or("");
        event.staff_id = items[i].OptionalString("staff_id").value_or("");
        ReadEventRequest(DumpJson(list[i].at("body")), event);
        events.push_back(std::move(event));
    }
    auto answer = ctx.hub.sync().Push(ctx.caller, std::move(events), Rendering());
    if (!answer) return ErrorResponse(answer.error());
    // The stored bodies are JSON text already; they are spliced in, not parsed again.
    std::string out = "{\"results\":[";
    bool first = true;
    for (const hub::SyncResult& result : answer->results) {
        if (!first) out += ',';
        first = false;
        Json head = Json::object();
        head["event_id"] = result.event_id;
        head["status"] = result.status;
        head["http_status"] = result.http_status;
        std::string text = DumpJson(head);
        text.pop_back();  // the closing brace
        out += text;
        out += ",\"body\":";
        out += result.body.empty() ? "{}" : result.body;
        out += '}';
    }
    out += "],\"cursor\":" + std::to_string(answer->cursor) + "}";
    HttpResponse response;
    response.status = 200;
    response.body = std::move(out);
    return response;
}

HttpResponse Pull(const RequestContext& ctx) {
    if (auto refusal = RefuseNode(ctx)) return std::move(*refusal);
    HttpResponse refusal;
    auto cursor = QueryInt(ctx.request, "cursor", refusal);
    if (!cursor) return refusal;
    auto limit = QueryLimit(ctx.request, hub::kDefaultPullLimit, hub::kMaxPullLimit, refusal);
    if (!limit) return refusal;
    auto page = ctx.hub.sync().Pull(ctx.caller, *cursor, *limit);
    if (!page) return ErrorResponse(page.error());
    Json events = Json::array();
    for (const storage::Event& event : page->events) {
        Json json = Json::object();
        json["sequence"] = event.sequence;
        json["type"] = event.type;
        json["created_at"] = TimeToJson(event.created_at);
        json["data"] = Json::parse(event.payload, nullptr, false);
        events.push_back(std::move(json));
    }
    Json json = Json::object();
    json["events"] = std::move(events);
    json["cursor"] = page->cursor;
    json["more"] = page->more;
    return JsonResponse(200, json);
}

HttpResponse Conflicts(const RequestContext& ctx) {
    if (ctx.caller.role == Role::kStore) {
        if (auto refusal = RefuseNode(ctx)) return std::move(*refusal);
    }
    HttpResponse refusal;
    auto after = QueryInt(ctx.request, "after", refusal);
    if (!after) return refusal;
    auto limit = QueryLimit(ctx.request, 100, 1000, refusal);
    if (!limit) return refusal;
    auto conflicts = ctx.hub.sync().Conflicts(ctx.caller, *after, *limit);
    if (!conflicts) return ErrorResponse(conflicts.error());
    Json list = Json::array();
    for (const storage::SyncConflict& c : *conflicts) {
        Json json = Json::object();
        json["conflict_id"] = c.conflict_id;
        json["kind"] = c.kind;
        json["store_id"] = c.store_id;
        json["event_id"] = c.event_id;
        json["member_id"] = c.member_id;
        if (!c.other_member_id.empty()) json["other_member_id"] = c.other_member_id;
        if (!c.card_number.empty()) json["card_number"] = c.card_number;
        if (c.points_short > 0) json["points_short"] = c.points_short;
        json["detail"] = c.detail;
        json["created_at"] = TimeToJson(c.created_at);
        list.push_back(std::move(json));
    }
    Json json = Json::object();
    json["conflicts"] = std::move(list);
    return JsonResponse(200, json);
}

}  // namespace

void AddSyncRoutes(Router& router) {
    router.Add({"GET", "/v1/sync/bootstrap", Access::Roles({Role::kStore}), Bootstrap});
    router.Add({"GET", "/v1/sync/till", Access::Roles({Role::kStore}), Till});
    router.Add({"POST", "/v1/sync/leases", Access::Roles({Role::kStore}), Lease});
    router.Add({"POST", "/v1/sync/push", Access::Roles({Role::kStore}), Push});
    router.Add({"GET", "/v1/sync/pull", Access::Roles({Role::kStore}), Pull});
    router.Add(
        {"GET", "/v1/sync/conflicts", Access::Roles({Role::kOperator, Role::kStore}), Conflicts});
}

}  // namespace kizuna::http
