#pragma once
// The SQLite implementation of ReadTxn and WriteTxn: domain reads and writes over one
// Connection, inside a transaction (or savepoint) that SqliteStorage opened around it.
// A read-only use hands this object out as a ReadTxn on a query_only connection.
// Internal to the SQLite backend. Thread-safety: none; it lives for one unit of work.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "storage/sqlite/connection.hpp"
#include "storage/storage.hpp"

namespace kizuna::storage::sqlite {

// The small helpers the SqliteTxn files share.

// Reads every row of `statement` with `read` (Statement& -> T, or -> Result<T> when reading a
// row can fail).
template <typename T, typename ReadRow>
Result<std::vector<T>> Collect(StatementLease& statement, ReadRow read) {
    std::vector<T> rows;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return rows;
        if constexpr (std::is_same_v<std::invoke_result_t<ReadRow&, Statement&>, Result<T>>) {
            KZ_ASSIGN_OR_RETURN(T value, read(*statement));
            rows.push_back(std::move(value));
        } else {
            rows.push_back(read(*statement));
        }
    }
}

// Prefixes a failed status with what this backend was doing, in domain words, built by
// `what()` only on failure: the writes of every purchase would otherwise allocate a message that
// is almost never read.
template <std::invocable Describe>
Status InContext(Status status, Describe&& what) {
    if (status.ok()) return status;
    return core::MakeError(status.error().code, what() + ": " + status.error().message);
}

// The same with words already at hand.
inline Status InContext(Status status, std::string_view what) {
    return InContext(std::move(status), [what] { return std::string(what); });
}

// A value in `column` this binary does not understand: kInternal, never the caller's fault.
inline core::Error Corrupt(std::string_view column, std::string_view value) {
    return core::MakeError(core::ErrorCode::kInternal, "unexpected value '" + std::string(value) +
                                                           "' in column " + std::string(column));
}

// Turns a parse error of a stored enum into Corrupt.
template <typename T>
Result<T> StoredEnum(Result<T> parsed, std::string_view column, const std::string& text) {
    if (!parsed.has_value()) return Corrupt(column, text);
    return parsed;
}

class SqliteTxn final : public WriteTxn {
  public:
    explicit SqliteTxn(Connection& connection) : connection_(connection) {}

    Result<std::optional<core::Member>> FindMember(std::string_view member_id) override;
    Result<bool> MemberExists(std::string_view member_id) override;
    Result<std::optional<core::Member>> FindMemberByEmail(std::string_view email) override;
    Result<std::vector<core::Member>> FindMembersByPhone(std::string_view phone) override;

    Result<std::optional<core::Card>> FindCard(std::string_view card_number) override;
    Result<std::vector<core::Card>> CardsOf(std::string_view member_id) override;
    Result<std::optional<MemberStanding>> StandingOf(std::string_view member_id) override;

    Result<std::optional<core::Program>> FindProgram(std::string_view program_id) override;
    Result<std::optional<core::Store>> FindStore(std::string_view store_id) override;
    Result<std::optional<core::Store>> FindStoreByKeyHash(std::string_view hash) override;
    Result<std::vector<core::Store>> ListStores() override;
    Result<std::vector<core::Program>> ListPrograms() override;
    Result<std::vector<core::EarningRule>> RuleVersions(std::string_view store_id) override;

    Result<std::optional<core::Purchase>> FindPurchase(std::string_view store_id,
                                                       std::string_view purchase_id) override;
    Result<std::vector<core::Purchase>> PurchasesOf(std::string_view member_id,
                                                    std::optional<std::string_view> program_id,
                                                    int limit) override;
    Result<PurchasePage> PurchasePageOf(std::string_view member_id,
                                        const PurchasePageRequest& request) override;
    Result<std::optional<core::Redemption>> FindRedemption(std::string_view store_id,
                                                           std::string_view id) override;
    Result<std::optional<core::Refund>> FindRefund(std::string_view store_id,
                                                   std::string_view refund_id) override;
    Result<std::vector<core::Refund>> RefundsOf(std::string_view store_id,
                                                std::string_view purchase_id) override;

    Result<std::vector<Balance>> BalancesOf(std::string_view member_id) override;
    Result<std::optional<int64_t>> FindBalance(std::string_view member_id,
                                               std::string_view program_id) override;
    Result<std::vector<core::LedgerEntry>> EntriesOf(std::string_view member_id,
                                                     std::optional<std::string_view> program_id,
                                                     Page page) override;
    Result<std::vector<core::Lot>> OpenLots(std::string_view member_id,
                                            std::string_view program_id) override;
    Result<std::vector<core::Lot>> ExpiredOpenLots(Timestamp now, int limit) override;

