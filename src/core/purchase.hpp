#pragma once
// Purchases (the seed's purchase history, [0032]), redemptions and refunds. Each carries a
// client-generated id that is its idempotency key.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

struct PurchaseLine {
    std::string name;        // required, 1..200 characters
    std::string sku;         // optional
    std::string category;    // optional; matched against category multipliers
    int64_t quantity = 1;    // 1..kMaxLineQuantity (core/limits.hpp)
    int64_t unit_price = 0;  // minor units, 0..kMaxUnitPrice

    int64_t Amount() const { return quantity * unit_price; }
    friend bool operator==(const PurchaseLine&, const PurchaseLine&) = default;
};

// Points of a lot spent as payment at a till, and the lot's expiry then.
struct PointsDrawn {
    int64_t lot_id = 0;
    int64_t points = 0;
    friend bool operator==(const PointsDrawn&, const PointsDrawn&) = default;
};

struct Purchase {
    std::string purchase_id;
    std::string member_id;
    std::string card_number;  // the card presented, if any
    std::string store_id;
    std::string program_id;
    Timestamp occurred_at{};
    Timestamp recorded_at{};
    std::string currency;
    std::vector<PurchaseLine> lines;
    int64_t total = 0;
    int64_t points_earned = 0;
    int rule_version = 0;
    int64_t balance_after = 0;   // the balance returned in the first answer
    std::string fingerprint;     // digest of the request, to refuse a replay with another body
    int64_t points_expired = 0;  // of points_earned, how many expired unspent (see ledger.hpp)
    // The till (issue 17): who rang it up (empty terminal: the store's own key; empty staff:
    // nobody identified), the points used as payment and their value, and the lots they came
    // from (so that a void puts them back where they were, with their expiry).
    std::string terminal_id;
    std::string staff_id;
    int64_t points_used = 0;
    int64_t points_value = 0;  // minor units the points paid; total - points_value was due
    // Stored by InsertPurchase; reading a purchase leaves it empty (ReadTxn::PointsDrawnBy).
    std::vector<PointsDrawn> points_drawn;
    // A void (the same business day, by the store) undoes the sale's points exactly.
    std::optional<Timestamp> voided_at;
    std::string void_terminal_id;
    std::string void_staff_id;
    int64_t void_balance_after = 0;
};

struct Redemption {
    std::string redemption_id;
    std::string member_id;
    std::string store_id;
    std::string program_id;
    int64_t points = 0;
    Timestamp occurred_at{};
    int64_t balance_after = 0;
    std::string fingerprint;
    std::string terminal_id;  // empty: the store's own key
    std::string staff_id;     // empty: nobody identified
};

// One purchase line taken back by a refund that named lines. Kept with the refund so later
// refunds of the same line are checked against what was already returned.
struct RefundedLine {
    int purchase_line = 0;  // index into Purchase::lines (0-based, in the purchase's line order)
    int64_t quantity = 0;   // 1..the line's quantity
    int64_t amount = 0;     // quantity × the line's unit price, minor units

    friend bool operator==(const RefundedLine&, const RefundedLine&) = default;
};

struct Refund {
    std::string refund_id;
    std::string purchase_id;
    std::string store_id;
    int64_t amount = 0;              // refunded amount in minor units
    int64_t points_reversed = 0;     // taken back from the balance
    int64_t points_unrecovered = 0;  // owed by the refund but already spent (see ledger.hpp)
    Timestamp occurred_at{};
    int64_t balance_after = 0;
    std::string fingerprint;
    // The purchase lines returned, in request order; empty for a refund given as an amount only.
    // Their amounts add up to `amount` when present.
    std::vector<RefundedLine> lines;
    int64_t points_expired = 0;  // owed by the refund but already expired: nothing booked
    std::string terminal_id;     // empty: the store's own key
    std::string staff_id;        // empty: nobody identified
};

// Ids chosen by clients: 1..64 characters of [A-Za-z0-9._:-]. Unique per store: each store
// numbers its purchases, redemptions and refunds as it likes.
Status ValidateClientId(std::string_view id, std::string_view field);
// Lines: 1..500 lines, each valid, totalling at most kMaxPurchaseTotal (core/limits.hpp).
// Errors: kInvalidArgument naming the field, like "lines[2].name" ("lines" for the total).
Status ValidateLines(const std::vector<PurchaseLine>& lines);
int64_t TotalOf(const std::vector<PurchaseLine>& lines);

// A canonical text form of the fields that define a request, for the idempotency fingerprint
// (hashed outside core). Two requests with equal canonical forms are the same request. Fields
// are length-prefixed, so no content can blur two fields together. Only what the client sends
// counts: purchase id, member id, card number, store, occurred_at, currency and lines for a
// purchase; id, member, store and points for a redemption; id, purchase, store, amount and the
// refunded lines for a refund (as the client named them, by sku or name and quantity, not the
// purchase lines they resolved to, which are a result). Server-side values (times of recording,
// results) are left out, so a replay computed at another moment still matches.
std::string CanonicalPurchase(const Purchase& p);
std::string CanonicalRedemption(const Redemption& r);
std::string CanonicalRefund(const Refund& r, const std::vector<PurchaseLine>& refunded_lines);

}  // namespace kizuna::core
