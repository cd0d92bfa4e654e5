#include "pos/node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <future>
#include <memory>
#include <vector>

#include "card/card_verifier.hpp"
#include "core/card_record.hpp"
#include "core/earning_rule.hpp"
#include "core/ids.hpp"
#include "core/member.hpp"
#include "core/offer.hpp"
#include "core/purchase.hpp"
#include "core/reservation.hpp"
#include "core/text.hpp"
#include "core/tier.hpp"
#include "core/till.hpp"
#include "crypto/crypto.hpp"
#include "http/error_mapping.hpp"
#include "http/json.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"

namespace kizuna::pos {

using core::ErrorCode;
using http::Json;
using http::JsonReader;

namespace {

constexpr const char* kHubUnreachable = "hub_unreachable";
// An outbox event's body holds, under this key, the till it was done for ({"terminal_id",
// "staff_id"}); Push moves it to the event's envelope, where the hub reads it.
constexpr const char* kTillKey = "_till";

NodeAnswer JsonAnswer(int status, const Json& body) { return {status, http::DumpJson(body)}; }

NodeAnswer ErrorAnswer(const core::Error& error) {
    http::HttpResponse response = http::ErrorResponse(error);
    return {response.status, std::move(response.body)};
}

NodeAnswer ErrorAnswer(int status, std::string_view code, std::string_view message,
                       std::string_view field = {}) {
    http::HttpResponse response = http::ErrorResponse(status, code, message, field);
    return {response.status, std::move(response.body)};
}

NodeAnswer HubDown(std::string_view what) {
    return ErrorAnswer(
        503, kHubUnreachable,
        fmt::format("the hub cannot be reached and {}; try again when it is back", what));
}

// The answer as sent, or null when it is not a JSON object.
Json ParseObject(const std::string& text) {
    Json json = Json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return Json();
    return json;
}

std::string Text(const Json& json, const char* key) {
    auto it = json.find(key);
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<int64_t> Integer(const Json& json, const char* key) {
    auto it = json.find(key);
    if (it == json.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
}

std::string Lower(std::string text) {
    for (char& c : text) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return text;
}

// The UTC day of `t`, "2026-12-07": the offline redemption cap's period.
std::string DayOf(core::Timestamp t) { return core::FormatRfc3339(t).substr(0, 10); }

// A status failure as the answer the caller gets.
NodeAnswer Failed(const core::Status& status) { return ErrorAnswer(status.error()); }

}  // namespace

Node::Node(NodeStore& store, HubLink& hub, const core::Clock& clock, core::Random& random,
           NodeOptions options)
    : store_(store), hub_(hub), clock_(clock), random_(random), options_(options) {}

std::string Node::NewEventId() {
    std::lock_guard lock(random_mutex_);
    // 128 bits as 32 hex digits, 32 bits a draw: each draw of the system's source is a system
    // call, which an offline sale pays on the store's writer thread.
    std::string id = "ev-";
    for (int i = 0; i < 4; ++i) id += fmt::format("{:08x}", random_.Uniform(uint64_t{1} << 32));
    return id;
}

void Node::NoteReply(const HubReply& reply) {
    const bool reachable = !reply.Down();
    if (hub_reachable_.exchange(reachable) != reachable) {
        if (reachable) {
            spdlog::info("the hub is reachable again");
        } else {
            spdlog::warn("the hub is down ({}): working offline",
                         reply.reached ? "HTTP " + std::to_string(reply.status) : reply.error);
        }
    }
}

core::Status Node::Start() {
    bool have_cursor = false;
    KZ_RETURN_IF_ERROR(store_.Read([&](NodeTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(int64_t pending, txn.CountOutbox());
        outbox_pending_ = pending;
        KZ_ASSIGN_OR_RETURN(auto cursor, txn.GetMeta("cursor"));
        have_cursor = cursor.has_value();
        return core::Status::Ok();
    }));
    bootstrapped_ = have_cursor;
    if (!have_cursor) KZ_RETURN_IF_ERROR(Bootstrap());
    return core::Status::Ok();
}

HubReply Node::CallHub(const char* method, const std::string& path, const std::string* body,
                       const TillCall& till) {
    return hub_.Call(method, path, body, till.token.empty() ? nullptr : &till.token, till.staff);
}

std::optional<NodeAnswer> Node::TryForward(const char* method, const std::string& path,
                                           const std::string& body, bool is_write,
                                           const TillCall& till) {
    // Writes keep their order: while earlier ones wait in the outbox, later ones join them.
    if (is_write && outbox_pending_.load() > 0) return std::nullopt;
    HubReply reply = CallHub(method, path, &body, till);
    NoteReply(reply);
    if (reply.Down()) return std::nullopt;
    return NodeAnswer{static_cast<int>(reply.status), std::move(reply.body)};
}

// ---- bootstrap, push, pull, leases -----------------------------------------------------------

core::Status Node::Bootstrap() {
    HubReply reply = hub_.Call("GET", "/v1/sync/bootstrap", nullptr);
    NoteReply(reply);
    if (reply.Down() || reply.status != 200) {
        return core::MakeError(ErrorCode::kUnavailable,
                               reply.reached ? "the hub refused the bootstrap: HTTP " +
                                                   std::to_string(reply.status) + " " + reply.body
                                             : "cannot reach the hub to bootstrap: " + reply.error);
    }
    Json boot = ParseObject(reply.body);
    if (boot.is_null() || !Integer(boot, "cursor")) {
        return core::MakeError(ErrorCode::kUnavailable, "the hub's bootstrap is not understood");
    }
    KZ_RETURN_IF_ERROR(store_.Write([&](NodeTxn& txn) -> core::Status {
        KZ_RETURN_IF_ERROR(txn.SetMeta("store", http::DumpJson(boot.value("store", Json()))));
        KZ_RETURN_IF_ERROR(txn.SetMeta("program", http::DumpJson(boot.value("program", Json()))));
        // Every version of the rule when the hub sends them (an offline sale dated before the
        // last change earns by the version then in effect), else the one in effect.
        Json rules = Json::array();
        const Json rule = boot.value("rule", Json());
        if (rule.is_object() && rule.contains("versions") && rule["versions"].is_array()) {
            rules = rule["versions"];
        } else if (rule.is_object()) {
            rules.push_back(rule);
        }
        KZ_RETURN_IF_ERROR(txn.SetMeta("rules", http::DumpJson(rules)));
        KZ_RETURN_IF_ERROR(txn.SetMeta("card_public_key", Text(boot, "card_public_key")));
        std::vector<std::pair<std::string, std::string>> offers;
        for (const Json& offer : boot.value("offers", Json::array())) {
            offers.emplace_back(Text(offer, "offer_id"), http::DumpJson(offer));
        }
        KZ_RETURN_IF_ERROR(txn.ReplaceOffers(offers));
        for (const Json& card : boot.value("revoked_cards", Json::array())) {
            if (card.is_string()) KZ_RETURN_IF_ERROR(txn.RevokeCard(card.get<std::string>()));
        }
        return txn.SetMeta("cursor", std::to_string(*Integer(boot, "cursor")));
    }));
    bootstrapped_ = true;
    spdlog::info("node bootstrapped from the hub at cursor {}", *Integer(boot, "cursor"));
    return PullTill();
}

core::Status Node::PullTill() {
    HubReply reply = hub_.Call("GET", "/v1/sync/till", nullptr);
    NoteReply(reply);
    if (reply.Down()) {
        return core::MakeError(ErrorCode::kUnavailable, "till: the hub cannot be reached");
    }
    if (reply.status != 200 || ParseObject(reply.body).is_null()) {
        // Not fatal: the node keeps the till it had (a hub without the endpoint has none).
        spdlog::warn("the hub did not give the store's till: HTTP {} {}", reply.status, reply.body);
        return core::Status::Ok();
    }
    return store_.Write([&](NodeTxn& txn) { return txn.SetMeta("till", reply.body); });
}

core::Status Node::Sync() {
    std::lock_guard lock(sync_mutex_);
    if (!bootstrapped_) KZ_RETURN_IF_ERROR(Bootstrap());
    KZ_RETURN_IF_ERROR(Push());
    KZ_RETURN_IF_ERROR(Pull());
    KZ_RETURN_IF_ERROR(PullTill());
    KZ_RETURN_IF_ERROR(RefillLeases());
    return store_.Write([&](NodeTxn& txn) {
        return txn.SetMeta("last_sync_at", core::FormatRfc3339(clock_.Now()));
    });
}

core::Status Node::Push() {
    while (true) {
        std::vector<OutboxEvent> batch;
        KZ_RETURN_IF_ERROR(store_.Read([&](NodeTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(batch, txn.PeekOutbox(options_.push_batch));
            return core::Status::Ok();
        }));
        if (batch.empty()) return core::Status::Ok();
        Json events = Json::array();
        for (const OutboxEvent& e : batch) {
            Json event = Json::object();
            event["event_id"] = e.event_id;
            event["type"] = e.type;
            event["occurred_at"] = e.occurred_at;
            Json body = ParseObject(e.body);
            // The till it was done for travels in the envelope (see kTillKey).
            if (body.is_object() && body.contains(kTillKey)) {
                const Json till = body[kTillKey];
                if (!Text(till, "terminal_id").empty()) {
                    event["terminal_id"] = Text(till, "terminal_id");
                }
                if (!Text(till, "staff_id").empty()) event["staff_id"] = Text(till, "staff_id");
                body.erase(kTillKey);
            }
            event["body"] = std::move(body);
            events.push_back(std::move(event));
        }
        Json request = Json::object();
        request["events"] = std::move(events);
        const std::string payload = http::DumpJson(request);
        HubReply reply = hub_.Call("POST", "/v1/sync/push", &payload);
        NoteReply(reply);
        if (reply.Down()) {
            return core::MakeError(ErrorCode::kUnavailable, "push: the hub cannot be reached");
        }
        Json answer = ParseObject(reply.body);
        if (reply.status != 200 || answer.is_null() || !answer.contains("results")) {
            return core::MakeError(ErrorCode::kUnavailable,
                                   "push: the hub refused the batch: HTTP " +
                                       std::to_string(reply.status) + " " + reply.body);
        }
        int64_t removed = 0;
        KZ_RETURN_IF_ERROR(store_.Write([&](NodeTxn& txn) -> core::Status {
            removed = 0;
            for (const Json& result : answer["results"]) {
                const std::string event_id = Text(result, "event_id");
                const std::string status = Text(result, "status");
                auto it = std::find_if(batch.begin(), batch.end(), [&](const OutboxEvent& e) {
                    return e.event_id == event_id;
                });
                if (it == batch.end() || status.empty()) continue;
                const Json body = result.value("body", Json());
                if (status == "flagged" || status == "rejected") {
                    spdlog::warn("pushed event {} ({}) was {} by the hub: {}", event_id, it->type,
                                 status, http::DumpJson(body));
                    KZ_RETURN_IF_ERROR(txn.RecordSyncResult(
                        event_id, it->type, status, Integer(result, "http_status").value_or(0),
                        http::DumpJson(body)));
                }
                if (body.is_object()) {
                    const std::string member_id = Text(body, "member_id");
                    if (auto balance = Integer(body, "balance"); balance && !member_id.empty()) {
                        KZ_RETURN_IF_ERROR(txn.SetBalance(member_id, *balance));
                    }
                }
                KZ_RETURN_IF_ERROR(txn.RemoveOutbox(event_id));
                ++removed;
            }
            return core::Status::Ok();
        }));
        outbox_pending_ -= removed;
        if (removed == 0) {
            return core::MakeError(ErrorCode::kUnavailable,
                                   "push: the hub answered for none of the events sent");
        }
    }
}

core::Status Node::Pull() {
    while (true) {
        int64_t cursor = 0;
        KZ_RETURN_IF_ERROR(store_.Read([&](NodeTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(auto value, txn.GetMeta("cursor"));
            cursor = value ? std::stoll(*value) : 0;
            return core::Status::Ok();
        }));
        HubReply reply = hub_.Call(
            "GET", fmt::format("/v1/sync/pull?cursor={}&limit={}", cursor, options_.pull_limit),
            nullptr);
        NoteReply(reply);
        if (reply.Down()) {
            return core::MakeError(ErrorCode::kUnavailable, "pull: the hub cannot be reached");
        }
        Json answer = ParseObject(reply.body);
        if (reply.status != 200 || answer.is_null() || !Integer(answer, "cursor")) {
            return core::MakeError(
                ErrorCode::kUnavailable,
                "pull: the hub refused: HTTP " + std::to_string(reply.status) + " " + reply.body);
        }
        const int64_t next = *Integer(answer, "cursor");
        KZ_RETURN_IF_ERROR(store_.Write([&](NodeTxn& txn) -> core::Status {
            for (const Json& event : answer.value("events", Json::array())) {
                const std::string type = Text(event, "type");
                const Json data = event.value("data", Json::object());
                if (!data.is_object()) continue;
                const std::string member_id = Text(data, "member_id");
                if (type == "member.enrolled" || type == "member.updated") {
                    CachedMember member;
                    member.member_id = member_id;
                    const Json profile = data.value("profile", Json::object());
                    member.email = Lower(Text(profile.is_object() ? profile : data, "email"));
                    member.phone = Text(profile.is_object() ? profile : data, "phone");
                    if (!member_id.empty()) KZ_RETURN_IF_ERROR(txn.PutMember(member));
                }
                if (type == "card.issued" || type == "card.reissued" || type == "member.enrolled") {
                    int generation =
                        static_cast<int>(Integer(data, "card_generation")
                                             .value_or(Integer(data, "generation").value_or(1)));
                    const std::string card_number = Text(data, "card_number");
                    if (!card_number.empty()) {
                        KZ_RETURN_IF_ERROR(
                            txn.PutCard(CachedCard{card_number, member_id, generation, false}));
                    }
                    if (!member_id.empty() && type != "member.enrolled") {
                        KZ_RETURN_IF_ERROR(txn.RevokeCardsBefore(member_id, generation));
                    }
                    for (const char* key : {"revoked_card_number", "previous_card_number"}) {
                        if (!Text(data, key).empty())
                            KZ_RETURN_IF_ERROR(txn.RevokeCard(Text(data, key)));
                    }
                } else if (type == "card.revoked") {
                    if (!Text(data, "card_number").empty()) {
                        KZ_RETURN_IF_ERROR(txn.RevokeCard(Text(data, "card_number")));
                    }
                } else if (type == "purchase.created" || type == "purchase.refunded" ||
                           type == "points.redeemed") {
                    if (auto balance = Integer(data, "balance"); balance && !member_id.empty()) {
                        KZ_RETURN_IF_ERROR(txn.SetBalance(member_id, *balance));
                    }
                } else if (type.rfind("reservation.", 0) == 0) {
                    const std::string id = Text(data, "reservation_id");
                    if (!id.empty()) {
                        KZ_RETURN_IF_ERROR(txn.PutReservation(id, member_id, http::DumpJson(data)));
                    }
                } else if (type == "offer.changed") {
                    const Json offer = data.contains("offer") ? data["offer"] : data;
                    if (!Text(offer, "offer_id").empty()) {
                        KZ_RETURN_IF_ERROR(
                            txn.PutOffer(Text(offer, "offer_id"), http::DumpJson(offer)));
                    }
                } else if (type == "member.tier_changed") {
                    // The tier the member reached: kept on the member's cached detail, where an
                    // online GET /v1/members/{id} puts it too.
                    if (member_id.empty()) continue;
                    KZ_ASSIGN_OR_RETURN(auto member, txn.FindMember(member_id));
                    Json detail = member && !member->detail.empty() ? ParseObject(member->detail)
                                                                    : Json::object();
                    if (detail.is_null()) detail = Json::object();
                    detail["member_id"] = member_id;
                    detail["tier"] = {
                        {"name", Text(data, "tier")},
                        {"multiplier",
                         http::MilliToJson(
                             Integer(data, "multiplier_milli").value_or(core::kMultiplierOne))},
                        {"held_until", Text(data, "held_until")}};
                    KZ_RETURN_IF_ERROR(txn.PutMember(
                        CachedMember{member_id, "", "", std::nullopt, http::DumpJson(detail)}));
                } else if (type == "member.merged") {
                    // The hub moved everything of from_member_id to member_id and revoked the
                    // merged-away member's cards: offline, a sale naming the merged-away id goes
                    // to the survivor, and its cards are refused as the hub refuses them.
                    const std::string from = Text(data, "from_member_id");
                    if (member_id.empty() || from.empty() || from == member_id) continue;
                    KZ_RETURN_IF_ERROR(txn.MergeMember(from, member_id));
                    for (const Json& card : data.value("revoked_card_numbers", Json::array())) {
                        if (!card.is_string()) continue;
                        KZ_RETURN_IF_ERROR(
                            txn.PutCard(CachedCard{card.get<std::string>(), member_id, 0, true}));
                    }
                    if (auto balance = Integer(data, "balance")) {
                        KZ_RETURN_IF_ERROR(txn.SetBalance(member_id, *balance));
                    }
                } else if (type == "rule.changed") {
                    const Json rule = data.contains("rule") ? data["rule"] : data;
                    KZ_ASSIGN_OR_RETURN(auto rules_text, txn.GetMeta("rules"));
                    Json rules =
                        rules_text ? Json::parse(*rules_text, nullptr, false) : Json::array();
                    if (!rules.is_array()) rules = Json::array();
                    rules.push_back(rule);
                    KZ_RETURN_IF_ERROR(txn.SetMeta("rules", http::DumpJson(rules)));
                }
            }
            return txn.SetMeta("cursor", std::to_string(next));
        }));
        if (!answer.value("more", false) || next == cursor) return core::Status::Ok();
    }
}

core::Status Node::RefillLeases() {
    for (const char* kind : {"member_id", "card_number"}) {
        int64_t have = 0;
        KZ_RETURN_IF_ERROR(store_.Read([&](NodeTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(have, txn.CountLeases(kind));
            return core::Status::Ok();
        }));
        if (have * 2 > options_.lease_stock) continue;
        Json request = {{"kind", kind}, {"count", options_.lease_stock - have}};
        const std::string payload = http::DumpJson(request);
        HubReply reply = hub_.Call("POST", "/v1/sync/leases", &payload);
        NoteReply(reply);
        if (reply.Down()) {
            return core::MakeError(ErrorCode::kUnavailable, "leases: the hub cannot be reached");
        }
        Json answer = ParseObject(reply.body);
        if (reply.status != 201 || answer.is_null()) {
            return core::MakeError(
                ErrorCode::kUnavailable,
                "leases: the hub refused: HTTP " + std::to_string(reply.status) + " " + reply.body);
        }
        std::vector<std::string> values;
        for (const Json& value : answer.value("values", Json::array())) {
            if (value.is_string()) values.push_back(value.get<std::string>());
        }
        KZ_RETURN_IF_ERROR(store_.Write([&](NodeTxn& txn) { return txn.AddLeases(kind, values); }));
    }
    return core::Status::Ok();
}

NodeStatus Node::Status() {
    NodeStatus status;
    status.hub_reachable = hub_reachable_.load();
    (void)store_.Read([&](NodeTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(status.outbox_pending, txn.CountOutbox());
        KZ_ASSIGN_OR_RETURN(auto cursor, txn.GetMeta("cursor"));
        status.cursor = cursor ? std::stoll(*cursor) : 0;
        KZ_ASSIGN_OR_RETURN(status.last_sync_at, txn.GetMeta("last_sync_at"));
        KZ_ASSIGN_OR_RETURN(status.flagged, txn.CountSyncResults("flagged"));
        KZ_ASSIGN_OR_RETURN(status.rejected, txn.CountSyncResults("rejected"));
        return core::Status::Ok();
    });
    return status;
}

// ---- the store endpoints -------------------------------------------------------------------

namespace {

// What the node knows to answer offline: the store, its program, the rule versions, the offers
// (with their points multipliers), the program's tiers and the store's till settings.
struct StoreFacts {
    std::string store_id;
    std::string program_id;
    std::string currency;
    std::vector<core::EarningRule> rules;
    std::vector<core::Offer> offers;
    core::TierSchedule tiers;
    core::TillSettings settings;
};

// An offer as the bootstrap (the API's offer) or an offer.changed event gives it; none when it
// is not understood.
std::optional<core::Offer> ReadOffer(const std::string& text) {
    JsonReader reader = JsonReader::ParseBody(text);
    core::Offer offer;
    offer.offer_id = reader.RequiredString("offer_id");
    offer.store_id = reader.RequiredString("store_id");
    offer.categories = reader.OptionalStringArray("categories");
    offer.valid_from = reader.RequiredTime("valid_from");
    offer.valid_to = reader.RequiredTime("valid_to");
    offer.points_multiplier_milli =
        reader.Has("points_multiplier_milli")
            ? reader.RequiredInt("points_multiplier_milli")
            : reader.OptionalMilli("points_multiplier").value_or(core::kMultiplierOne);
    offer.withdrawn_at = reader.OptionalTime("withdrawn_at");
    if (!reader.ok()) return std::nullopt;
    return offer;
}

// The till the hub last gave (GET /v1/sync/till), or an empty object.
core::Result<Json> ReadTill(NodeTxn& txn) {
    KZ_ASSIGN_OR_RETURN(auto text, txn.GetMeta("till"));
    Json till = text ? ParseObject(*text) : Json();
    return till.is_null() ? Json::object() : till;
}

core::Result<StoreFacts> ReadFacts(NodeTxn& txn) {
    StoreFacts facts;
    KZ_ASSIGN_OR_RETURN(auto store_text, txn.GetMeta("store"));
    if (!store_text) {
        return core::MakeError(ErrorCode::kUnavailable,
                               "the node has not met its hub yet (no bootstrap)");
    }
    Json store = ParseObject(*store_text);
    facts.store_id = Text(store, "store_id");
    facts.program_id = Text(store, "program_id");
    facts.currency = Text(store, "currency");
    KZ_ASSIGN_OR_RETURN(auto rules_text, txn.GetMeta("rules"));
    Json rules = rules_text ? Json::parse(*rules_text, nullptr, false) : Json::array();
    if (rules.is_array()) {
        for (const Json& rule_json : rules) {
            const std::string text = http::DumpJson(rule_json);
            JsonReader reader = JsonReader::ParseBody(text);
            core::EarningRule rule = http::ReadEarningRule(reader, facts.store_id);
            rule.version = static_cast<int>(reader.OptionalInt("version").value_or(1));
            rule.effective_from = reader.OptionalTime("effective_from").value_or(core::Timestamp{});
            if (reader.ok()) facts.rules.push_back(std::move(rule));
        }
    }
    if (facts.rules.empty()) {
        facts.rules.push_back(core::DefaultEarningRule(facts.store_id, core::Timestamp{}));
    }
    KZ_ASSIGN_OR_RETURN(auto offers, txn.Offers());
    for (const std::string& text : offers) {
        if (auto offer = ReadOffer(text)) facts.offers.push_back(std::move(*offer));
    }
    KZ_ASSIGN_OR_RETURN(Json till, ReadTill(txn));
    const std::string till_text = http::DumpJson(till);
    JsonReader reader = JsonReader::ParseBody(till_text);
    if (auto limits = reader.Object("limits", false)) {
        core::TillSettings& t = facts.settings;
        t.max_sale_total = limits->OptionalInt("max_sale_total").value_or(t.max_sale_total);
        t.max_points_per_sale =
            limits->OptionalInt("max_points_per_sale").value_or(t.max_points_per_sale);
        t.manager_refund_above =
            limits->OptionalInt("manager_refund_above").value_or(t.manager_refund_above);
    }
    if (auto tiers = reader.Object("tiers", false)) {
        auto basis =
            core::ParseTierBasis(tiers->OptionalString("basis").value_or("spend"), "basis");
        if (basis) facts.tiers.basis = *basis;
        for (JsonReader& tier : tiers->ObjectArray("tiers", false)) {
            core::Tier t;
            t.name = tier.RequiredString("name");
            t.threshold = tier.OptionalInt("threshold").value_or(0);
            t.multiplier_milli = tier.OptionalMilli("multiplier").value_or(core::kMultiplierOne);
            facts.tiers.tiers.push_back(std::move(t));
        }
    }
    if (!reader.ok()) facts.tiers.tiers.clear();  // not understood: earn at 1x, the hub books
    return facts;
}

// The multiplier the member earns at offline (issue 19): that of the tier the node last heard the
// member holds (an online GET /v1/members/{id}, or a member.tier_changed pull event), by the
// program's current tiers; the first tier's (every member's least) when it heard of none or the
// tier is gone; 1x when the program has no tiers.
int64_t TierMultiplier(const StoreFacts& facts, const std::optional<CachedMember>& member) {
    if (facts.tiers.tiers.empty()) return core::kMultiplierOne;
    if (member && !member->detail.empty()) {
        const Json detail = ParseObject(member->detail);
        const std::string name =
            detail.is_null() ? std::string() : Text(detail.value("tier", Json::object()), "name");
        for (const core::Tier& tier : facts.tiers.tiers) {
            if (!name.empty() && tier.name == name) return tier.multiplier_milli;
        }
    }
    return facts.tiers.tiers.front().multiplier_milli;
}

// The member a card or member id names, offline. A card presented with its signed record
// ("card_record", the chip's or QR's "KZ1.…") must verify against the hub's card key and name
// that card; a card on the last revocation list pulled is refused; an unknown card without a
// record gives an empty member id (the hub resolves it when the event is pushed). A member
// merged away at the hub (a member.merged pull) is answered with the member it merged into.
core::Result<std::string> ResolveMember(NodeTxn& txn, const std::string& card_number,
                                        const std::string& member_id,
                                        const std::string& card_record) {
    if (card_number.empty()) return txn.CurrentMemberId(member_id);
    KZ_ASSIGN_OR_RETURN(auto card, txn.FindCard(card_number));
    if (card && card->revoked) {
        return core::MakeError(ErrorCode::kCardRevoked,
                               "card " + card_number +
                                   " was revoked (reissued, or its member merged into another); "
                                   "use the member's current card",
                               "card_number");
    }
    if (!card_record.empty()) {
        KZ_ASSIGN_OR_RETURN(auto key_text, txn.GetMeta("card_public_key"));
        auto key = core::Base64UrlDecode(key_text.value_or(""));
        if (!key) return core::MakeError(ErrorCode::kUnavailable, "the node has no card key");
        KZ_ASSIGN_OR_RETURN(card::CardVerifier verifier, card::CardVerifier::Create(*key));
        KZ_ASSIGN_OR_RETURN(core::CardRecord record, verifier.VerifyText(card_record));
        if (record.card_number != card_number) {
            return core::MakeError(ErrorCode::kUnauthenticated,
                                   "card_record is the record of another card", "card_record");
        }
        if (record.generation < (card ? card->generation : 0)) {
            return core::MakeError(ErrorCode::kCardRevoked, "card " + card_number + " was reissued",
                                   "card_number");
        }
        return txn.CurrentMemberId(record.member_id);
    }
    return txn.CurrentMemberId(card ? card->member_id : std::string());
}

// An offline event names the member as the request did, unless that member id was merged away
// at the hub: then the member it merged into, so the hub books it there and not on the closed
// record.
void NameMergedMember(Json& event_body, const hub::MemberRef& ref, const std::string& member_id) {
    if (!ref.member_id.empty() && !member_id.empty() && member_id != ref.member_id) {
        event_body["member_id"] = member_id;
    }
}

// Records on an outbox event's body the till it was done for (see kTillKey).
void MarkTill(Json& body, const std::string& terminal_id, const std::string& staff_id) {
    if (terminal_id.empty() && staff_id.empty()) return;
    body[kTillKey] = {{"terminal_id", terminal_id}, {"staff_id", staff_id}};
}

// The id of the terminal of `till` whose key is `token`, if it is not revoked; "" if none.
std::string TerminalIdOf(const Json& till, const std::string& token) {
    const std::string digest = crypto::Digest(token);
    for (const Json& t : till.value("terminals", Json::array())) {
        if (Text(t, "key_hash") == digest && !t.value("revoked_at", Json()).is_string()) {
            return Text(t, "terminal_id");
        }
    }
    return {};
}

core::Error WrongStaff(std::string_view why) {
    return core::MakeError(ErrorCode::kUnauthenticated, std::string(why));
}

constexpr auto kPinMemory = std::chrono::minutes(10);
constexpr std::size_t kMaxRememberedPins = 1024;

}  // namespace

std::optional<std::string> Node::TerminalOf(const std::string& token) {
    if (token.empty()) return std::nullopt;
    std::string found;
    (void)store_.Read([&](NodeTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(Json till, ReadTill(txn));
        found = TerminalIdOf(till, token);
        return core::Status::Ok();
    });
    if (found.empty()) return std::nullopt;
    return found;
}

bool Node::PinMatches(const std::string& staff_id, const std::string& pin_hash,
                      const std::string& pin) {
    // As at the hub: the entry names the hash, so a changed PIN never matches an old entry.
    const std::string remembered = crypto::Digest(staff_id + '\n' + pin_hash + '\n' + pin);
    const core::Timestamp now = clock_.Now();
    {
        std::lock_guard lock(pins_mutex_);
        auto it = verified_pins_.find(remembered);
        if (it != verified_pins_.end() && it->second > now) return true;
    }
    if (!crypto::VerifyPassword(pin_hash, pin)) return false;
    std::lock_guard lock(pins_mutex_);
    if (verified_pins_.size() >= kMaxRememberedPins) verified_pins_.clear();
    verified_pins_.insert_or_assign(remembered, now + kPinMemory);
    return true;
}

core::Result<Node::TillIdentity> Node::Identify(const TillCall& call) {
    TillIdentity who;
    who.manager_rights = true;  // the store's own key, nobody identified
    if (call.token.empty() && call.staff.empty()) return who;
    Json till;
    KZ_RETURN_IF_ERROR(store_.Read([&](NodeTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(till, ReadTill(txn));
        return core::Status::Ok();
    }));
    if (!call.token.empty()) {
        who.terminal_id = TerminalIdOf(till, call.token);
        if (who.terminal_id.empty()) {
            return WrongStaff(
                "unknown or revoked terminal key (the node knows the store's "
                "terminals as of its last sync)");
        }
    }
    if (!call.staff.empty()) {
        const auto colon = call.staff.find(':');
        const std::string staff_id = core::Trim(std::string_view(call.staff).substr(0, colon));
        const std::string pin = colon == std::string::npos
                                    ? std::string()
                                    : core::Trim(std::string_view(call.staff).substr(colon + 1));
        if (staff_id.empty() || pin.empty() || staff_id.size() > 64 || pin.size() > 64) {
            return WrongStaff("the Kizuna-Staff header must be \"STAFF_ID:PIN\"");
        }
        std::optional<Json> staff;
        for (const Json& s : till.value("staff", Json::array())) {
            if (Text(s, "staff_id") == staff_id && !s.value("removed_at", Json()).is_string()) {
                staff = s;
            }
        }
        if (!staff || !PinMatches(staff_id, Text(*staff, "pin_hash"), pin)) {
            return WrongStaff(
                "wrong staff id or PIN (Kizuna-Staff) for this store (offline, the "
                "node knows the store's staff as of its last sync)");
        }
        who.staff_id = staff_id;
        who.manager = Text(*staff, "role") == "manager";
    }
    who.manager_rights = who.manager || (who.terminal_id.empty() && who.staff_id.empty());
    return who;
}

NodeAnswer Node::Offline(const char* kind, const std::string& id, const Plan& plan) {
    std::promise<NodeAnswer> answer;
    std::future<NodeAnswer> answered = answer.get_future();
    // `plan` outlives its runs: this thread waits below until the write is answered.
    OfflineAsync(
        kind, id, [&plan](NodeTxn& txn, NodeAnswer& result) { return plan(txn, result); },
        [&answer](NodeAnswer result) { answer.set_value(std::move(result)); });
    return answered.get();
}

void Node::OfflineAsync(const char* kind, std::string id, Plan plan, Reply reply) {
    auto result = std::make_shared<NodeAnswer>();
    store_.WriteAsync(
        [kind, id = std::move(id), plan = std::move(plan), result](NodeTxn& txn) -> core::Status {
            if (!id.empty()) {
                KZ_ASSIGN_OR_RETURN(auto replay, txn.FindOfflineAnswer(kind, id));
                if (replay) {
                    *result = {200, *replay};
                    return core::Status::Ok();
                }
            }
            KZ_RETURN_IF_ERROR(plan(txn, *result));
            if (result->status != 202 || id.empty()) return core::Status::Ok();
            Json replayed = ParseObject(result->body);
            replayed["replayed"] = true;
            return txn.PutOfflineAnswer(kind, id, http::DumpJson(replayed));
        },
        [this, result, reply = std::move(reply)](core::Status written) {
            if (!written.ok()) return reply(Failed(written));
            if (result->status == 202) ++outbox_pending_;
            reply(std::move(*result));
        });
}

NodeAnswer Node::Purchase(const std::string& body_text, const TillCall& till) {
    if (auto forwarded = TryForward("POST", "/v1/purchases", body_text, true, till)) {
        Json answer = ParseObject(forwarded->body);
        if (forwarded->status < 300 && !answer.is_null()) {
            JsonReader body = JsonReader::ParseBody(body_text);
            const std::string card = body.OptionalString("card_number").value_or("");
            const std::string member_id = Text(answer, "member_id");
            // What the hub's answer teaches is a cache: written behind the answer, not waited for
            // (the writer runs it before any later write, so an offline sale sees it).
            store_.WriteBehind([answer, card, member_id](NodeTxn& txn) -> core::Status {
                if (auto balance = Integer(answer, "balance"); balance && !member_id.empty()) {
                    KZ_RETURN_IF_ERROR(txn.SetBalance(member_id, *balance));
                }
                if (!card.empty() && !member_id.empty()) {
                    KZ_RETURN_IF_ERROR(txn.PutCard(CachedCard{card, member_id, 0, false}));
                }
                return txn.PutPurchase({Text(answer, "purchase_id"), member_id,
                                        Integer(answer, "total").value_or(0),
                                        Integer(answer, "points_earned").value_or(0), 0});
            });
        }
        return *forwarded;
    }
    std::promise<NodeAnswer> answer;
    std::future<NodeAnswer> answered = answer.get_future();
    PurchaseOffline(body_text, till,
                    [&answer](NodeAnswer result) { answer.set_value(std::move(result)); });
    return answered.get();
}

void Node::PurchaseOffline(const std::string& body_text, const TillCall& till, Reply reply) {
    // Offline: read the request as the hub would, compute the points by the rule in effect.
    JsonReader body = JsonReader::ParseBody(body_text);
    const std::string purchase_id = body.RequiredString("purchase_id");
    hub::MemberRef ref;
    if (body.ok()) ref = http::ReadMemberRef(body);
    const std::string card_record = body.OptionalString("card_record").value_or("");
    std::optional<core::Timestamp> occurred = body.OptionalTime("occurred_at");
    std::vector<core::PurchaseLine> lines = http::ReadPurchaseLines(body, "lines");
    if (!body.ok()) return reply(ErrorAnswer(body.error()));
    if (auto valid = core::ValidateClientId(purchase_id, "purchase_id"); !valid.ok()) {
        return reply(Failed(valid));
    }
    if (auto valid = core::ValidateLines(lines); !valid.ok()) return reply(Failed(valid));
    const core::Timestamp occurred_at = occurred.value_or(clock_.Now());
    auto who = Identify(till);
    if (!who) return reply(ErrorAnswer(who.error()));

    // Copies of what the plan reads: it runs on the store's writer thread, after this returns.
    Plan plan = [=, this](NodeTxn& txn, NodeAnswer& result) -> core::Status {
        KZ_ASSIGN_OR_RETURN(StoreFacts facts, ReadFacts(txn));
        KZ_ASSIGN_OR_RETURN(std::string member_id,
                            ResolveMember(txn, ref.card_number, ref.member_id, card_record));
        std::optional<CachedMember> member;
        if (!member_id.empty()) {
            KZ_ASSIGN_OR_RETURN(member, txn.FindMember(member_id));
        }
        // As the hub does: the rule in effect, with the store's offers' multipliers, then the
        // member's tier (core's functions, the same inputs as far as the node knows them).
        const core::EarningRule* rule = core::RuleInEffect(facts.rules, occurred_at);
        KZ_ASSIGN_OR_RETURN(
            int64_t points,
            core::ComputePoints(core::WithOfferMultipliers(*rule, facts.offers, occurred_at), lines,
                                occurred_at));
        if (const int64_t tier = TierMultiplier(facts, member); tier != core::kMultiplierOne) {
            KZ_ASSIGN_OR_RETURN(points, core::ApplyTierMultiplier(points, tier));
        }
        const int64_t total = core::TotalOf(lines);
        if (auto limits = core::CheckSaleLimits(facts.settings, total, points, 0, who->manager);
            !limits.ok()) {
            result = Failed(limits);
            return core::Status::Ok();
        }
        std::optional<int64_t> balance;
        if (member && member->balance) {
            balance = *member->balance + points;
            KZ_RETURN_IF_ERROR(txn.SetBalance(member_id, *balance));
        }
        Json event_body = ParseObject(body_text);
        event_body["occurred_at"] = core::FormatRfc3339(occurred_at);
        NameMergedMember(event_body, ref, member_id);
        MarkTill(event_body, who->terminal_id, who->staff_id);
        KZ_RETURN_IF_ERROR(
            txn.AppendOutbox({0, NewEventId(), "purchase.created",
                              core::FormatRfc3339(clock_.Now()), http::DumpJson(event_body)}));
        KZ_RETURN_IF_ERROR(txn.PutPurchase({purchase_id, member_id, total, points, 0}));
        Json answer = Json::object();
        answer["purchase_id"] = purchase_id;
        answer["member_id"] = member_id.empty() ? Json() : Json(member_id);
        answer["program_id"] = facts.program_id;
        answer["total"] = total;
        answer["points_earned"] = points;
        answer["balance"] = balance ? Json(*balance) : Json();
        answer["replayed"] = false;
        answer["pending"] = true;
        result = JsonAnswer(202, answer);
        return core::Status::Ok();
    };
    OfflineAsync("purchase", purchase_id, std::move(plan), std::move(reply));
}

NodeAnswer Node::Redeem(const std::string& body_text, const TillCall& till) {
    if (auto forwarded = TryForward("POST", "/v1/redemptions", body_text, true, till)) {
        Json answer = ParseObject(forwarded->body);
        if (forwarded->status < 300 && !answer.is_null()) {
            const std::string member_id = Text(answer, "member_id");
            if (auto balance = Integer(answer, "balance"); balance && !member_id.empty()) {
                (void)store_.Write(
                    [&](NodeTxn& txn) { return txn.SetBalance(member_id, *balance); });
            }
        }
        return *forwarded;
    }
    JsonReader body = JsonReader::ParseBody(body_text);
    const std::string redemption_id = body.RequiredString("redemption_id");
    hub::MemberRef ref;
    if (body.ok()) ref = http::ReadMemberRef(body);
    const int64_t points = body.RequiredInt("points");
    const std::string card_record = body.OptionalString("card_record").value_or("");
    if (!body.ok()) return ErrorAnswer(body.error());
    if (auto valid = core::ValidateClientId(redemption_id, "redemption_id"); !valid.ok()) {
        return Failed(valid);
    }
    if (points <= 0) {
        return ErrorAnswer(core::InvalidField("points", "must be a positive number of points"));
    }
    if (options_.offline_redemption_cap <= 0) {
        return HubDown("this node does not redeem points offline");
    }
    const std::string day = DayOf(clock_.Now());
    auto who = Identify(till);
    if (!who) return ErrorAnswer(who.error());
    return Offline(
        "redemption", redemption_id, [&](NodeTxn& txn, NodeAnswer& result) -> core::Status {
            KZ_ASSIGN_OR_RETURN(StoreFacts facts, ReadFacts(txn));
            KZ_ASSIGN_OR_RETURN(std::string member_id,
                                ResolveMember(txn, ref.card_number, ref.member_id, card_record));
            std::optional<CachedMember> member;
            if (!member_id.empty()) {
                KZ_ASSIGN_OR_RETURN(member, txn.FindMember(member_id));
            }
            if (!member || !member->balance) {
                result = HubDown("this node does not know the member's balance");
                return core::Status::Ok();
            }
            KZ_ASSIGN_OR_RETURN(int64_t today, txn.RedeemedOffline(member_id, day));
            if (today + points > options_.offline_redemption_cap) {
                result = ErrorAnswer(422, "offline_limit",
                                     fmt::format("offline, a member may redeem at most {} points a "
                                                 "day here ({} already today)",
                                                 options_.offline_redemption_cap, today),
                                     "points");
                return core::Status::Ok();
            }
            if (points > *member->balance) {
                result = ErrorAnswer(core::MakeError(
                    ErrorCode::kInsufficientPoints,
                    fmt::format("the balance is {} points", *member->balance), "points"));
                return core::Status::Ok();
            }
            const int64_t balance = *member->balance - points;
            KZ_RETURN_IF_ERROR(txn.SetBalance(member_id, balance));
            KZ_RETURN_IF_ERROR(txn.AddRedeemedOffline(member_id, day, points));
            Json event_body = ParseObject(body_text);
            NameMergedMember(event_body, ref, member_id);
            MarkTill(event_body, who->terminal_id, who->staff_id);
            KZ_RETURN_IF_ERROR(
                txn.AppendOutbox({0, NewEventId(), "points.redeemed",
                                  core::FormatRfc3339(clock_.Now()), http::DumpJson(event_body)}));
            Json answer = Json::object();
            answer["redemption_id"] = redemption_id;
            answer["member_id"] = member_id;
            answer["program_id"] = facts.program_id;
            answer["points"] = points;
            answer["balance"] = balance;
            answer["replayed"] = false;
            answer["pending"] = true;
            result = JsonAnswer(202, answer);
            return core::Status::Ok();
        });
}

NodeAnswer Node::Refund(const std::string& purchase_id, const std::string& body_text,
                        const TillCall& till) {
    const std::string path = "/v1/purchases/" + HubClient::Escape(purchase_id) + "/refunds";
    if (auto forwarded = TryForward("POST", path, body_text, true, till)) return *forwarded;
    JsonReader body = JsonReader::ParseBody(body_text);
    const std::string refund_id = body.RequiredString("refund_id");
    std::optional<int64_t> amount = body.OptionalInt("amount");
    if (!body.ok()) return ErrorAnswer(body.error());
    if (!amount) return HubDown("a refund by lines needs the hub's prices; refund an amount");
    auto who = Identify(till);
    if (!who) return ErrorAnswer(who.error());
    return Offline("refund", refund_id, [&](NodeTxn& txn, NodeAnswer& result) -> core::Status {
        KZ_ASSIGN_OR_RETURN(StoreFacts facts, ReadFacts(txn));
        if (!who->manager_rights && *amount > facts.settings.manager_refund_above) {
            result = ErrorAnswer(core::MakeError(
                ErrorCode::kForbidden,
                fmt::format("a refund of more than {} needs a manager; send the manager's id and "
                            "PIN as Kizuna-Staff: STAFF_ID:PIN",
                            facts.settings.manager_refund_above)));
            return core::Status::Ok();
        }
        KZ_ASSIGN_OR_RETURN(auto purchase, txn.FindPurchase(purchase_id));
        if (!purchase) {
            result = HubDown("this node did not record purchase " + purchase_id);
            return core::Status::Ok();
        }
        if (*amount <= 0 || purchase->refunded + *amount > purchase->total) {
            result = ErrorAnswer(
                core::MakeError(ErrorCode::kRuleViolation,
                                fmt::format("at most {} of purchase {} is left to refund",
                                            purchase->total - purchase->refunded, purchase_id),
                                "amount"));
            return core::Status::Ok();
        }
        // The core refund policy: floor(P * R / T) owed in all after refunds totalling R.
        auto owed = [&](int64_t refunded) {
            return purchase->total == 0 ? 0 : purchase->points * refunded / purchase->total;
        };
        const int64_t reversed = owed(purchase->refunded + *amount) - owed(purchase->refunded);
        std::optional<int64_t> balance;
        if (!purchase->member_id.empty()) {
            KZ_ASSIGN_OR_RETURN(auto member, txn.FindMember(purchase->member_id));
            if (member && member->balance) {
                balance = std::max<int64_t>(0, *member->balance - reversed);
                KZ_RETURN_IF_ERROR(txn.SetBalance(purchase->member_id, *balance));
            }
        }
        KZ_RETURN_IF_ERROR(txn.AddRefunded(purchase_id, *amount));
        Json event_body = ParseObject(body_text);
        event_body["purchase_id"] = purchase_id;
        MarkTill(event_body, who->terminal_id, who->staff_id);
        KZ_RETURN_IF_ERROR(
            txn.AppendOutbox({0, NewEventId(), "purchase.refunded",
                              core::FormatRfc3339(clock_.Now()), http::DumpJson(event_body)}));
        Json answer = Json::object();
        answer["refund_id"] = refund_id;
        answer["purchase_id"] = purchase_id;
        answer["amount"] = *amount;
        answer["points_reversed"] = reversed;
        answer["balance"] = balance ? Json(*balance) : Json();
        answer["replayed"] = false;
        answer["pending"] = true;
        result = JsonAnswer(202, answer);
        return core::Status::Ok();
    });
}

NodeAnswer Node::Enroll(const std::string& body_text, const TillCall& till) {
    if (auto forwarded = TryForward("POST", "/v1/members", body_text, true, till)) {
        Json answer = ParseObject(forwarded->body);
        if (forwarded->status == 201 && !answer.is_null()) {
            JsonReader body = JsonReader::ParseBody(body_text);
            CachedMember member;
            member.member_id = Text(answer, "member_id");
            if (auto profile = body.Object("profile", false)) {
                member.email = Lower(profile->OptionalString("email").value_or(""));
                member.phone = profile->OptionalString("phone").value_or("");
            }
            member.balance = 0;
            const Json card = answer.value("card", Json::object());
            (void)store_.Write([&](NodeTxn& txn) -> core::Status {
                KZ_RETURN_IF_ERROR(txn.PutMember(member));
                return txn.PutCard(
                    CachedCard{Text(card, "card_number"), member.member_id,
                               static_cast<int>(Integer(card, "generation").value_or(1)), false});
            });
        }
        return *forwarded;
    }
    // Offline: check the request as the hub does, then ids from the leased blocks.
    JsonReader body = JsonReader::ParseBody(body_text);
    const std::string password = body.RequiredString("password");
    core::Profile profile;
    if (auto p = body.Object("profile", true)) {
        profile.name = p->RequiredString("name");
        profile.name_kana = p->OptionalString("name_kana").value_or("");
        profile.postal_code = p->OptionalString("postal_code").value_or("");
        profile.address = p->OptionalString("address").value_or("");
        profile.phone = p->OptionalString("phone").value_or("");
        profile.birth_date = p->OptionalString("birth_date").value_or("");
        profile.occupation = p->OptionalString("occupation").value_or("");
        profile.email = p->OptionalString("email").value_or("");
    }
    const core::CardMedium medium =
        http::ReadCardMedium(body, "medium", core::CardMedium::kVirtual);
    if (!body.ok()) return ErrorAnswer(body.error());
    auto valid = core::ValidateProfile(profile, clock_.Now());
    if (!valid) return ErrorAnswer(valid.error());
    profile = *valid;
    if (auto strong = core::ValidatePassword(password, profile); !strong.ok())
        return Failed(strong);
    auto who = Identify(till);
    if (!who) return ErrorAnswer(who.error());

    return Offline("", "", [&](NodeTxn& txn, NodeAnswer& result) -> core::Status {
        KZ_ASSIGN_OR_RETURN(StoreFacts facts, ReadFacts(txn));
        KZ_ASSIGN_OR_RETURN(auto existing, txn.FindMemberByContact(profile.email, profile.phone));
        if (existing) {
            result = ErrorAnswer(
                core::MakeError(ErrorCode::kAlreadyExists,
                                "this email or phone is already registered (member " +
                                    existing->member_id + "); look the member up instead",
                                profile.email.empty() ? "profile.phone" : "profile.email"));
            return core::Status::Ok();
        }
        KZ_ASSIGN_OR_RETURN(int64_t member_ids, txn.CountLeases("member_id"));
        KZ_ASSIGN_OR_RETURN(int64_t card_numbers, txn.CountLeases("card_number"));
        if (member_ids == 0 || card_numbers == 0) {
            result = HubDown("the node has no leased ids left (it refills them while online)");
            return core::Status::Ok();
        }
        KZ_ASSIGN_OR_RETURN(std::string member_id, txn.TakeLease("member_id"));
        KZ_ASSIGN_OR_RETURN(std::string card_number, txn.TakeLease("card_number"));
        Json event_body = ParseObject(body_text);
        event_body["member_id"] = member_id;
        event_body["card_number"] = card_number;
        MarkTill(event_body, who->terminal_id, who->staff_id);
        KZ_RETURN_IF_ERROR(
            txn.AppendOutbox({0, NewEventId(), "member.enrolled", core::FormatRfc3339(clock_.Now()),
                              http::DumpJson(event_body)}));
        KZ_RETURN_IF_ERROR(
            txn.PutMember(CachedMember{member_id, profile.email, profile.phone, 0, ""}));
        KZ_RETURN_IF_ERROR(txn.PutCard(CachedCard{card_number, member_id, 1, false}));
        Json card = Json::object();
        card["card_number"] = card_number;
        card["member_id"] = member_id;
        card["generation"] = 1;
        card["status"] = "active";
        card["medium"] = core::CardMediumName(medium);
        card["issued_at"] = core::FormatRfc3339(clock_.Now());
        card["issued_by_store"] = facts.store_id;
        card["record"] = Json();  // signed by the hub once the enrollment reaches it
        Json answer = Json::object();
        answer["member_id"] = member_id;
        answer["card"] = std::move(card);
        answer["pending"] = true;
        result = JsonAnswer(202, answer);
        return core::Status::Ok();
    });
}

NodeAnswer Node::SearchMembers(const std::string& body_text, const TillCall& till) {
    if (auto forwarded = TryForward("POST", "/v1/members/search", body_text, false, till)) {
        return *forwarded;
    }
    JsonReader body = JsonReader::ParseBody(body_text);
    const std::string email = Lower(body.OptionalString("email").value_or(""));
    const std::string phone = body.OptionalString("phone").value_or("");
    if (body.ok() && email.empty() && phone.empty()) {
        body.Fail("email", "email or phone is required");
    }
    if (!body.ok()) return ErrorAnswer(body.error());
    Json members = Json::array();
    core::Status read = store_.Read([&](NodeTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto found, txn.FindMemberByContact(email, phone));
        if (found) members.push_back({{"member_id", found->member_id}});
        return core::Status::Ok();
    });
    if (!read.ok()) return Failed(read);
    Json answer = Json::object();
    answer["members"] = std::move(members);
    answer["cached"] = true;
    return JsonAnswer(200, answer);
}

NodeAnswer Node::ReissueCard(const std::string& member_id, const std::string& body_text,
                             const TillCall& till) {
    const std::string path = "/v1/members/" + HubClient::Escape(member_id) + "/cards";
    if (auto forwarded = TryForward("POST", path, body_text, true, till)) {
        Json answer = ParseObject(forwarded->body);
        if (forwarded->status == 201 && !answer.is_null()) {
            const Json card = answer.value("card", Json::object());
            const int generation = static_cast<int>(Integer(card, "generation").value_or(1));
            (void)store_.Write([&](NodeTxn& txn) -> core::Status {
                KZ_RETURN_IF_ERROR(txn.PutCard(
                    CachedCard{Text(card, "card_number"), member_id, generation, false}));
                return txn.RevokeCardsBefore(member_id, generation);
            });
        }
        return *forwarded;
    }
    // A reissue revokes the old card at every store at once; a node cut off from the hub cannot
    // tell the others, so the old card would stay good there (and the member's password is
    // checked by the hub).
    return ErrorAnswer(503, kHubUnreachable,
                       "a card cannot be reissued while the hub is down: a reissue must revoke the "
                       "old card at every store at once, which this store node cannot do offline; "
                       "try again when the hub is back");
}

NodeAnswer Node::GetMember(const std::string& member_id, const TillCall& till) {
    HubReply reply = CallHub("GET", "/v1/members/" + HubClient::Escape(member_id), nullptr, till);
    NoteReply(reply);
    if (!reply.Down()) {
        if (reply.status == 200) {
            (void)store_.Write([&](NodeTxn& txn) {
                return txn.PutMember(CachedMember{member_id, "", "", std::nullopt, reply.body});
            });
        }
        return {static_cast<int>(reply.status), reply.body};
    }
    std::optional<CachedMember> member;
    core::Status read = store_.Read([&](NodeTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(member, txn.FindMember(member_id));
        return core::Status::Ok();
    });
    if (!read.ok()) return Failed(read);
    if (!member) return HubDown("this node has not seen member " + member_id);
    Json answer = member->detail.empty() ? Json::object() : ParseObject(member->detail);
    if (answer.is_null()) answer = Json::object();
    answer["member_id"] = member_id;
    if (member->balance) answer["balance"] = *member->balance;
    answer["cached"] = true;
    return JsonAnswer(200, answer);
}

NodeAnswer Node::CreateReservation(const std::string& body_text, const TillCall& till) {
    if (auto forwarded = TryForward("POST", "/v1/reservations", body_text, true, till)) {
        Json answer = ParseObject(forwarded->body);
        if (forwarded->status < 300 && !answer.is_null()) {
            (void)store_.Write([&](NodeTxn& txn) {
                return txn.PutReservation(Text(answer, "reservation_id"), Text(answer, "member_id"),
                                          forwarded->body);
            });
        }
        return *forwarded;
    }
    JsonReader body = JsonReader::ParseBody(body_text);
    core::Reservation r;
    r.reservation_id = body.RequiredString("reservation_id");
    r.member_id = body.OptionalString("member_id").value_or("");
    r.store_id = body.OptionalString("store_id").value_or("");
    if (auto item = body.Object("item", true)) {
        r.item_name = item->RequiredString("name");
        r.item_sku = item->OptionalString("sku").value_or("");
    }
    r.quantity = body.OptionalInt("quantity").value_or(1);
    r.pickup_at = body.RequiredTime("pickup_at");
    if (!body.ok()) return ErrorAnswer(body.error());
    if (r.member_id.empty()) return ErrorAnswer(core::InvalidField("member_id", "is required"));
    if (auto valid = core::ValidateReservation(r); !valid.ok()) return Failed(valid);
    auto who = Identify(till);
    if (!who) return ErrorAnswer(who.error());

    return Offline(
        "reservation", r.reservation_id, [&](NodeTxn& txn, NodeAnswer& result) -> core::Status {
            KZ_ASSIGN_OR_RETURN(StoreFacts facts, ReadFacts(txn));
            const std::string now = core::FormatRfc3339(clock_.Now());
            Json answer = Json::object();
            answer["reservation_id"] = r.reservation_id;
            answer["status"] = "reserved";
            answer["member_id"] = r.member_id;
            answer["store_id"] = r.store_id.empty() ? facts.store_id : r.store_id;
            answer["program_id"] = facts.program_id;
            answer["item"] = {{"name", r.item_name}, {"sku", r.item_sku}};
            answer["quantity"] = r.quantity;
            answer["pickup_at"] = core::FormatRfc3339(r.pickup_at);
            answer["created_by"] = "store:" + facts.store_id;
            answer["created_at"] = now;
            answer["updated_by"] = "store:" + facts.store_id;
            answer["updated_at"] = now;
            KZ_RETURN_IF_ERROR(
                txn.PutReservation(r.reservation_id, r.member_id, http::DumpJson(answer)));
            Json event_body = ParseObject(body_text);
            MarkTill(event_body, who->terminal_id, who->staff_id);
            KZ_RETURN_IF_ERROR(txn.AppendOutbox(
                {0, NewEventId(), "reservation.created", now, http::DumpJson(event_body)}));
            answer["pending"] = true;
            result = JsonAnswer(202, answer);
            return core::Status::Ok();
        });
}

NodeAnswer Node::UpdateReservation(const std::string& reservation_id, const std::string& body_text,
                                   const TillCall& till) {
    const std::string path = "/v1/reservations/" + HubClient::Escape(reservation_id);
    if (auto forwarded = TryForward("PATCH", path, body_text, true, till)) {
        Json answer = ParseObject(forwarded->body);
        if (forwarded->status < 300 && !answer.is_null()) {
            (void)store_.Write([&](NodeTxn& txn) {
                return txn.PutReservation(reservation_id, Text(answer, "member_id"),
                                          forwarded->body);
            });
        }
        return *forwarded;
    }
    JsonReader body = JsonReader::ParseBody(body_text);
    const std::string status_text = body.RequiredString("status");
    if (!body.ok()) return ErrorAnswer(body.error());
    auto to = core::ParseReservationStatus(status_text, "status");
    if (!to) return ErrorAnswer(to.error());
    auto who = Identify(till);
    if (!who) return ErrorAnswer(who.error());
    return Offline("", "", [&](NodeTxn& txn, NodeAnswer& result) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto detail, txn.FindReservation(reservation_id));
        if (!detail) {
            result = HubDown("this node has not seen reservation " + reservation_id);
            return core::Status::Ok();
        }
        Json reservation = ParseObject(*detail);
        auto from = core::ParseReservationStatus(Text(reservation, "status"), "status");
        if (from) {
            if (auto allowed = core::CheckReservationTransition(*from, *to); !allowed.ok()) {
                result = Failed(allowed);
                return core::Status::Ok();
            }
        }
        reservation["status"] = core::ReservationStatusName(*to);
        reservation["updated_at"] = core::FormatRfc3339(clock_.Now());
        reservation.erase("pending");
        reservation.erase("replayed");
        KZ_RETURN_IF_ERROR(txn.PutReservation(reservation_id, Text(reservation, "member_id"),
                                              http::DumpJson(reservation)));
        Json event_body = ParseObject(body_text);
        event_body["reservation_id"] = reservation_id;
        MarkTill(event_body, who->terminal_id, who->staff_id);
        KZ_RETURN_IF_ERROR(
            txn.AppendOutbox({0, NewEventId(), "reservation.updated",
                              core::FormatRfc3339(clock_.Now()), http::DumpJson(event_body)}));
        reservation["pending"] = true;
        result = JsonAnswer(202, reservation);
        return core::Status::Ok();
    });
}