    Result<std::optional<core::Offer>> FindOffer(std::string_view offer_id) override;
    Result<std::vector<core::Offer>> CurrentOffers(
        Timestamp now, const std::vector<std::string>& store_ids) override;

    Result<std::optional<MemberSession>> FindSession(std::string_view token_hash) override;
    Result<std::optional<PasswordReset>> FindPasswordReset(std::string_view token_hash) override;
    Result<std::vector<PurchaseRefund>> RefundsOfPurchasesBetween(std::string_view member_id,
                                                                  Timestamp from,
                                                                  Timestamp to) override;
    Result<std::vector<core::Store>> StoresWithIds(const std::vector<std::string>& ids) override;
    Result<std::vector<core::Program>> ProgramsWithIds(
        const std::vector<std::string>& ids) override;
    Result<std::vector<core::Offer>> MultiplierOffersOf(std::string_view store_id,
                                                        Timestamp since) override;
    Result<std::vector<AuditRecord>> AuditOf(std::string_view member_id) override;

    // Settlement (sqlite_settlement.cpp).
    Result<std::vector<core::ProgramEconomics>> EconomicsVersions(
        std::string_view program_id) override;
    Result<std::vector<SettlementTotal>> SettlementTotals(std::string_view program_id,
                                                          int64_t first_day,
                                                          int64_t last_day) override;
    Result<int64_t> OutstandingBefore(std::string_view program_id, int64_t day) override;
    Result<std::vector<core::LedgerEntry>> LateEntries(std::string_view program_id,
                                                       int64_t first_day, int64_t last_day,
                                                       std::optional<std::string_view> store_id,
                                                       int limit) override;
    Result<std::optional<SettlementClosing>> FindClosing(std::string_view program_id,
                                                         core::Period period) override;
    Status InsertEconomics(const core::ProgramEconomics& economics) override;
    Status InsertClosing(const SettlementClosing& closing) override;
    Result<std::optional<core::Terminal>> FindTerminalByKeyHash(std::string_view hash) override;
    Result<std::optional<core::Terminal>> FindTerminal(std::string_view terminal_id) override;
    Result<std::vector<core::Terminal>> TerminalsOf(std::string_view store_id) override;
    Result<std::optional<core::StaffMember>> FindStaff(std::string_view staff_id) override;
    Result<std::vector<core::StaffMember>> StaffOf(std::string_view store_id) override;
    Result<std::optional<core::TillSettings>> FindTillSettings(std::string_view store_id) override;
    Result<std::vector<core::PointsDrawn>> PointsDrawnBy(std::string_view store_id,
                                                         std::string_view purchase_id) override;
    Result<bool> OtherStoreHasPurchase(std::string_view program_id, std::string_view store_id,
                                       std::string_view purchase_id) override;
    Result<std::vector<core::Purchase>> StorePurchasesBetween(std::string_view store_id,
                                                              Timestamp from,
                                                              Timestamp to) override;
    Result<std::vector<core::LedgerEntry>> StoreEntriesBetween(std::string_view store_id,
                                                               Timestamp from,
                                                               Timestamp to) override;

    Result<std::vector<std::string>> CheckLedgerInvariants() override;
    Result<std::vector<std::string>> CheckRecordInvariants() override;

    Status InsertMember(const core::Member& member) override;
    Status UpdateMember(const core::Member& member) override;
    Status InsertCard(const core::Card& card) override;
    Status RevokeCard(std::string_view card_number, Timestamp at) override;

    Status InsertProgram(const core::Program& program) override;
    Status InsertStore(const core::Store& store) override;
    Status InsertRuleVersion(const core::EarningRule& rule) override;

    Status InsertPurchase(const core::Purchase& purchase) override;
    Status InsertRedemption(const core::Redemption& redemption) override;
    Status InsertRefund(const core::Refund& refund) override;

    Result<int64_t> InsertLot(const core::Lot& lot) override;
    Status DrawFromLot(const core::LotDraw& draw) override;
    Status ExpireFromLot(const core::LotDraw& draw) override;
    Result<int64_t> AppendEntry(const core::LedgerEntry& entry) override;

    Status RestoreToLot(const core::LotDraw& draw) override;
    Status MarkPurchaseVoided(const core::Purchase& purchase) override;
    Status InsertTerminal(const core::Terminal& terminal) override;
    Status RevokeTerminal(std::string_view terminal_id, Timestamp at) override;
    Status InsertStaff(const core::StaffMember& staff) override;
    Status RemoveStaff(std::string_view staff_id, Timestamp at) override;
    Status PutTillSettings(std::string_view store_id, const core::TillSettings& settings) override;

