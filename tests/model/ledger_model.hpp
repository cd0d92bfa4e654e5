#pragma once
// LedgerModel: a small, deliberately plain re-implementation of the points rules as the README
// ("Points, in detail") and DESIGN.md document them, written without any of src/core's ledger
// or rule code, so that ledger_model_test can apply the same operations to the real hub and to
// this model and compare balances, lots, ledger entries and receipts after every step.
//
// What it models, in words:
// - A store's earning rule is versioned; a purchase earns by the version in effect when it
//   occurred (the latest that started at or before then; before the first version, that one):
//   the sum of each line's amount times its category multiplier, times the largest multiplier
//   of the bonus windows containing the moment, per amount_per_point, rounded once.
// - A purchase that earns points books an `earn` entry and a lot that expires validity_days
//   after the purchase. Balance = sum of entries = sum of what remains in the lots.
// - Expiry is booked by the expiry pass (every account) and, for the account concerned, before
//   a redemption and before a refund: every lot with points left whose expiry is at or before
//   now gives them up in an `expire` entry.
// - A redemption spends the lots that expire first (ties: the older lot); more than the balance
//   is refused and changes nothing, the expiries it would have booked included.
// - A refund's share of the purchase's points is proportional to the amount refunded, counted
//   cumulatively (floor(points x refunded / total) in all). Of the share, the purchase's points
//   that expired and earlier refunds have not counted yet count first, as `points_expired`,
//   and nothing is booked for them: expired points are gone and are never taken twice. The rest
//   comes from the purchase's own lot first, then from the soonest-expiring lots; what the
//   member has already spent is `points_unrecovered`, and the balance never goes below zero.
// - Ids are the store's own: every write is idempotent on (store, id): the same request again
//   returns the first answer and changes nothing; the id with anything else is an idempotency
//   conflict; another store's use of the same id is another request altogether. A store refunds
//   its own purchases only. A request that failed stored nothing, so its id is still free.
// - Limits (README "Points, in detail"): a purchase totals at most 10^12 and earns at most 10^12
//   points, a balance stays at most 10^15, a redemption or refund amount is 1 to 10^12.
//
// Thread-safety: none; one model per test sequence.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/earning_rule.hpp"
#include "core/error_code.hpp"
#include "hub/points_service.hpp"

namespace kizuna::model {

// Either a value or the error code the hub must answer with.
template <typename T>
struct Outcome {
    std::optional<T> value;
    core::ErrorCode error = core::ErrorCode::kInternal;

    static Outcome Ok(T v) { return Outcome{std::move(v), core::ErrorCode::kInternal}; }
    static Outcome Fail(core::ErrorCode code) { return Outcome{std::nullopt, code}; }
};

// A (member, program) pair: the balance belongs to it.
struct AccountKey {
    std::string member_id;
    std::string program_id;
    friend auto operator<=>(const AccountKey&, const AccountKey&) = default;
};

struct ModelLot {
    std::string store_id;
    std::string purchase_id;
    int64_t earned = 0;
    int64_t remaining = 0;
    int64_t expired = 0;  // points taken from it by expiry
    int64_t earned_at = 0;
    int64_t expires_at = 0;
};

struct ModelEntry {
    std::string kind;  // "earn", "redeem", "expire", "refund_reversal"
    int64_t delta = 0;
    std::string ref;  // purchase, redemption or refund id; for an expiry "lot:<store>/<purchase>"
    std::string store_id;
    friend auto operator<=>(const ModelEntry&, const ModelEntry&) = default;
};

struct ModelAccount {
    std::vector<ModelLot> lots;  // in the order they were earned
    std::vector<ModelEntry> entries;
    int64_t Balance() const;
};

class LedgerModel {
  public:
    // `cards` maps card numbers to member ids (cards are never revoked in the model).
    explicit LedgerModel(std::map<std::string, std::string> cards) : cards_(std::move(cards)) {}

    // A new store in `program_id` with the default rule (1 point per 100, floor, 365 days)
    // effective from `now`.
    void AddStore(const std::string& store_id, const std::string& program_id, int64_t now);
    // A new version effective now; its number, or kInvalidArgument when out of range.
    Outcome<int> SetRule(const std::string& store_id, core::EarningRule rule, int64_t now);

    Outcome<hub::PurchaseReceipt> Purchase(const std::string& store_id,
                                           const hub::PurchaseRequest& r, int64_t now);
    Outcome<hub::RedemptionReceipt> Redeem(const std::string& store_id,
                                           const hub::RedemptionRequest& r, int64_t now);
    Outcome<hub::RefundReceipt> Refund(const std::string& store_id, const hub::RefundRequest& r,
                                       int64_t now);
    // Books every due expiry of every account; returns the number of lots expired.
    int64_t RunExpiry(int64_t now);

    const std::map<AccountKey, ModelAccount>& accounts() const { return accounts_; }
    ModelAccount& account(const AccountKey& key) { return accounts_[key]; }
    // The account a store's purchase was booked to, if it was recorded.
    std::optional<AccountKey> AccountOfPurchase(const std::string& store_id,
                                                const std::string& purchase_id) const;
    // The model's own consistency (balance = sum of entries = sum of lots, nothing negative);
    // empty when all is well.
    std::vector<std::string> SelfCheck() const;

  private:
    struct Version {
        core::EarningRule rule;  // only the fields a client sets are used
        int version = 1;
        int64_t effective_from = 0;
    };
    struct StoreState {
        std::string program_id;
        std::vector<Version> versions;
    };
    struct PurchaseState {
        std::string store_id;
        hub::PurchaseRequest request;  // as sent, for replays
        hub::PurchaseReceipt receipt;  // the first answer
        AccountKey account;
        std::vector<core::PurchaseLine> lines;
        std::vector<int64_t> refunded_quantity;  // per line, by refunds that named lines
        int64_t total = 0;
        int64_t points = 0;
        std::optional<std::size_t> lot;  // index into the account's lots
        int64_t refunded_amount = 0;
        int64_t owed = 0;             // reversed + unrecovered + expired by its refunds so far
        int64_t counted_expired = 0;  // expired by its refunds so far
    };
    struct RedemptionState {
        std::string store_id;
        hub::RedemptionRequest request;
        hub::RedemptionReceipt receipt;
    };
    struct RefundState {
        std::string store_id;
        hub::RefundRequest request;
        hub::RefundReceipt receipt;
    };
    // (store id, client id): ids are unique per store.
    using IdKey = std::pair<std::string, std::string>;

    const Version& VersionAt(const StoreState& store, int64_t at) const;
    std::optional<std::string> MemberOf(const hub::MemberRef& ref) const;
    // Books the account's due expiries.
    int64_t BookExpiries(ModelAccount& account, int64_t now);

    std::map<std::string, std::string> cards_;
    std::map<std::string, StoreState> stores_;
    std::map<AccountKey, ModelAccount> accounts_;
    std::map<IdKey, PurchaseState> purchases_;
    std::map<IdKey, RedemptionState> redemptions_;
    std::map<IdKey, RefundState> refunds_;
};

// Points for `lines` at `at` by `rule`, computed from the README's description alone, exactly
// (beyond int64 too, so that a purchase past the limit is seen as such).
__int128 ModelPoints(const core::EarningRule& rule, const std::vector<core::PurchaseLine>& lines,
                     int64_t at);

}  // namespace kizuna::model