NodeAnswer Node::ListReservations(const std::string& member_id, const std::string& query,
                                  const TillCall& till) {
    HubReply reply = CallHub("GET", "/v1/reservations" + query, nullptr, till);
    NoteReply(reply);
    if (!reply.Down()) {
        Json answer = ParseObject(reply.body);
        if (reply.status == 200 && !answer.is_null()) {
            (void)store_.Write([&](NodeTxn& txn) -> core::Status {
                for (const Json& r : answer.value("reservations", Json::array())) {
                    KZ_RETURN_IF_ERROR(txn.PutReservation(Text(r, "reservation_id"),
                                                          Text(r, "member_id"), http::DumpJson(r)));
                }
                return core::Status::Ok();
            });
        }
        return {static_cast<int>(reply.status), reply.body};
    }
    if (member_id.empty()) return HubDown("only a member's reservations are kept on the node");
    Json list = Json::array();
    core::Status read = store_.Read([&](NodeTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto details, txn.ReservationsOf(member_id));
        for (const std::string& detail : details) list.push_back(ParseObject(detail));
        return core::Status::Ok();
    });
    if (!read.ok()) return Failed(read);
    Json answer = Json::object();
    answer["reservations"] = std::move(list);
    answer["cached"] = true;
    return JsonAnswer(200, answer);
}