    Status InsertOffer(const core::Offer& offer) override;
    Status InsertSession(const MemberSession& session) override;
    Status DeleteExpiredSessions(Timestamp now) override;
    Status DeleteSession(std::string_view token_hash) override;
    Result<std::vector<std::string>> DeleteSessionsOf(std::string_view member_id) override;
    Status InsertPasswordReset(const PasswordReset& reset) override;
    Status ClosePasswordResets(std::string_view member_id, Timestamp at) override;
    Status UpdateOffer(const core::Offer& offer) override;
    Status InsertAudit(const AuditRecord& record) override;

    // ---- Reservations, events and webhooks (store <-> online shop) -------------------------
    Result<std::optional<core::Reservation>> FindReservation(
        std::string_view created_by, std::string_view reservation_id) override;
    Result<std::vector<core::Reservation>> ReservationsWithId(
        std::string_view reservation_id) override;
    Result<std::vector<core::Reservation>> ReservationsOf(
        std::string_view member_id, std::optional<std::string_view> program_id, int limit) override;
    Result<std::vector<Event>> EventsAfter(int64_t after, int limit) override;
    Result<std::optional<Event>> FindEvent(int64_t sequence) override;
    Result<int64_t> LastEventSequence() override;
    Result<int64_t> EventCursor(std::string_view consumer) override;
    Result<std::vector<std::string>> ProgramsOfMember(std::string_view member_id) override;
    Result<std::optional<core::Webhook>> FindWebhook(std::string_view webhook_id) override;
    Result<std::vector<core::Webhook>> WebhooksOfStore(std::string_view store_id) override;
    Result<std::vector<core::Webhook>> WebhooksOfProgram(std::string_view program_id) override;
    Result<std::optional<core::WebhookDelivery>> FindDelivery(int64_t delivery_id) override;
    Result<std::vector<core::WebhookDelivery>> DeliveriesOf(std::string_view webhook_id, int limit,
                                                            std::optional<int64_t> before) override;
    Result<std::vector<core::WebhookDelivery>> DueDeliveries(Timestamp now, int limit) override;
    Status InsertReservation(const core::Reservation& reservation) override;
    Status UpdateReservation(const core::Reservation& reservation) override;
    Result<int64_t> AppendEvent(const Event& event) override;
    Status SetEventCursor(std::string_view consumer, int64_t sequence) override;
    Status InsertWebhook(const core::Webhook& webhook) override;
    Result<int64_t> InsertDelivery(const core::WebhookDelivery& delivery) override;
    Status UpdateDelivery(const core::WebhookDelivery& delivery) override;

