#pragma once
// Storage in domain terms. No SQL or driver type appears here; backends live in sqlite/ (and
// postgres/ later) and are chosen by OpenStorage from a connection string.
//
// Unit of work: a service hands Storage::Write a function that reads and writes through a
// WriteTxn. The backend runs it atomically and returns only after it is durable (it survives a
// power cut: src/storage/README.md, "Durability"). Backends may
// run several callers' functions in one database transaction (group commit): each function is
// isolated, so a function that returns an error is rolled back alone and its batch-mates still
// commit. To get there a backend may run a function more than once (SQLite does when a
// batch-mate fails after writing); only the last run counts. A function must therefore do all
// of its writes through the txn, set (never accumulate) whatever it leaves outside the txn,
// must not block on anything else, and may be run on another thread than the caller's.
//
// Thread-safety: Storage is safe to use from many threads at once. Txn objects belong to the
// function they are handed to and must not escape it.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/campaign.hpp"
#include "core/card.hpp"
#include "core/earning_rule.hpp"
#include "core/ledger.hpp"
#include "core/member.hpp"
#include "core/member_merge.hpp"
#include "core/offer.hpp"
#include "core/purchase.hpp"
#include "core/redemption_limits.hpp"
#include "core/reservation.hpp"
#include "core/result.hpp"
#include "core/settlement.hpp"
#include "core/store.hpp"
#include "core/tier.hpp"
#include "core/till.hpp"
#include "core/time.hpp"
#include "core/webhook.hpp"
#include "storage/dispatch_records.hpp"

namespace kizuna::storage {

using core::Result;
using core::Status;
using core::Timestamp;

struct Balance {
    std::string program_id;
    int64_t points = 0;
};

// What a sale reads of its member (ReadTxn::StandingOf).
struct MemberStanding {
    core::MemberStatus status = core::MemberStatus::kActive;
    std::optional<Timestamp> first_card_issued_at;  // none: the member has no card
};

struct MemberSession {
    std::string token_hash;
    std::string member_id;
    Timestamp created_at{};
    Timestamp expires_at{};
};

// One read of a member profile by a store (invariant 6: every profile read is audited).
struct AuditRecord {
    std::string actor;   // "store:<id>", "operator", "member:<id>"
    std::string action;  // e.g. "profile_read"
    std::string member_id;
    Timestamp at{};
};

// One change the hub recorded (the transactional outbox): written in the same transaction as
// the change, numbered in commit order. Webhook deliveries are made from it, and a store node's
// sync pull will read it by sequence.
struct Event {
    int64_t sequence = 0;    // assigned by AppendEvent; increases with every event, never reused
    std::string type;        // core::kEventTypes
    std::string program_id;  // whose stores may see it; empty: no program's
    std::string member_id;   // empty when it concerns no member
    Timestamp created_at{};
    std::string payload;  // the event's data, a JSON object as text
};

// ---- Store node sync (hub side) -------------------------------------------------------------

// A member id or card number reserved for one store's node to hand out offline: never given to
// anyone else, and never used by the hub's own enrollment.
struct IdLease {
    std::string kind;  // "member_id" or "card_number"
    std::string value;
    std::string store_id;
    Timestamp leased_at{};
    std::optional<Timestamp> used_at;  // when an offline enrollment or card used it
};

// The outcome of one pushed node event, kept with (store_id, event_id) so that a replay answers
// the same. Written in the same unit of work as the event's effect.
struct SyncRecord {
    std::string store_id;
    std::string event_id;
    std::string type;
    Timestamp occurred_at{};
    std::string terminal_id;  // empty when the node named none
    std::string status;       // "applied", "flagged" or "rejected"
    int http_status = 200;
    std::string body;  // the answer the online endpoint would have given, JSON text
    Timestamp applied_at{};
};

// Something a pushed event did that a person should look at (never silent).
struct SyncConflict {
    int64_t conflict_id = 0;  // assigned by InsertSyncConflict
    std::string store_id;
    std::string event_id;
    std::string kind;  // "duplicate_member", "overspend", "revoked_card"
    std::string member_id;
    std::string other_member_id;  // duplicate_member: the member who had the email/phone first
    std::string card_number;      // revoked_card
    int64_t points_short = 0;     // overspend: what could not be redeemed
    std::string detail;
    Timestamp created_at{};
};

// A password reset link (migration 11): only the token's digest is kept; used once at most.
struct PasswordReset {
    std::string token_hash;
    std::string member_id;
    Timestamp created_at{};
    Timestamp expires_at{};
    std::optional<Timestamp> used_at;
};

// A refund with the key of the purchase it belongs to (the refund's own store_id is the store
// that gave it, which may differ for refunds recorded before migration 6).
struct PurchaseRefund {
    std::string purchase_store_id;
    core::Refund refund;  // purchase_id set
};

// Which rows a history query returns: newest first, at most `limit`, before `before_id` if set.
struct Page {
    int limit = 100;
    std::optional<int64_t> before_entry_id;
};

// A page of a member's purchases (GET /v1/members/{id}/usage). The cursor names the last
// purchase of the previous page in the newest-first order of PurchasesOf; `seq` is the backend's
// insertion order, meaningful only to the backend that gave it.
struct PurchaseCursor {
    Timestamp occurred_at{};
    int64_t seq = 0;
};
struct PurchasePageRequest {
    std::optional<PurchaseCursor> after;  // none: from the newest
    int limit = 100;                      // most purchases
    // The page ends before the purchase that would take it past either bound; the first
    // purchase always fits, so a page is never empty while purchases remain. Text bytes are
    // those of the purchase's strings (ids, names, SKUs, categories).
    std::size_t max_lines = 1000;
    std::size_t max_text_bytes = 256 * 1024;
};
struct PurchasePage {
    std::vector<core::Purchase> purchases;
    std::optional<PurchaseCursor> next;  // set when purchases remain after this page
};

// Ledger points of one (store, entry kind) over a range of booking days of a program, from the
// per-day totals kept in the same transaction as every ledger entry (AppendEntry).
struct SettlementTotal {
    std::string store_id;  // empty: entries no store caused (the operator's)
    std::string store_name;
    std::string kind;        // core::EntryKindName of the entries
    int64_t points_in = 0;   // sum of positive deltas
    int64_t points_out = 0;  // sum of -delta of negative ones
    int64_t entries = 0;
    int64_t late_entries = 0;  // of which occurred before the period they were booked in
};

// A closed period: what its statement was computed from, frozen when it was closed.
struct SettlementClosing {
    std::string program_id;
    core::Period period{};
    Timestamp closed_at{};
    core::ProgramEconomics economics;
    int64_t opening_points = 0;
    std::vector<core::PartyPoints> parties;  // in store id order, the operator ("") first
};

// Reads. Every method returns kUnavailable when the backend cannot answer; "not found" is an
// empty optional, not an error.
class ReadTxn {
  public:
    virtual ~ReadTxn() = default;

