#pragma once
// Points use cases: purchases (seed function 3), redemptions, refunds, the expiry pass. All are
// idempotent on their client-generated id: a replay with the same body returns the first answer
// with `replayed` set and changes nothing; a replay with another body is kIdempotencyConflict.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/purchase.hpp"
#include "core/result.hpp"
#include "core/till.hpp"
#include "core/time.hpp"
#include "hub/caller.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext;

// Members are named by member_id or by card_number (exactly one).
struct MemberRef {
    std::string member_id;
    std::string card_number;
};

struct PurchaseRequest {
    std::string purchase_id;
    MemberRef member;
    std::optional<core::Timestamp> occurred_at;  // none: now
    std::string currency;                        // empty: the store's
    std::vector<core::PurchaseLine> lines;
    // Points used as payment, in the same unit of work (all or nothing): a number, or all the
    // member has (as far as the total and the store's max_points_per_sale allow).
    std::optional<int64_t> points_used;
    bool use_all_points = false;
    // A till online, or a store node's sync (which may book sales of earlier business days).
    core::PurchaseOrigin origin = core::PurchaseOrigin::kTill;
    // Fill the receipt's line points and next expiry (one more read of the member's lots).
    bool receipt_details = false;
};

// The points that expire first after the purchase.
struct NextExpiry {
    int64_t points = 0;
    core::Timestamp at{};
};

struct PurchaseReceipt {
    std::string purchase_id;
    std::string member_id;
    int64_t total = 0;
    int64_t points_earned = 0;
    int64_t balance = 0;
    std::string program_id;
    bool replayed = false;
    // Offline sales (OfflineOptions::accept_revoked_card): the card named was revoked at or
    // before occurred_at, and the sale was booked all the same.
    bool revoked_card = false;
    int64_t points_used = 0;
    int64_t points_value = 0;  // what the points paid, minor units
    int64_t amount_due = 0;    // total - points_value: left to pay in money
    std::string currency;
    std::vector<int64_t> line_points;       // receipt_details: each line's points by the rule
    std::optional<NextExpiry> next_expiry;  // receipt_details, when points remain
};

// Undoes a purchase's points exactly (the same business day, by the store that made it).
struct VoidRequest {
    std::string purchase_id;
};

struct VoidReceipt {
    std::string purchase_id;
    std::string member_id;
    int64_t points_reversed = 0;  // earned points taken back
    int64_t points_restored = 0;  // used points given back, to the lots they came from
    int64_t balance = 0;
    core::Timestamp voided_at{};
    bool replayed = false;
};

struct RedemptionRequest {
    std::string redemption_id;
    MemberRef member;
    int64_t points = 0;
};

struct RedemptionReceipt {
    std::string redemption_id;
    std::string member_id;
    int64_t points = 0;
    int64_t balance = 0;
    std::string program_id;
    bool replayed = false;
    // Offline redemptions (OfflineOptions::redeem_what_is_there): points asked for that the
    // balance did not hold at sync; `points` is what was booked.
    int64_t points_short = 0;
};

struct RefundRequest {
    std::string refund_id;
    std::string purchase_id;
    std::optional<int64_t> amount;          // exactly one of amount and lines
    std::vector<core::PurchaseLine> lines;  // sku or name + quantity; unit price from the purchase
};

struct RefundReceipt {
    std::string refund_id;
    std::string purchase_id;
    int64_t amount = 0;
    int64_t points_reversed = 0;
    int64_t points_unrecovered = 0;
    int64_t points_expired = 0;  // of the refund's share, points that had expired: not taken
    int64_t balance = 0;
    bool replayed = false;
};

// How a store node's offline event differs from the online request (SyncService).
struct OfflineOptions {
    // When the node recorded it; kept on the redemption or refund and its ledger entry (a
    // purchase has its own occurred_at). None: now.
    std::optional<core::Timestamp> occurred_at;
    // A purchase by a card revoked since is booked (receipt.revoked_card when the card was
    // revoked by the time of the sale) instead of kCardRevoked.
    bool accept_revoked_card = false;
    // A redemption larger than the balance books what the balance holds (receipt.points_short)
    // instead of kInsufficientPoints; the balance never goes below zero.
    bool redeem_what_is_there = false;
};