NodeAnswer Node::Offers(const TillCall& till) {
    HubReply reply = CallHub("GET", "/v1/offers", nullptr, till);
    NoteReply(reply);
    if (!reply.Down()) return {static_cast<int>(reply.status), reply.body};
    Json list = Json::array();
    const core::Timestamp now = clock_.Now();
    core::Status read = store_.Read([&](NodeTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto offers, txn.Offers());
        for (const std::string& offer : offers) {
            // Only those current now (the node also keeps later and withdrawn ones).
            auto read = ReadOffer(offer);
            if (!read || core::IsCurrent(*read, now)) list.push_back(ParseObject(offer));
        }
        return core::Status::Ok();
    });
    if (!read.ok()) return Failed(read);
    Json answer = Json::object();
    answer["offers"] = std::move(list);
    answer["cached"] = true;
    return JsonAnswer(200, answer);
}

NodeAnswer Node::StoreMe(const TillCall& till) {
    HubReply reply = CallHub("GET", "/v1/stores/me", nullptr, till);
    NoteReply(reply);
    if (!reply.Down()) return {static_cast<int>(reply.status), reply.body};
    std::optional<std::string> store;
    core::Status read = store_.Read([&](NodeTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(store, txn.GetMeta("store"));
        return core::Status::Ok();
    });
    if (!read.ok()) return Failed(read);
    if (!store) return HubDown("the node has not met its hub yet");
    return {200, *store};
}

NodeAnswer Node::PassThrough(const std::string& method, const std::string& target,
                             const std::string* body, const std::string& token,
                             const std::string& staff) {
    HubReply reply = hub_.Call(method, target, body, &token, staff);
    NoteReply(reply);
    if (reply.Down()) return HubDown(method + " " + target + " is answered by the hub only");
    return {static_cast<int>(reply.status), reply.body};
}

}  // namespace kizuna::pos