    virtual Result<std::optional<core::Member>> FindMember(std::string_view member_id) = 0;
    // Whether a member record exists (open or closed): for the hot paths that only need to
    // know, without reading and copying the whole profile.
    virtual Result<bool> MemberExists(std::string_view member_id) = 0;
    // Emails compare ignoring ASCII case; an empty email finds nobody.
    virtual Result<std::optional<core::Member>> FindMemberByEmail(std::string_view email) = 0;
    // Phones compare in core::NormalizePhone form, so any formatting of the same number
    // matches; oldest member first; an empty phone finds nobody.
    virtual Result<std::vector<core::Member>> FindMembersByPhone(std::string_view phone) = 0;

    virtual Result<std::optional<core::Card>> FindCard(std::string_view card_number) = 0;
    // Oldest generation first.
    virtual Result<std::vector<core::Card>> CardsOf(std::string_view member_id) = 0;
    // The member as a sale needs them, in one read: open or closed, and when their first card
    // (lowest generation) was issued (none without a card); none for an unknown member.
    virtual Result<std::optional<MemberStanding>> StandingOf(std::string_view member_id) = 0;

    virtual Result<std::optional<core::Program>> FindProgram(std::string_view program_id) = 0;
    virtual Result<std::optional<core::Store>> FindStore(std::string_view store_id) = 0;
    virtual Result<std::optional<core::Store>> FindStoreByKeyHash(std::string_view hash) = 0;
    // Both in creation order.
    virtual Result<std::vector<core::Store>> ListStores() = 0;
    virtual Result<std::vector<core::Program>> ListPrograms() = 0;
    // Every version of the store's rule, oldest first.
    virtual Result<std::vector<core::EarningRule>> RuleVersions(std::string_view store_id) = 0;

    // Purchase, redemption and refund ids are unique per store (the store that sent them), so
    // each is found by (store_id, id). Purchases include their lines (fetched in one query).
    virtual Result<std::optional<core::Purchase>> FindPurchase(std::string_view store_id,
                                                               std::string_view purchase_id) = 0;
    // A member's purchases, newest occurred_at first (equal times: the later stored first);
    // restricted to one program when program_id is set.
    virtual Result<std::vector<core::Purchase>> PurchasesOf(
        std::string_view member_id, std::optional<std::string_view> program_id, int limit) = 0;
    virtual Result<std::optional<core::Redemption>> FindRedemption(std::string_view store_id,
                                                                   std::string_view id) = 0;
    // Refunds come with their refunded lines, in the order they were inserted.
    virtual Result<std::optional<core::Refund>> FindRefund(std::string_view store_id,
                                                           std::string_view refund_id) = 0;
    // The refunds of the store's purchase, oldest first (occurred_at, then insertion order);
    // refunds stored before ids were per store may have been made by another store of its
    // program.
    virtual Result<std::vector<core::Refund>> RefundsOf(std::string_view store_id,
                                                        std::string_view purchase_id) = 0;

    // One per program the member has ledger entries in, ordered by program id.
    virtual Result<std::vector<Balance>> BalancesOf(std::string_view member_id) = 0;
    // The stored balance, or none when the member has no entries in the program yet. A balance
    // belongs to an existing member (a foreign key), so finding one also answers MemberExists.
    virtual Result<std::optional<int64_t>> FindBalance(std::string_view member_id,
                                                       std::string_view program_id) = 0;
    // 0 when the member has no entries in the program.
    Result<int64_t> BalanceOf(std::string_view member_id, std::string_view program_id) {
        auto balance = FindBalance(member_id, program_id);
        if (!balance) return balance.error();
        return balance->value_or(0);
    }
    // A member's purchases from `request.after` on, in the order of PurchasesOf, bounded by
    // the request's limits.
    virtual Result<PurchasePage> PurchasePageOf(std::string_view member_id,
                                                const PurchasePageRequest& request) = 0;
    // Newest first; restricted to one program when program_id is set.
    virtual Result<std::vector<core::LedgerEntry>> EntriesOf(
        std::string_view member_id, std::optional<std::string_view> program_id, Page page) = 0;
    // Lots with remaining > 0, in any order.
    virtual Result<std::vector<core::Lot>> OpenLots(std::string_view member_id,
                                                    std::string_view program_id) = 0;
    // Open lots whose expires_at <= now, at most `limit`, for the expiry pass.
    virtual Result<std::vector<core::Lot>> ExpiredOpenLots(Timestamp now, int limit) = 0;