    // ---- Redemption limits, campaigns, tiers, member merges (issue 19): loyalty_txn.cpp -----
    Result<core::RedemptionLimits> RedemptionLimitsOf(std::string_view program_id) override;
    Result<int64_t> RedeemedBetween(std::string_view member_id, std::string_view program_id,
                                    Timestamp from, Timestamp to) override;
    Result<std::optional<core::Campaign>> FindCampaign(std::string_view campaign_id) override;
    Result<std::optional<core::CampaignGrant>> FindCampaignGrant(
        std::string_view campaign_id, std::string_view grant_id) override;
    Result<std::vector<core::CampaignGrant>> GrantsOfCampaign(std::string_view campaign_id,
                                                              int limit) override;
    Result<core::TierSchedule> TierScheduleOf(std::string_view program_id) override;
    Result<std::optional<core::HeldTier>> HeldTierOf(std::string_view member_id,
                                                     std::string_view program_id) override;
    Result<int64_t> TierValueOf(std::string_view member_id, std::string_view program_id,
                                core::TierBasis basis, Timestamp from, Timestamp to) override;
    Result<std::optional<core::MemberHoldings>> HoldingsOf(std::string_view member_id) override;
    Result<std::optional<std::string>> MergedInto(std::string_view member_id) override;
    Status SetRedemptionLimits(std::string_view program_id, const core::RedemptionLimits& limits,
                               Timestamp at) override;
    Status InsertCampaign(const core::Campaign& campaign) override;
    Status InsertCampaignGrant(const core::CampaignGrant& grant) override;
    Status SetTierSchedule(std::string_view program_id, const core::TierSchedule& schedule,
                           Timestamp at) override;
    Status SetHeldTier(std::string_view member_id, std::string_view program_id,
                       const core::HeldTier& held, Timestamp at) override;
    Status MergeMembers(const core::MergePlan& plan, std::string_view actor,
                        std::string_view summary, Timestamp at) override;
    // Store node sync (sync_txn.cpp).
    Result<std::optional<IdLease>> FindIdLease(std::string_view kind,
                                               std::string_view value) override;
    Result<std::optional<SyncRecord>> FindSyncRecord(std::string_view store_id,
                                                     std::string_view event_id) override;
    Result<std::vector<SyncConflict>> SyncConflicts(std::optional<std::string_view> store_id,
                                                    int64_t after, int limit) override;
    Result<std::vector<Event>> ProgramEventsAfter(std::string_view program_id, int64_t after,
                                                  int limit) override;
    Result<std::vector<std::string>> RevokedCardsOfProgram(std::string_view program_id) override;
    Status InsertIdLease(const IdLease& lease) override;
    Status UseIdLease(std::string_view kind, std::string_view value, std::string_view store_id,
                      Timestamp at) override;
    Status InsertSyncRecord(const SyncRecord& record) override;
    Result<int64_t> InsertSyncConflict(const SyncConflict& conflict) override;
    // ---- Offer dispatch (issue 18): sqlite_dispatch_txn.cpp ------------------------------
    Result<std::optional<DispatchRun>> FindDispatch(std::string_view dispatch_id) override;
    Result<std::vector<DispatchRun>> ListDispatches(int limit) override;
    Result<std::vector<DispatchRun>> UnfinishedDispatches() override;
    Result<std::vector<DispatchStateCount>> DispatchStateCounts(
        std::string_view dispatch_id) override;
    Result<std::vector<DispatchRecipient>> DispatchRecipients(
        std::string_view dispatch_id, std::string_view channel,
        std::optional<std::pair<std::string, std::string>> after, int limit) override;
    Result<std::vector<DispatchRecipient>> DispatchRecipientsInState(std::string_view dispatch_id,
                                                                     std::string_view channel,
                                                                     std::string_view state,
                                                                     Timestamp now,
                                                                     int limit) override;
    Result<std::optional<Timestamp>> NextDispatchAttempt(std::string_view dispatch_id) override;
    Result<std::vector<DispatchMember>> DispatchMembersAfter(std::string_view after,
                                                             int limit) override;
    Result<std::vector<PurchaseSpend>> PurchaseSpendBetween(std::string_view first,
                                                            std::string_view last,
                                                            Timestamp since) override;
    Result<std::vector<SentOffer>> SentOffersBetween(std::string_view first,
                                                     std::string_view last) override;
    Result<std::vector<OpenLotSummary>> OpenLotsBetween(std::string_view first,
                                                        std::string_view last) override;
    Result<std::vector<MemberProgram>> MemberProgramsBetween(std::string_view first,
                                                             std::string_view last) override;
    Status InsertDispatch(const DispatchRun& run) override;
    Status UpdateDispatch(const DispatchRun& run) override;
    Status InsertDispatchRecipient(const DispatchRecipient& recipient) override;
    Status UpdateDispatchRecipient(const DispatchRecipient& recipient) override;
    Status InsertSentOffer(const SentOffer& sent) override;

    // The SQL of the reads behind a member's usage (the hub's most frequent request), for the
    // test that checks SQLite answers each from an index, in index order, without sorting.
    static std::vector<std::string_view> UsageQueries();

  private:
    // Adds an appended entry to its program's settlement totals (sqlite_settlement.cpp).
    Status BookSettlement(const core::LedgerEntry& entry, int64_t entry_id);
    // For CheckLedgerInvariants: every (program, store, kind) whose settlement totals differ
    // from its ledger entries (points in, points out, count).
    Result<std::vector<std::string>> CheckSettlementTotals();
    // For CheckRecordInvariants: every campaign grant whose adjustment entry or lot is missing or
    // disagrees with it, and every campaign whose granted points differ from its grants' sum.
    Result<std::vector<std::string>> CheckCampaignRecords();
    Status InsertOfferCategories(const core::Offer& offer);
    Result<std::vector<core::Member>> QueryMembers(std::string_view sql, std::string_view key);
    Result<std::vector<core::Store>> QueryStores(std::string_view sql,
                                                 std::optional<std::string_view> key);
    // Groups the joined rows of KZ_PURCHASE_LINE_COLUMNS into purchases in the query's order,
    // stopping after `max_purchases`.
    Result<std::vector<core::Purchase>> QueryPurchases(
        StatementLease& statement, std::size_t max_purchases = static_cast<std::size_t>(-1));
    Result<std::vector<core::Offer>> QueryOffers(StatementLease& statement);
    Result<std::vector<core::Lot>> QueryLots(StatementLease& statement);
    Result<std::vector<core::Reservation>> QueryReservations(StatementLease& statement);
    Result<std::vector<core::Webhook>> QueryWebhooks(StatementLease& statement);
    Result<std::vector<core::WebhookDelivery>> QueryDeliveries(StatementLease& statement);

    Connection& connection_;
};

}  // namespace kizuna::storage::sqlite
