#include "http/json_mapping.hpp"

#include <limits>

#include "core/ids.hpp"
#include "http/json_writer.hpp"

namespace kizuna::http {

namespace {

const std::string* NameIn(const std::map<std::string, std::string>* names, const std::string& id) {
    if (names == nullptr || id.empty()) return nullptr;
    auto it = names->find(id);
    return it == names->end() ? nullptr : &it->second;
}
const std::string* StoreName(const RecordContext& c, const std::string& id) {
    return NameIn(c.names ? &c.names->stores : nullptr, id);
}
const std::string* ProgramName(const RecordContext& c, const std::string& id) {
    return NameIn(c.names ? &c.names->programs : nullptr, id);
}

// What became of one purchase: its refunds and what they took, or its void, and the net figures
// after them. A void undoes the sale exactly (core/purchase.hpp): nothing of it is left, neither
// money nor points earned nor points used (they went back to the member).
struct PurchaseNet {
    std::vector<const core::Refund*> refunds;
    int64_t refunded_amount = 0;
    int64_t points_owed = 0;  // reversed + unrecovered + expired: the purchase's points given back
    int64_t net_total = 0;
    int64_t net_points = 0;       // points earned still standing
    int64_t net_points_used = 0;  // points used still spent on it
    std::string_view status;      // "completed", "partly_refunded", "refunded", "voided"
};

PurchaseNet NetOf(const core::Purchase& purchase, const RecordContext& context) {
    PurchaseNet net;
    if (context.refunds != nullptr) {
        for (const storage::PurchaseRefund& r : *context.refunds) {
            if (r.purchase_store_id != purchase.store_id ||
                r.refund.purchase_id != purchase.purchase_id) {
                continue;
            }
            net.refunds.push_back(&r.refund);
            net.refunded_amount += r.refund.amount;
            net.points_owed +=
                r.refund.points_reversed + r.refund.points_unrecovered + r.refund.points_expired;
        }
    }
    if (purchase.voided_at) {
        net.status = "voided";
        return net;
    }
    net.net_total = purchase.total - net.refunded_amount;
    net.net_points = purchase.points_earned - net.points_owed;
    net.net_points_used = purchase.points_used;
    net.status = net.refunded_amount == 0                ? "completed"
                 : net.refunded_amount >= purchase.total ? "refunded"
                                                         : "partly_refunded";
    return net;
}

// One terminal's totals of a day (or the store's, with an empty terminal_id).
Json DayTotalsToJson(const hub::DayTotals& t) {
    Json json = Json::object();
    json["terminal_id"] = t.terminal_id;
    json["sales_count"] = t.sales_count;
    json["sales_total"] = t.sales_total;
    json["points_paid_value"] = t.points_paid_value;
    json["voids_count"] = t.voids_count;
    json["voids_total"] = t.voids_total;
    json["points_issued"] = t.points_issued;
    json["points_redeemed"] = t.points_redeemed;
    json["points_reversed"] = t.points_reversed;
    json["points_voided"] = t.points_voided;
    return json;
}

}  // namespace

Json TimeToJson(core::Timestamp t) { return core::FormatRfc3339(t); }

Json MilliToJson(int64_t milli) {
    if (milli % 1000 == 0) return milli / 1000;
    return static_cast<double>(milli) / 1000.0;
}

Json CardToJson(const core::Card& card) {
    Json json = Json::object();
    json["card_number"] = card.card_number;
    json["member_id"] = card.member_id;
    json["generation"] = card.generation;
    json["status"] = core::CardStatusName(card.status);
    json["medium"] = core::CardMediumName(card.medium);
    json["issued_at"] = TimeToJson(card.issued_at);
    if (!card.issued_by_store.empty()) json["issued_by_store"] = card.issued_by_store;
    if (card.revoked_at) json["revoked_at"] = TimeToJson(*card.revoked_at);
    return json;
}

Json IssuedCardToJson(const hub::IssuedCard& issued) {
    Json json = CardToJson(issued.card);
    json["record"] = issued.record;
    return json;
}

Json ProfileToJson(const core::Profile& profile) {
    Json json = Json::object();
    json["name"] = profile.name;
    json["name_kana"] = profile.name_kana;
    json["postal_code"] = profile.postal_code;
    json["address"] = profile.address;
    json["phone"] = profile.phone;
    json["birth_date"] = profile.birth_date;
    json["occupation"] = profile.occupation;
    json["email"] = profile.email;
    return json;
}

Json ConsentsToJson(const core::Consents& consents) {
    Json json = Json::object();
    json["email_offers"] = consents.email_offers;
    json["postal_offers"] = consents.postal_offers;
    json["share_profile"] = consents.share_profile;
    return json;
}

Json ProgramToJson(const core::Program& program) {
    Json json = Json::object();
    json["program_id"] = program.program_id;
    json["name"] = program.name;
    json["created_at"] = TimeToJson(program.created_at);
    return json;
}

Json StoreToJson(const core::Store& store) {
    Json json = Json::object();
    json["store_id"] = store.store_id;
    json["name"] = store.name;
    json["kind"] = core::StoreKindName(store.kind);
    json["program_id"] = store.program_id;
    json["currency"] = store.currency;
    json["created_at"] = TimeToJson(store.created_at);
    return json;
}

Json RuleToJson(const core::EarningRule& rule) {
    Json json = Json::object();
    json["store_id"] = rule.store_id;
    json["version"] = rule.version;
    json["effective_from"] = TimeToJson(rule.effective_from);
    json["amount_per_point"] = rule.amount_per_point;
    json["rounding"] = core::RoundingName(rule.rounding);
    Json multipliers = Json::object();
    for (const auto& [category, milli] : rule.category_multipliers_milli) {
        multipliers[category] = MilliToJson(milli);
    }
    json["category_multipliers"] = std::move(multipliers);
    Json windows = Json::array();
    for (const core::BonusWindow& window : rule.bonus_windows) {
        Json w = Json::object();
        w["start"] = TimeToJson(window.start);
        w["end"] = TimeToJson(window.end);
        w["multiplier"] = MilliToJson(window.multiplier_milli);
        windows.push_back(std::move(w));
    }
    json["bonus_windows"] = std::move(windows);
    json["validity_days"] = rule.validity_days;
    return json;
}

Json PurchaseLineToJson(const core::PurchaseLine& line) {
    Json json = Json::object();
    json["name"] = line.name;
    json["sku"] = line.sku;
    json["category"] = line.category;
    json["quantity"] = line.quantity;
    json["unit_price"] = line.unit_price;
    json["amount"] = line.Amount();
    return json;
}

Json PurchaseToJson(const core::Purchase& purchase, const RecordContext& context) {
    Json json = Json::object();
    json["purchase_id"] = purchase.purchase_id;
    json["member_id"] = purchase.member_id;
    if (!purchase.card_number.empty()) json["card_number"] = purchase.card_number;
    json["store_id"] = purchase.store_id;
    if (auto* name = StoreName(context, purchase.store_id)) json["store_name"] = *name;
    json["program_id"] = purchase.program_id;
    if (auto* name = ProgramName(context, purchase.program_id)) json["program_name"] = *name;
    json["occurred_at"] = TimeToJson(purchase.occurred_at);
    json["recorded_at"] = TimeToJson(purchase.recorded_at);
    json["currency"] = purchase.currency;
    Json lines = Json::array();
    for (const core::PurchaseLine& line : purchase.lines) lines.push_back(PurchaseLineToJson(line));
    json["lines"] = std::move(lines);
    json["total"] = purchase.total;
    json["points_earned"] = purchase.points_earned;
    json["rule_version"] = purchase.rule_version;
    json["points_used"] = purchase.points_used;
    json["points_value"] = purchase.points_value;
    json["amount_due"] = purchase.total - purchase.points_value;
    const PurchaseNet net = NetOf(purchase, context);
    json["status"] = net.status;
    Json refunds = Json::array();
    for (const core::Refund* r : net.refunds) {
        Json refund = Json::object();
        refund["refund_id"] = r->refund_id;
        refund["amount"] = r->amount;
        refund["points_reversed"] = r->points_reversed;
        refund["points_unrecovered"] = r->points_unrecovered;
        refund["points_expired"] = r->points_expired;
        refund["occurred_at"] = TimeToJson(r->occurred_at);
        refunds.push_back(std::move(refund));
    }
    json["refunds"] = std::move(refunds);
    json["refunded_amount"] = net.refunded_amount;
    json["net_total"] = net.net_total;
    json["net_points"] = net.net_points;
    json["net_points_used"] = net.net_points_used;
    if (purchase.voided_at) {
        Json voided = Json::object();
        voided["voided_at"] = TimeToJson(*purchase.voided_at);
        voided["points_reversed"] = purchase.points_earned;
        voided["points_restored"] = purchase.points_used;
        json["void"] = std::move(voided);
    }
    return json;
}

Json EntryToJson(const core::LedgerEntry& entry, const RecordContext& context) {
    Json json = Json::object();
    json["entry_id"] = entry.entry_id;
    json["program_id"] = entry.program_id;
    if (auto* name = ProgramName(context, entry.program_id)) json["program_name"] = *name;
    json["store_id"] = entry.store_id;
    if (auto* name = StoreName(context, entry.store_id)) json["store_name"] = *name;
    json["delta"] = entry.delta;
    json["kind"] = core::EntryKindName(entry.kind);
    json["ref"] = entry.ref;
    json["occurred_at"] = TimeToJson(entry.occurred_at);
    json["note"] = entry.note;
    return json;
}

Json BalanceToJson(const storage::Balance& balance, const RecordContext& context) {
    Json json = Json::object();
    json["program_id"] = balance.program_id;
    if (auto* name = ProgramName(context, balance.program_id)) json["program_name"] = *name;
    json["points"] = balance.points;
    return json;
}

std::string PurchaseReceiptText(const hub::PurchaseReceipt& receipt) {
    JsonWriter json(320);
    json.BeginObject();
    json.Field("purchase_id", receipt.purchase_id);
    json.Field("member_id", receipt.member_id);
    json.Field("program_id", receipt.program_id);
    json.Field("total", receipt.total);
    json.Field("points_earned", receipt.points_earned);
    json.Field("balance", receipt.balance);
    json.Key("replayed");
    json.Bool(receipt.replayed);
    json.Field("currency", receipt.currency);
    json.Field("points_used", receipt.points_used);
    json.Field("points_value", receipt.points_value);
    json.Field("amount_due", receipt.amount_due);
    if (!receipt.line_points.empty()) {
        json.Key("line_points");
        json.BeginArray();
        for (int64_t p : receipt.line_points) json.Int(p);
        json.EndArray();
    }
    if (receipt.next_expiry) {
        json.Key("next_expiry");
        json.BeginObject();
        json.Field("points", receipt.next_expiry->points);
        json.Field("at", core::FormatRfc3339(receipt.next_expiry->at));
        json.EndObject();
    }
    json.EndObject();
    return json.Take();
}

Json RedemptionReceiptToJson(const hub::RedemptionReceipt& receipt) {
    Json json = Json::object();
    json["redemption_id"] = receipt.redemption_id;
    json["member_id"] = receipt.member_id;
    json["program_id"] = receipt.program_id;
    json["points"] = receipt.points;
    json["balance"] = receipt.balance;
    json["replayed"] = receipt.replayed;
    return json;
}

Json RefundReceiptToJson(const hub::RefundReceipt& receipt) {
    Json json = Json::object();
    json["refund_id"] = receipt.refund_id;
    json["purchase_id"] = receipt.purchase_id;
    json["amount"] = receipt.amount;
    json["points_reversed"] = receipt.points_reversed;
    json["points_unrecovered"] = receipt.points_unrecovered;
    json["points_expired"] = receipt.points_expired;
    json["balance"] = receipt.balance;
    json["replayed"] = receipt.replayed;
    return json;
}

void WritePurchase(JsonWriter& out, const core::Purchase& purchase, const RecordContext& context) {
    out.BeginObject();
    out.Field("purchase_id", purchase.purchase_id);
    out.Field("member_id", purchase.member_id);
    if (!purchase.card_number.empty()) out.Field("card_number", purchase.card_number);
    out.Field("store_id", purchase.store_id);
    if (auto* name = StoreName(context, purchase.store_id)) out.Field("store_name", *name);
    out.Field("program_id", purchase.program_id);
    if (auto* name = ProgramName(context, purchase.program_id)) out.Field("program_name", *name);
    out.Field("occurred_at", core::FormatRfc3339(purchase.occurred_at));
    out.Field("recorded_at", core::FormatRfc3339(purchase.recorded_at));
    out.Field("currency", purchase.currency);
    out.Key("lines");
    out.BeginArray();
    for (const core::PurchaseLine& line : purchase.lines) {
        out.BeginObject();
        out.Field("name", line.name);
        out.Field("sku", line.sku);
        out.Field("category", line.category);
        out.Field("quantity", line.quantity);
        out.Field("unit_price", line.unit_price);
        out.Field("amount", line.Amount());
        out.EndObject();
    }
    out.EndArray();
    out.Field("total", purchase.total);
    out.Field("points_earned", purchase.points_earned);
    out.Field("rule_version", purchase.rule_version);
    out.Field("points_used", purchase.points_used);
    out.Field("points_value", purchase.points_value);
    out.Field("amount_due", purchase.total - purchase.points_value);
    const PurchaseNet net = NetOf(purchase, context);
    out.Field("status", net.status);
    out.Key("refunds");
    out.BeginArray();
    for (const core::Refund* r : net.refunds) {
        out.BeginObject();
        out.Field("refund_id", r->refund_id);
        out.Field("amount", r->amount);
        out.Field("points_reversed", r->points_reversed);
        out.Field("points_unrecovered", r->points_unrecovered);
        out.Field("points_expired", r->points_expired);
        out.Field("occurred_at", core::FormatRfc3339(r->occurred_at));
        out.EndObject();
    }
    out.EndArray();
    out.Field("refunded_amount", net.refunded_amount);
    out.Field("net_total", net.net_total);
    out.Field("net_points", net.net_points);
    out.Field("net_points_used", net.net_points_used);
    if (purchase.voided_at) {
        out.Key("void");
        out.BeginObject();
        out.Field("voided_at", core::FormatRfc3339(*purchase.voided_at));
        out.Field("points_reversed", purchase.points_earned);
        out.Field("points_restored", purchase.points_used);
        out.EndObject();
    }
    out.EndObject();
}

void WriteEntry(JsonWriter& out, const core::LedgerEntry& entry, const RecordContext& context) {
    out.BeginObject();
    out.Field("entry_id", entry.entry_id);
    out.Field("program_id", entry.program_id);
    if (auto* name = ProgramName(context, entry.program_id)) out.Field("program_name", *name);
    out.Field("store_id", entry.store_id);
    if (auto* name = StoreName(context, entry.store_id)) out.Field("store_name", *name);
    out.Field("delta", entry.delta);
    out.Field("kind", core::EntryKindName(entry.kind));
    out.Field("ref", entry.ref);
    out.Field("occurred_at", core::FormatRfc3339(entry.occurred_at));
    out.Field("note", entry.note);
    out.EndObject();
}

void WriteBalance(JsonWriter& out, const storage::Balance& balance, const RecordContext& context) {
    out.BeginObject();
    out.Field("program_id", balance.program_id);
    if (auto* name = ProgramName(context, balance.program_id)) out.Field("program_name", *name);
    out.Field("points", balance.points);
    out.EndObject();
}

std::string UsageJsonText(std::string_view member_id, const hub::Usage& usage) {
    // A guess at the length that avoids most reallocations (a purchase with a few lines is
    // about 500 bytes, an entry about 250).
    JsonWriter out(128 + 640 * usage.purchases.size() + 320 * usage.entries.size());
    out.BeginObject();
    out.Field("member_id", member_id);
    out.Key("balances");
    out.BeginArray();
    const RecordContext context{&usage.names, &usage.refunds};
    for (const storage::Balance& balance : usage.balances) WriteBalance(out, balance, context);
    out.EndArray();
    out.Key("purchases");
    out.BeginArray();
    for (const core::Purchase& purchase : usage.purchases) WritePurchase(out, purchase, context);
    out.EndArray();
    out.Key("entries");
    out.BeginArray();
    for (const core::LedgerEntry& entry : usage.entries) WriteEntry(out, entry, context);
    out.EndArray();
    if (!usage.next_cursor.empty()) out.Field("next_cursor", usage.next_cursor);
    out.EndObject();
    return out.Take();
}

Json OfferToJson(const core::Offer& offer, const std::string& store_name) {
    Json json = Json::object();
    json["offer_id"] = offer.offer_id;
    json["store_id"] = offer.store_id;
    if (!store_name.empty()) json["store_name"] = store_name;
    json["title"] = offer.title;
    json["body"] = offer.body;
    json["categories"] = offer.categories;
    json["valid_from"] = TimeToJson(offer.valid_from);
    json["valid_to"] = TimeToJson(offer.valid_to);
    json["created_at"] = TimeToJson(offer.created_at);
    json["points_multiplier"] = MilliToJson(offer.points_multiplier_milli);
    if (offer.withdrawn_at) json["withdrawn_at"] = TimeToJson(*offer.withdrawn_at);
    if (offer.updated_at) json["updated_at"] = TimeToJson(*offer.updated_at);
    return json;
}

Json TerminalToJson(const core::Terminal& t) {
    Json json = Json::object();
    json["terminal_id"] = t.terminal_id;
    json["name"] = t.name;
    json["created_at"] = TimeToJson(t.created_at);
    json["revoked_at"] = t.revoked_at ? TimeToJson(*t.revoked_at) : Json();
    return json;
}

Json StaffToJson(const core::StaffMember& s) {
    Json json = Json::object();
    json["staff_id"] = s.staff_id;
    json["name"] = s.name;
    json["role"] = core::StaffRoleName(s.role);
    json["created_at"] = TimeToJson(s.created_at);
    json["removed_at"] = s.removed_at ? TimeToJson(*s.removed_at) : Json();
    return json;
}

Json TillSettingsToJson(const core::TillSettings& s) {
    Json json = Json::object();
    json["max_sale_total"] = s.max_sale_total;
    json["max_points_per_sale"] = s.max_points_per_sale;
    json["manager_refund_above"] = s.manager_refund_above;
    json["utc_offset_minutes"] = s.utc_offset_minutes;
    return json;
}

Json DayReportToJson(const hub::DayReport& report) {
    Json json = Json::object();
    json["store_id"] = report.store_id;
    json["date"] = report.day.date;
    json["from"] = TimeToJson(report.day.start);
    json["to"] = TimeToJson(report.day.end);
    json["utc_offset_minutes"] = report.utc_offset_minutes;
    Json totals = DayTotalsToJson(report.totals);
    totals.erase("terminal_id");
    json["totals"] = std::move(totals);
    json["ledger_net"] = report.ledger_net;
    Json terminals = Json::array();
    for (const auto& t : report.terminals) terminals.push_back(DayTotalsToJson(t));
    json["terminals"] = std::move(terminals);
    return json;
}

hub::MemberRef ReadMemberRef(JsonReader& reader) {
    hub::MemberRef ref;
    bool has_member = reader.Has("member_id");
    bool has_card = reader.Has("card_number");
    if (has_member && has_card) {
        reader.Fail("card_number", "give either card_number or member_id, not both");
        return ref;
    }
    if (!has_member && !has_card) {
        reader.Fail("card_number", reader.PathOf("card_number") + " or " +
                                       reader.PathOf("member_id") + " is required");
        return ref;
    }
    if (has_card) {
        ref.card_number = reader.RequiredString("card_number");
        if (reader.ok() && !core::IsValidCardNumber(ref.card_number)) {
            reader.Fail("card_number", core::CardNumberProblem(ref.card_number));
        }
    } else {
        ref.member_id = reader.RequiredString("member_id");
        if (reader.ok() && !core::IsValidMemberId(ref.member_id)) {
            reader.Fail("member_id",
                        "member_id is not a valid member id (10 digits with a check digit)");
        }
    }
    return ref;
}

std::vector<core::PurchaseLine> ReadPurchaseLines(JsonReader& reader, std::string_view name) {
    std::vector<core::PurchaseLine> lines;
    std::vector<JsonReader> items = reader.ObjectArray(name, true);
    if (reader.ok() && items.empty()) {
        reader.Fail(name, reader.PathOf(name) + " must have at least one line");
    }
    for (JsonReader& item : items) {
        core::PurchaseLine line;
        line.name = item.RequiredString("name");
        line.sku = item.OptionalString("sku").value_or("");
        line.category = item.OptionalString("category").value_or("");
        line.quantity = item.OptionalInt("quantity").value_or(1);
        line.unit_price = item.RequiredInt("unit_price");
        if (!reader.ok()) break;
        lines.push_back(std::move(line));
    }
    return lines;
}

core::CardMedium ReadCardMedium(JsonReader& reader, std::string_view name,
                                core::CardMedium fallback) {
    std::optional<std::string> text = reader.OptionalString(name);
    if (!text) return fallback;
    auto medium = core::ParseCardMedium(*text, reader.PathOf(name));
    if (!medium) {
        reader.Fail(name, medium.error().message);
        return fallback;
    }
    return *medium;
}

core::EarningRule ReadEarningRule(JsonReader& body, std::string store_id) {
    core::EarningRule rule = core::DefaultEarningRule(std::move(store_id), core::Timestamp{});
    rule.amount_per_point = body.RequiredInt("amount_per_point");
    if (auto rounding = body.OptionalString("rounding")) {
        auto parsed = core::ParseRounding(*rounding, "rounding");
        if (parsed) {
            rule.rounding = *parsed;
        } else {
            body.Fail("rounding", parsed.error().message);
        }
    }
    rule.category_multipliers_milli = body.OptionalMilliMap("category_multipliers");
    for (JsonReader& item : body.ObjectArray("bonus_windows", false)) {
        core::BonusWindow window;
        window.start = item.RequiredTime("start");
        window.end = item.RequiredTime("end");
        if (!item.Has("multiplier"))
            item.Fail("multiplier", item.PathOf("multiplier") + " is required");
        window.multiplier_milli = item.OptionalMilli("multiplier").value_or(core::kMultiplierOne);
        rule.bonus_windows.push_back(window);
    }
    if (auto days = body.OptionalInt("validity_days")) {
        if (*days < 1 || *days > std::numeric_limits<int>::max()) {
            body.Fail("validity_days", "validity_days must be between 1 and 3650");
        } else {
            rule.validity_days = static_cast<int>(*days);
        }
    }
    return rule;
}

}  // namespace kizuna::http