    virtual Result<std::optional<core::Offer>> FindOffer(std::string_view offer_id) = 0;
    // Offers current at `now` (valid_from <= now < valid_to), newest created first; of the
    // given stores only, when store_ids is non-empty.
    virtual Result<std::vector<core::Offer>> CurrentOffers(
        Timestamp now, const std::vector<std::string>& store_ids) = 0;

    // Expired sessions are returned too: the caller compares expires_at with its clock.
    virtual Result<std::optional<MemberSession>> FindSession(std::string_view token_hash) = 0;
    // Oldest first.
    virtual Result<std::vector<AuditRecord>> AuditOf(std::string_view member_id) = 0;

    // ---- Reservations, events and webhooks (store <-> online shop) -------------------------
    virtual Result<std::optional<core::Reservation>> FindReservation(
        std::string_view created_by, std::string_view reservation_id) = 0;
    // Every reservation with this id, whoever created it, oldest first.
    virtual Result<std::vector<core::Reservation>> ReservationsWithId(
        std::string_view reservation_id) = 0;
    // A member's reservations, newest created first, at most `limit`; of one program when
    // program_id is set.
    virtual Result<std::vector<core::Reservation>> ReservationsOf(
        std::string_view member_id, std::optional<std::string_view> program_id, int limit) = 0;
    // Events with sequence > after, oldest first, at most `limit`.
    virtual Result<std::vector<Event>> EventsAfter(int64_t after, int limit) = 0;
    virtual Result<std::optional<Event>> FindEvent(int64_t sequence) = 0;
    // The highest sequence handed out so far (0 before the first event).
    virtual Result<int64_t> LastEventSequence() = 0;
    // Where a reader of the events (e.g. "webhooks") has got to: 0 until it first moves.
    virtual Result<int64_t> EventCursor(std::string_view consumer) = 0;
    // The programs a member has had events in (joined by AppendEvent), ordered by program id.
    virtual Result<std::vector<std::string>> ProgramsOfMember(std::string_view member_id) = 0;
    virtual Result<std::optional<core::Webhook>> FindWebhook(std::string_view webhook_id) = 0;
    // In creation order.
    virtual Result<std::vector<core::Webhook>> WebhooksOfStore(std::string_view store_id) = 0;
    virtual Result<std::vector<core::Webhook>> WebhooksOfProgram(std::string_view program_id) = 0;
    virtual Result<std::optional<core::WebhookDelivery>> FindDelivery(int64_t delivery_id) = 0;
    // A webhook's deliveries, newest first, at most `limit`, with delivery_id < before if set.
    virtual Result<std::vector<core::WebhookDelivery>> DeliveriesOf(
        std::string_view webhook_id, int limit, std::optional<int64_t> before) = 0;
    // Pending deliveries with next_attempt_at <= now, soonest first, at most `limit`.
    virtual Result<std::vector<core::WebhookDelivery>> DueDeliveries(Timestamp now, int limit) = 0;

