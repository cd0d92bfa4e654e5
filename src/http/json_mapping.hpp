#pragma once
// Domain values to JSON, and the request pieces several handlers read (member references,
// purchase lines). Times are RFC 3339; multipliers are plain numbers (1500 milli -> 1.5).
// Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/card.hpp"
#include "core/earning_rule.hpp"
#include "core/ledger.hpp"
#include "core/member.hpp"
#include "core/offer.hpp"
#include "core/purchase.hpp"
#include "core/store.hpp"
#include "core/till.hpp"
#include "http/json.hpp"
#include "http/json_reader.hpp"
#include "http/json_writer.hpp"
#include "hub/member_service.hpp"
#include "hub/points_service.hpp"
#include "hub/terminal_service.hpp"
#include "storage/storage.hpp"

namespace kizuna::http {

Json TimeToJson(core::Timestamp t);
Json MilliToJson(int64_t milli);  // 2000 -> 2, 1500 -> 1.5

// {"card_number","member_id","generation","status","medium","issued_at","issued_by_store"?,
//  "revoked_at"?, "record"?}
Json CardToJson(const core::Card& card);
Json IssuedCardToJson(const hub::IssuedCard& issued);  // CardToJson + "record"
Json ProfileToJson(const core::Profile& profile);
Json ConsentsToJson(const core::Consents& consents);
Json ProgramToJson(const core::Program& program);
Json StoreToJson(const core::Store& store);  // never the API key or its hash
Json RuleToJson(const core::EarningRule& rule);
Json PurchaseLineToJson(const core::PurchaseLine& line);
// What a purchase, entry or balance is shown with: the names of the stores and programs it
// names ("store_name", "program_name" beside the ids, when known) and, for a purchase, the
// refunds among `refunds` that belong to it ("refunds", "refunded_amount", "net_total",
// "net_points", "net_points_used": what is left of the purchase after them or after its void,
// "status", and "void" when voided), beside the points it used at checkout ("points_used",
// "points_value", "amount_due").
struct RecordContext {
    const hub::Names* names = nullptr;
    const std::vector<storage::PurchaseRefund>* refunds = nullptr;
};
Json PurchaseToJson(const core::Purchase& purchase, const RecordContext& context = {});
Json EntryToJson(const core::LedgerEntry& entry, const RecordContext& context = {});
Json BalanceToJson(const storage::Balance& balance, const RecordContext& context = {});
// The answers to durable writes (POST /v1/purchases, /v1/redemptions, .../refunds).
// The purchase answer as JSON text, written straight (JsonWriter): it is built for every sale.
std::string PurchaseReceiptText(const hub::PurchaseReceipt& receipt);
Json RedemptionReceiptToJson(const hub::RedemptionReceipt& receipt);
Json RefundReceiptToJson(const hub::RefundReceipt& receipt);
// With "store_name" when `store_name` is not empty.
Json OfferToJson(const core::Offer& offer, const std::string& store_name = {});
// The till (issue 17): a terminal (never its key's digest), a staff member (never the PIN's
// hash), a store's till settings, the end-of-day report (GET /v1/stores/me/day).
Json TerminalToJson(const core::Terminal& terminal);
Json StaffToJson(const core::StaffMember& staff);
Json TillSettingsToJson(const core::TillSettings& settings);
Json DayReportToJson(const hub::DayReport& report);

// The same documents as PurchaseToJson, EntryToJson and BalanceToJson written straight as text,
// byte for byte what DumpJson gives for those, for the member usage answer (the hub's most
// frequent read), which skips building a DOM.
void WritePurchase(JsonWriter& out, const core::Purchase& purchase,
                   const RecordContext& context = {});
void WriteEntry(JsonWriter& out, const core::LedgerEntry& entry, const RecordContext& context = {});
void WriteBalance(JsonWriter& out, const storage::Balance& balance,
                  const RecordContext& context = {});
// The member usage answer: {"member_id","balances":[...],"purchases":[...],"entries":[...]}.
std::string UsageJsonText(std::string_view member_id, const hub::Usage& usage);

// "member_id" or "card_number", exactly one, checked for their check digits.
// An earning rule as PUT /v1/stores/{id}/rule takes it (and RuleToJson writes it): only
// amount_per_point is required; the rest default to a new store's rule (floor, no multipliers,
// no bonus windows, 365 days). Problems are left in `reader`.
core::EarningRule ReadEarningRule(JsonReader& reader, std::string store_id);
hub::MemberRef ReadMemberRef(JsonReader& reader);
// Purchase lines: {"name","sku"?,"category"?,"quantity"?(1),"unit_price"}. Required, non-empty.
std::vector<core::PurchaseLine> ReadPurchaseLines(JsonReader& reader, std::string_view name);
// The card medium field, "chip" | "qr" | "virtual"; `fallback` when absent.
core::CardMedium ReadCardMedium(JsonReader& reader, std::string_view name,
                                core::CardMedium fallback);

}  // namespace kizuna::http