// A write planned on the calling thread, run by the caller inside its own unit of work (with
// whatever must commit with it). Like any unit it may run more than once; the last run counts.
template <typename Receipt>
using WriteUnit = std::function<core::Result<Receipt>(storage::WriteTxn&)>;

class PointsService {
  public:
    explicit PointsService(HubContext& context) : context_(context) {}

    // Stores only. Earns by the store's rule in effect at occurred_at, into a lot expiring
    // validity_days later. Errors: kInvalidArgument, kNotFound (member/card), kCardRevoked,
    // kIdempotencyConflict, kRuleViolation (currency mismatch, occurred_at in the future).
    core::Result<PurchaseReceipt> RecordPurchase(const Caller& caller, const PurchaseRequest& r);
    // RecordPurchase without blocking: validates and computes on the calling thread, queues the
    // write and returns; `done` gets the outcome once the write is durable (or at once when the
    // request is refused before any write), possibly on a storage thread, so it must be quick.
    using PurchaseDone = std::function<void(core::Result<PurchaseReceipt>)>;
    void RecordPurchaseAsync(const Caller& caller, const PurchaseRequest& r, PurchaseDone done);
    // Stores only. Books due expiries first, then spends the soonest-expiring lots.
    // Errors: kInsufficientPoints (balance unchanged), and as above.
    core::Result<RedemptionReceipt> Redeem(const Caller& caller, const RedemptionRequest& r);
    // Redeem without blocking, as RecordPurchaseAsync.
    using RedemptionDone = std::function<void(core::Result<RedemptionReceipt>)>;
    void RedeemAsync(const Caller& caller, const RedemptionRequest& r, RedemptionDone done);
    // Stores only, of their own purchases. See the refund policy in core/ledger.hpp.
    // Errors: kNotFound (purchase), kRuleViolation (more than was bought), and as above.
    core::Result<RefundReceipt> Refund(const Caller& caller, const RefundRequest& r);
    // Refund without blocking, as RecordPurchaseAsync.
    using RefundDone = std::function<void(core::Result<RefundReceipt>)>;
    void RefundAsync(const Caller& caller, const RefundRequest& r, RefundDone done);
    // The units of work of RecordPurchase, Redeem and Refund, for an offline event a store node
    // pushes: checked and planned now (errors as above), written by the caller.
    core::Result<WriteUnit<PurchaseReceipt>> PreparePurchase(const Caller& caller,
                                                             const PurchaseRequest& r,
                                                             const OfflineOptions& offline);
    core::Result<WriteUnit<RedemptionReceipt>> PrepareRedemption(const Caller& caller,
                                                                 const RedemptionRequest& r,
                                                                 const OfflineOptions& offline);
    core::Result<WriteUnit<RefundReceipt>> PrepareRefund(const Caller& caller,
                                                         const RefundRequest& r,
                                                         const OfflineOptions& offline);
    // Stores with manager rights, of their own purchases, the business day of the sale (store's
    // utc_offset_minutes). Errors: kNotFound, kForbidden (another store's purchase; no manager),
    // kRuleViolation (another day; refunded; points spent or expired since).
    core::Result<VoidReceipt> Void(const Caller& caller, const VoidRequest& r);
    using VoidDone = std::function<void(core::Result<VoidReceipt>)>;
    void VoidAsync(const Caller& caller, const VoidRequest& r, VoidDone done);
    // Books `expire` entries for every lot due at now. Returns how many lots expired.
    core::Result<int64_t> RunExpiry();

  private:
    // Each write is planned first (everything that needs no lock on the ledger: checks,
    // points, fingerprints, texts), on the caller's thread; its Apply is the unit of work.
    struct PurchasePlan;
    struct RedemptionPlan;
    struct RefundPlan;
    struct VoidPlan;
    core::Result<std::shared_ptr<PurchasePlan>> PlanPurchase(const Caller& caller,
                                                             const PurchaseRequest& r);
    core::Result<std::shared_ptr<RedemptionPlan>> PlanRedemption(const Caller& caller,
                                                                 const RedemptionRequest& r);
    core::Result<std::shared_ptr<RefundPlan>> PlanRefund(const Caller& caller,
                                                         const RefundRequest& r);
    core::Result<std::shared_ptr<VoidPlan>> PlanVoid(const Caller& caller, const VoidRequest& r);

    HubContext& context_;
};

}  // namespace kizuna::hub