    // ---- Settlement (coalition economics) ----------------------------------------------------
    // Every version of the program's economics, oldest first.
    virtual Result<std::vector<core::ProgramEconomics>> EconomicsVersions(
        std::string_view program_id) = 0;
    // The program's entries booked on days first_day..last_day (core::SettlementDay), summed per
    // (store, kind), ordered by store id then kind.
    virtual Result<std::vector<SettlementTotal>> SettlementTotals(std::string_view program_id,
                                                                  int64_t first_day,
                                                                  int64_t last_day) = 0;
    // Sum of the deltas of the program's entries booked before `day`: the points outstanding
    // when that day began.
    virtual Result<int64_t> OutstandingBefore(std::string_view program_id, int64_t day) = 0;
    // Entries booked on days first_day..last_day that occurred before the period of their
    // booking day (a store node's offline sales synced late), oldest booked first, at most
    // `limit`; of one store only when store_id is set.
    virtual Result<std::vector<core::LedgerEntry>> LateEntries(
        std::string_view program_id, int64_t first_day, int64_t last_day,
        std::optional<std::string_view> store_id, int limit) = 0;
    virtual Result<std::optional<SettlementClosing>> FindClosing(std::string_view program_id,
                                                                 core::Period period) = 0;
    // ---- Redemption limits, campaigns, tiers, member merges (issue 19) ----------------------
    // The program's limits; empty (no limits) when none were set.
    virtual Result<core::RedemptionLimits> RedemptionLimitsOf(std::string_view program_id) = 0;
    // Points the member redeemed in the program with from <= occurred_at < to.
    virtual Result<int64_t> RedeemedBetween(std::string_view member_id, std::string_view program_id,
                                            Timestamp from, Timestamp to) = 0;
    virtual Result<std::optional<core::Campaign>> FindCampaign(std::string_view campaign_id) = 0;
    virtual Result<std::optional<core::CampaignGrant>> FindCampaignGrant(
        std::string_view campaign_id, std::string_view grant_id) = 0;
    // The campaign's grants, newest first, at most `limit`.
    virtual Result<std::vector<core::CampaignGrant>> GrantsOfCampaign(std::string_view campaign_id,
                                                                      int limit) = 0;
    // The program's tiers; no tiers when none were set.
    virtual Result<core::TierSchedule> TierScheduleOf(std::string_view program_id) = 0;
    virtual Result<std::optional<core::HeldTier>> HeldTierOf(std::string_view member_id,
                                                             std::string_view program_id) = 0;
    // The member's tier value in the program from purchases with from < occurred_at <= to: net
    // spend (totals less refunded amounts) or points earned (less points refunds owed back).
    virtual Result<int64_t> TierValueOf(std::string_view member_id, std::string_view program_id,
                                        core::TierBasis basis, Timestamp from, Timestamp to) = 0;
    // What the member holds (balances, cards, counts); none for an unknown member.
    virtual Result<std::optional<core::MemberHoldings>> HoldingsOf(std::string_view member_id) = 0;
    // The member the given one was merged into, if it was.
    virtual Result<std::optional<std::string>> MergedInto(std::string_view member_id) = 0;
    // ---- Store node sync (hub side) ---------------------------------------------------------
    virtual Result<std::optional<IdLease>> FindIdLease(std::string_view kind,
                                                       std::string_view value) = 0;
    virtual Result<std::optional<SyncRecord>> FindSyncRecord(std::string_view store_id,
                                                             std::string_view event_id) = 0;
    // Oldest first, at most `limit`, with conflict_id > after; of one store when store_id is set.
    virtual Result<std::vector<SyncConflict>> SyncConflicts(
        std::optional<std::string_view> store_id, int64_t after, int limit) = 0;
    // Events of one program with sequence > after, oldest first, at most `limit`.
    virtual Result<std::vector<Event>> ProgramEventsAfter(std::string_view program_id,
                                                          int64_t after, int limit) = 0;
    // Card numbers revoked of the members that belong to the program (see ProgramsOfMember).
    virtual Result<std::vector<std::string>> RevokedCardsOfProgram(std::string_view program_id) = 0;
    // ---- Offer dispatch (issue 18; dispatch_records.hpp) ---------------------------------
    virtual Result<std::optional<DispatchRun>> FindDispatch(std::string_view dispatch_id) = 0;
    // Newest created first, at most `limit`.
    virtual Result<std::vector<DispatchRun>> ListDispatches(int limit) = 0;
    // Runs whose status is "selecting", "running" or "paused", oldest first.
    virtual Result<std::vector<DispatchRun>> UnfinishedDispatches() = 0;
    virtual Result<std::vector<DispatchStateCount>> DispatchStateCounts(
        std::string_view dispatch_id) = 0;
    // A run's recipients ordered by (member_id, channel), after that pair when `after_member`
    // is set, at most `limit`; of one channel when `channel` is non-empty.
    virtual Result<std::vector<DispatchRecipient>> DispatchRecipients(
        std::string_view dispatch_id, std::string_view channel,
        std::optional<std::pair<std::string, std::string>> after, int limit) = 0;
    // Rows of a run and channel in `state`; for "pending" only those due at `now`; oldest
    // next_attempt_at first (then member id), at most `limit`.
    virtual Result<std::vector<DispatchRecipient>> DispatchRecipientsInState(
        std::string_view dispatch_id, std::string_view channel, std::string_view state,
        Timestamp now, int limit) = 0;
    // The soonest next_attempt_at of a run's pending rows; none when none is pending.
    virtual Result<std::optional<Timestamp>> NextDispatchAttempt(std::string_view dispatch_id) = 0;
    // Members with member_id > after, by member id, at most `limit`.
    virtual Result<std::vector<DispatchMember>> DispatchMembersAfter(std::string_view after,
                                                                     int limit) = 0;
    // For the members first..last (by id, inclusive): their purchase lines since `since`, the
    // offers ever sent to them, their open lots and their programs. One query each, so a page
    // of members costs four reads whatever its size.
    virtual Result<std::vector<PurchaseSpend>> PurchaseSpendBetween(std::string_view first,
                                                                    std::string_view last,
                                                                    Timestamp since) = 0;
    virtual Result<std::vector<SentOffer>> SentOffersBetween(std::string_view first,
                                                             std::string_view last) = 0;
    virtual Result<std::vector<OpenLotSummary>> OpenLotsBetween(std::string_view first,
                                                                std::string_view last) = 0;
    virtual Result<std::vector<MemberProgram>> MemberProgramsBetween(std::string_view first,
                                                                     std::string_view last) = 0;
    // ---- The till (issue 17): terminals, staff, settings, a store's day ---------------------
    // A terminal by its key's digest, revoked or not (the caller checks revoked_at).
    virtual Result<std::optional<core::Terminal>> FindTerminalByKeyHash(std::string_view hash) = 0;
    virtual Result<std::optional<core::Terminal>> FindTerminal(std::string_view terminal_id) = 0;
    // In creation order, revoked ones too.
    virtual Result<std::vector<core::Terminal>> TerminalsOf(std::string_view store_id) = 0;
    virtual Result<std::optional<core::StaffMember>> FindStaff(std::string_view staff_id) = 0;
    // In creation order, removed ones too.
    virtual Result<std::vector<core::StaffMember>> StaffOf(std::string_view store_id) = 0;
    // None when the store never set them (the defaults apply).
    virtual Result<std::optional<core::TillSettings>> FindTillSettings(
        std::string_view store_id) = 0;
    // The lots a purchase's points used as payment came from, in the order drawn.
    virtual Result<std::vector<core::PointsDrawn>> PointsDrawnBy(std::string_view store_id,
                                                                 std::string_view purchase_id) = 0;
    // Whether another store of the program has a purchase with this id (for 403 on a refund or
    // void of another store's sale).
    virtual Result<bool> OtherStoreHasPurchase(std::string_view program_id,
                                               std::string_view store_id,
                                               std::string_view purchase_id) = 0;
    // The store's purchases (without lines) and ledger entries with occurred_at in [from, to),
    // oldest first: the day report.
    virtual Result<std::vector<core::Purchase>> StorePurchasesBetween(std::string_view store_id,
                                                                      Timestamp from,
                                                                      Timestamp to) = 0;
    virtual Result<std::vector<core::LedgerEntry>> StoreEntriesBetween(std::string_view store_id,
                                                                       Timestamp from,
                                                                       Timestamp to) = 0;
    // ---- Member self-care and honest records (migration 11) --------------------------------
    virtual Result<std::optional<PasswordReset>> FindPasswordReset(std::string_view token_hash) = 0;
    // The refunds of the member's purchases that occurred within [from, to], oldest first:
    // one read for a page of purchases (the caller keeps those of its page).
    virtual Result<std::vector<PurchaseRefund>> RefundsOfPurchasesBetween(
        std::string_view member_id, Timestamp from, Timestamp to) = 0;
    // The stores / programs of these ids that exist, in no particular order (names beside ids).
    virtual Result<std::vector<core::Store>> StoresWithIds(const std::vector<std::string>& ids) = 0;
    virtual Result<std::vector<core::Program>> ProgramsWithIds(
        const std::vector<std::string>& ids) = 0;
    // The store's offers with a points multiplier above 1x that are not withdrawn and end after
    // `since`, for the earning rule of its purchases.
    virtual Result<std::vector<core::Offer>> MultiplierOffersOf(std::string_view store_id,
                                                                Timestamp since) = 0;

    // For invariant checks: every (member, program) whose stored balance differs from the sum
    // of its entries or of its lots' remaining points, every negative balance, and every lot
    // whose remaining points are not within 0..earned. Empty when all is well.
    virtual Result<std::vector<std::string>> CheckLedgerInvariants() = 0;
    // For invariant checks: every purchase, redemption or refund whose ledger entry (and, for a
    // purchase, lot) is missing or disagrees with it (member, program, points), and every
    // earn, redeem or refund_reversal entry whose record is missing. Full scans, for checks.
    virtual Result<std::vector<std::string>> CheckRecordInvariants() = 0;
};

// Reads and writes inside one atomic unit. Every row a write refers to (member, store,
// program, purchase, lot) must exist already: a dangling reference is kInternal.
class WriteTxn : public ReadTxn {
  public:
    // kAlreadyExists when the member id, or a non-empty email, is taken.
    virtual Status InsertMember(const core::Member& member) = 0;
    // Replaces everything but member_id and created_at. kNotFound for an unknown member;
    // kAlreadyExists when the new email is another member's.
    virtual Status UpdateMember(const core::Member& member) = 0;
    // kAlreadyExists when the card number, or the member's generation, is taken.
    virtual Status InsertCard(const core::Card& card) = 0;
    // kNotFound for an unknown card. Revoking a revoked card succeeds and keeps the first time.
    virtual Status RevokeCard(std::string_view card_number, Timestamp at) = 0;

    virtual Status InsertProgram(const core::Program& program) = 0;
    virtual Status InsertStore(const core::Store& store) = 0;
    // The rule's version must be one more than the latest stored (or 1): kAlreadyExists when
    // that version exists (a concurrent change won), kInternal for a gap.
    virtual Status InsertRuleVersion(const core::EarningRule& rule) = 0;

    // Inserting an id that the store has used fails with kAlreadyExists and writes nothing, so a
    // caller may insert first and look for the earlier purchase only then (the purchase path
    // does).
    virtual Status InsertPurchase(const core::Purchase& purchase) = 0;
    virtual Status InsertRedemption(const core::Redemption& redemption) = 0;
    // Also stores refund.lines; each must name an existing line of the refunded purchase, which
    // is (refund.store_id, refund.purchase_id).
    virtual Status InsertRefund(const core::Refund& refund) = 0;

    // Returns the new lot's id.
    virtual Result<int64_t> InsertLot(const core::Lot& lot) = 0;
    // Subtracts draw.points from the lot's remaining (never below zero: kInternal if it would;
    // kNotFound for an unknown lot).
    virtual Status DrawFromLot(const core::LotDraw& draw) = 0;
    // DrawFromLot for the expiry: also adds the points to the lot's purchase's points_expired.
    virtual Status ExpireFromLot(const core::LotDraw& draw) = 0;
    // Appends the entry and adds its delta to the (member, program) balance in the same
    // transaction; fails with kInsufficientPoints, changing nothing, if the balance would go
    // below zero. Returns the entry id. Also adds it to the program's settlement totals of its
    // booking day: the day of recorded_at (occurred_at when unset), or, should that fall in a
    // closed period, the first day after the latest closed period, so a closed period never
    // changes; an entry that occurred before its booking period is listed by LateEntries.
    virtual Result<int64_t> AppendEntry(const core::LedgerEntry& entry) = 0;

    // The version must be one more than the latest stored (or 1): kAlreadyExists otherwise.
    virtual Status InsertEconomics(const core::ProgramEconomics& economics) = 0;
    // kAlreadyExists when the period is closed already.
    virtual Status InsertClosing(const SettlementClosing& closing) = 0;
    // ---- The till (issue 17) ------------------------------------------------------------------
    // Adds draw.points back to the lot's remaining (never above earned: kInternal), for a void.
    virtual Status RestoreToLot(const core::LotDraw& draw) = 0;
    // Records the void of the store's purchase (voided_at, void_terminal_id, void_staff_id,
    // void_balance_after). kNotFound for an unknown purchase.
    virtual Status MarkPurchaseVoided(const core::Purchase& purchase) = 0;
    // kAlreadyExists when the id or key digest is taken.
    virtual Status InsertTerminal(const core::Terminal& terminal) = 0;
    // Sets revoked_at (the first time only). kNotFound for an unknown terminal.
    virtual Status RevokeTerminal(std::string_view terminal_id, Timestamp at) = 0;
    // kAlreadyExists when the id is taken.
    virtual Status InsertStaff(const core::StaffMember& staff) = 0;
    // Sets removed_at (the first time only). kNotFound for an unknown staff member.
    virtual Status RemoveStaff(std::string_view staff_id, Timestamp at) = 0;
    // Inserts or replaces the store's settings.
    virtual Status PutTillSettings(std::string_view store_id,
                                   const core::TillSettings& settings) = 0;

    virtual Status InsertOffer(const core::Offer& offer) = 0;
    virtual Status InsertSession(const MemberSession& session) = 0;
    virtual Status DeleteExpiredSessions(Timestamp now) = 0;
    virtual Status InsertAudit(const AuditRecord& record) = 0;

    // ---- Reservations, events and webhooks (store <-> online shop) -------------------------
    // kAlreadyExists when (created_by, reservation_id) is taken.
    virtual Status InsertReservation(const core::Reservation& reservation) = 0;
    // Stores status, updated_at and updated_by. kNotFound for an unknown reservation.
    virtual Status UpdateReservation(const core::Reservation& reservation) = 0;
    // Appends the event (its sequence is ignored) and returns its sequence; when it names both
    // a program and a member, the member joins the program (see ProgramsOfMember).
    virtual Result<int64_t> AppendEvent(const Event& event) = 0;
    virtual Status SetEventCursor(std::string_view consumer, int64_t sequence) = 0;
    // kAlreadyExists when the id is taken.
    virtual Status InsertWebhook(const core::Webhook& webhook) = 0;
    // Returns the new delivery's id; kAlreadyExists when the webhook already has a delivery of
    // that event.
    virtual Result<int64_t> InsertDelivery(const core::WebhookDelivery& delivery) = 0;
    // Stores everything but the ids, the event and created_at. kNotFound for an unknown one.
    virtual Status UpdateDelivery(const core::WebhookDelivery& delivery) = 0;

    // ---- Redemption limits, campaigns, tiers, member merges (issue 19) ----------------------
    // Replaces the program's limits (and its stores that do not accept points).
    virtual Status SetRedemptionLimits(std::string_view program_id,
                                       const core::RedemptionLimits& limits, Timestamp at) = 0;
    // kAlreadyExists when the id is taken.
    virtual Status InsertCampaign(const core::Campaign& campaign) = 0;
    // Stores the grant (its lot already inserted) and adds its points to the campaign's granted
    // points. kAlreadyExists when (campaign, grant id) is taken; kRuleViolation, writing
    // nothing, when the campaign's budget would be passed (the schema refuses it too).
    virtual Status InsertCampaignGrant(const core::CampaignGrant& grant) = 0;
    // Replaces the program's tiers; an empty schedule removes them.
    virtual Status SetTierSchedule(std::string_view program_id, const core::TierSchedule& schedule,
                                   Timestamp at) = 0;
    virtual Status SetHeldTier(std::string_view member_id, std::string_view program_id,
                               const core::HeldTier& held, Timestamp at) = 0;
    // Applies a merge planned by core::PlanMerge, atomically with the caller's other writes:
    // every row of plan.from_id (purchases, redemptions, entries, lots, balances, reservations,
    // campaign grants, held tiers, program memberships, offers sent) moves to plan.survivor_id,
    // its cards are revoked (at `at`) and point to the survivor, its sessions are deleted, its
    // unused password resets closed (used at `at`), its pending dispatch rows skipped (at `at`,
    // the reason naming the survivor), it is closed, and the merge is recorded with `actor` and
    // `summary`. The audit log, events, sync conflicts and dispatch rows keep the from id
    // (core/member_merge.hpp). Errors: kRuleViolation when the balances found differ from the
    // plan's (it was planned on other data).
    virtual Status MergeMembers(const core::MergePlan& plan, std::string_view actor,
                                std::string_view summary, Timestamp at) = 0;
    // ---- Store node sync (hub side) ---------------------------------------------------------
    // kAlreadyExists when (kind, value) is leased already.
    virtual Status InsertIdLease(const IdLease& lease) = 0;
    // kNotFound unless the store holds the lease; using a used lease again is kAlreadyExists.
    virtual Status UseIdLease(std::string_view kind, std::string_view value,
                              std::string_view store_id, Timestamp at) = 0;
    // kAlreadyExists when the store has a record of that event id.
    virtual Status InsertSyncRecord(const SyncRecord& record) = 0;
    // Returns the conflict's id.
    virtual Result<int64_t> InsertSyncConflict(const SyncConflict& conflict) = 0;
    // ---- Offer dispatch (issue 18) -------------------------------------------------------
    // kAlreadyExists when the id is taken.
    virtual Status InsertDispatch(const DispatchRun& run) = 0;
    // Stores everything but the id, options and creation. kNotFound for an unknown run.
    virtual Status UpdateDispatch(const DispatchRun& run) = 0;
    // kAlreadyExists when (run, member, channel) has a row.
    virtual Status InsertDispatchRecipient(const DispatchRecipient& recipient) = 0;
    // Stores state, attempts, next_attempt_at, updated_at and reason. kNotFound when missing.
    virtual Status UpdateDispatchRecipient(const DispatchRecipient& recipient) = 0;
    // Records the offer as sent; a second record of (member, offer, channel) is ignored. A
    // member merged away since the message was claimed (MergeMembers) has it recorded for the
    // member it was merged into, as the merge moved the earlier ones.
    virtual Status InsertSentOffer(const SentOffer& sent) = 0;
    // ---- Member self-care (migration 11) ----------------------------------------------------
    // Deletes one session (log-out); none to delete is fine.
    virtual Status DeleteSession(std::string_view token_hash) = 0;
    // Deletes every session of the member and returns their token digests.
    virtual Result<std::vector<std::string>> DeleteSessionsOf(std::string_view member_id) = 0;
    virtual Status InsertPasswordReset(const PasswordReset& reset) = 0;
    // Marks every unused reset of the member used at `at` (one was used, or the member left).
    virtual Status ClosePasswordResets(std::string_view member_id, Timestamp at) = 0;
    // Stores title, body, categories, validity, multiplier, withdrawn_at and updated_at.
    // kNotFound for an unknown offer.
    virtual Status UpdateOffer(const core::Offer& offer) = 0;
};

// Counters of the write path since the storage was opened, for /metrics and tests. With group
// commit, commits < write_units shows units sharing transactions (and fsyncs).
struct StorageStats {
    uint64_t write_units = 0;         // units of work run by Write
    uint64_t failed_write_units = 0;  // of which rolled back alone (their function failed)
    uint64_t commits = 0;             // transactions committed
    uint64_t failed_commits = 0;      // transactions lost whole (their units: kUnavailable)
    uint64_t largest_batch = 0;       // most units in one transaction
    uint64_t checkpoints = 0;         // write-ahead log checkpoints completed (SQLite)
    uint64_t log_restarts = 0;        // times the write-ahead log started again from its beginning
    uint64_t rerun_batches = 0;       // batches run again because a unit failed after writing
    // SQLite: syncs of the log made beside the writer; each covers every commit handed over
    // since the previous one, so log_syncs < commits shows commits sharing a sync.
    uint64_t log_syncs = 0;
    uint64_t log_sync_micros = 0;  // time spent in those syncs
    // SQLite: commits made while the previous commit's sync was still running (see
    // SqliteStorage): their frames were written while the disk synced.
    uint64_t commits_ahead = 0;
};

// How far a backup has got, in database pages copied of the total; called from the thread that
// runs the backup, now and then.
using BackupProgress = std::function<void(int64_t copied, int64_t total)>;

// What a backup wrote.
struct BackupInfo {
    std::string path;   // the file written
    int64_t bytes = 0;  // its size
    int schema_version = 0;
};

// What WriteAsync calls with the unit's outcome (what Write would have returned).
using WriteDone = std::function<void(Status)>;

class Storage {
  public:
    virtual ~Storage() = default;

    // Runs `work` atomically and durably (see the file comment). Returns work's error if it
    // failed (its writes rolled back), kUnavailable if the commit failed, else Ok after the
    // commit is on disk. Calling Write from inside a unit of work fails with kInternal.
    virtual Status Write(const std::function<Status(WriteTxn&)>& work) = 0;
    // Write without blocking the caller: queues `work` and returns at once; `done` is called
    // with the same outcome Write would return, after the commit, once, on a storage thread.
    // `done` must be quick and must not block or call Write (it delays the next batch): hand the
    // outcome to the caller's own executor. This is how a server answers many writes without a
    // thread parked per write. Backends without a queue run the unit and call `done` inline.
    virtual void WriteAsync(std::function<Status(WriteTxn&)> work, WriteDone done) {
        done(Write(work));
    }
    // Runs `work` on a consistent snapshot. Never waits for the writer.
    virtual Status Read(const std::function<Status(ReadTxn&)>& work) = 0;
    // Read, but only if it can start at once: none when every read connection is busy (then
    // `work` is not run), so that an event loop never waits (HubServer hands the request to its
    // workers instead). Backends without a pool of readers always answer none.
    virtual std::optional<Status> TryRead(const std::function<Status(ReadTxn&)>& work) {
        (void)work;
        return std::nullopt;
    }

    // Writes a consistent snapshot of the whole database to the file `path` (absolute, not yet
    // existing, in an existing directory) while reads and writes go on: into "<path>.partial"
    // (mode 0600), synced, then moved to `path`, so `path` never holds half a backup. The snapshot
    // holds every write acknowledged before the call. Errors: kInvalidArgument (a relative path, a
    // missing directory), kAlreadyExists, kUnavailable (cannot write it; nothing is left behind),
    // and kUnavailable from a backend that cannot back itself up.
    virtual Result<BackupInfo> Backup(const std::string& path, const BackupProgress& progress) {
        (void)path;
        (void)progress;
        return core::MakeError(core::ErrorCode::kUnavailable,
                               "the " + std::string(BackendName()) +
                                   " storage cannot make a backup itself; use its own tools");
    }

    // "sqlite" or "postgresql".
    virtual std::string_view BackendName() const = 0;
    // A snapshot of the counters; cheap, safe from any thread.
    virtual StorageStats Stats() const = 0;
};

struct StorageOptions {
    int read_connections = 4;
    int max_batch = 512;  // most write units in one group-commit transaction
    // SQLite: copy the write-ahead log back into the database every this many new pages
    // (4 KiB each), beside the writer; rounds far apart copy a hot page once for many commits
    // (lower purchase p99 and checkpointer CPU: bench/README.md). By default one round per log
    // restart.
    int checkpoint_pages = 128000;
    // SQLite: past this many pages the writer finishes a checkpoint itself between batches so
    // that the log restarts from its beginning (bounds the log file: 512 MiB by default).
    int log_restart_pages = 128000;
    // SQLite: once no commit has come for this long, copy what is left of the log into the
    // database (0: never), so that the next commit starts the log from its beginning instead of
    // leaving up to log_restart_pages in it. It did not change the usage figure of bench/README.md
    // Run 12; it is not a speed measure.
    int idle_checkpoint_ms = 250;
    // SQLite: the checkpointer syncs its copy into the database each time this many bytes have
    // been written to it (0: only where SQLite syncs, at the end of a checkpoint that copied the
    // whole log), so that no sync writes out a whole log cycle's copy at once (src/storage/
    // README.md, "Checkpoints"). Durable databases only.
    int checkpoint_sync_bytes = 1 << 20;
};

// ---- Maintenance of a database no hub has open (kizuna hub check / restore / backup) ----------

// One problem a check found. `kind` is "integrity" (the file's own structure), "foreign_key",
// "schema" (a version this binary cannot check), "ledger" (balances, entries, lots) or "record"
// (a purchase, redemption or refund out of step with its entries).
struct DatabaseFault {
    std::string kind;
    std::string detail;
};

struct DatabaseCheck {
    std::string path;
    int schema_version = 0;            // recorded in the database
    int supported_schema_version = 0;  // the newest this binary knows
    // Rows counted, for the report: members, purchases, redemptions, refunds, ledger entries.
    std::vector<std::pair<std::string, int64_t>> counts;
    // Every fault found, at most a few hundred of each kind; empty when the database is clean.
    std::vector<DatabaseFault> faults;
    // False when the file's state (unreadable, no or a newer schema) kept the ledger and record
    // checks from running.
    bool ledger_checked = false;
};

// Checks the database named by `url` ("sqlite://..."): the file's integrity, foreign keys, the
// schema version, and every ledger and record invariant. Reads only (a write-ahead log left by a
// crash is read, not merged; a file not yet in WAL mode gets the mode's flag in its header).
// Errors: kInvalidArgument for a URL of another backend or a file that does not exist, kUnavailable
// when a hub holds it (the message says so) or it cannot be opened as a database. Faults are not
// errors: they are in the result.
Result<DatabaseCheck> CheckDatabase(std::string_view url);

// Whether another process (a running hub) holds the database named by `url`; false when there
// is no database yet. Errors: kInvalidArgument for a URL of another backend.
Result<bool> DatabaseInUse(std::string_view url);

// Backs up the database named by `url` while no hub holds it, as Storage::Backup does.
Result<BackupInfo> BackupDatabase(std::string_view url, const std::string& path,
                                  const BackupProgress& progress);

struct RestoreInfo {
    std::string replaced_to;  // where the previous database was kept, empty if there was none
    DatabaseCheck check;      // the check of the backup, as restored
};

// Replaces the database named by `url` with the backup file `from`, while no hub holds it: the
// backup is copied beside the database, checked (CheckDatabase: any fault refuses it, and so
// does a schema newer than this binary's), synced, then renamed into place with mode 0600. The
// previous database (with its write-ahead log) is kept as "<name>.before-restore-<stamp>".
// Errors: kInvalidArgument (another backend, a missing backup file), kUnavailable (a hub holds
// the database, files cannot be written), kRuleViolation when the backup has faults
// (their list in the message). Nothing is replaced on any error.
Result<RestoreInfo> RestoreDatabase(std::string_view url, const std::string& from,
                                    std::string_view stamp);

// Opens (creating and migrating as needed) the storage named by `url`:
//   "sqlite:///abs/path/kizuna.db", "sqlite://relative/path.db", "sqlite::memory:" (tests)
//   "postgresql://..." (later)
// Errors: kInvalidArgument for an unknown scheme; kUnavailable when it cannot be opened.
Result<std::unique_ptr<Storage>> OpenStorage(std::string_view url, StorageOptions options = {});

}  // namespace kizuna::storage
