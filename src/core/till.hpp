#pragma once
// The till: a store's terminals and staff, its sale limits, and the rules a sale is checked by
// before it is booked (limits, the time it says it happened, the points it may use and earn).
// Pure: times come in as arguments.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

// One till of a store, with its own API key (only the key's digest is kept). Revoked keys stop
// authenticating; the terminal's id stays on what it recorded.
struct Terminal {
    std::string terminal_id;
    std::string store_id;
    std::string name;
    std::string key_hash;
    Timestamp created_at{};
    std::optional<Timestamp> revoked_at;
};

enum class StaffRole { kClerk, kManager };
std::string_view StaffRoleName(StaffRole role);  // "clerk", "manager"
Result<StaffRole> ParseStaffRole(std::string_view text, std::string_view field);

// A person who works a store's tills, identified by id and PIN (only the PIN's Argon2id hash).
struct StaffMember {
    std::string staff_id;
    std::string store_id;
    std::string name;
    StaffRole role = StaffRole::kClerk;
    std::string pin_hash;
    Timestamp created_at{};
    std::optional<Timestamp> removed_at;
};

// PINs: 4 to 12 ASCII digits.
Status ValidatePin(std::string_view pin, std::string_view field);

// A store's till settings; a store that never set them has the defaults.
struct TillSettings {
    int64_t max_sale_total = 10'000'000;    // minor units; above: a manager approves
    int64_t max_points_per_sale = 100'000;  // earned or used by one sale; above: a manager
    int64_t manager_refund_above = 10'000;  // refunds of more need a manager
    int utc_offset_minutes = 0;             // the business day's clock: UTC + this
};
// Errors: kInvalidArgument naming the field.
Status ValidateTillSettings(const TillSettings& settings);

// Where a purchase comes from: a till online (the live rules), or a store node pushing what it
// sold while offline (it may be of an earlier business day).
enum class PurchaseOrigin { kTill, kNodeSync };

// The business day containing `t` for a store at `utc_offset_minutes`: [start, end) in UTC.
struct BusinessDay {
    Timestamp start{};
    Timestamp end{};
    std::string date;  // YYYY-MM-DD, local
};
BusinessDay BusinessDayOf(Timestamp t, int utc_offset_minutes);
// The business day of a local date "YYYY-MM-DD". Errors: kInvalidArgument naming `field`.
Result<BusinessDay> BusinessDayOfDate(std::string_view date, int utc_offset_minutes,
                                      std::string_view field);

// How far ahead of the hub a till's clock may run.
inline constexpr std::chrono::minutes kMaxFutureSkew{5};

// A purchase's occurred_at is accepted up to kMaxFutureSkew after now; from a till it must also
// be no earlier than the card's issue time (no points for sales before the member had the card)
// and in the current business day. A store node's sync (kNodeSync) brings older sales, checked
// at the node, whose card the hub may have recorded only when the node pushed it.
// Errors: kRuleViolation naming "occurred_at".
Status CheckOccurredAt(Timestamp occurred_at, Timestamp card_issued_at, Timestamp now,
                       int utc_offset_minutes, PurchaseOrigin origin);

// What one sale is checked against. `manager_approved`: a manager's PIN came with the request.
// Errors: kRuleViolation naming the limit ("max_sale_total", "max_points_per_sale") and saying
// that a manager may approve it.
Status CheckSaleLimits(const TillSettings& settings, int64_t total, int64_t points_earned,
                       int64_t points_used, bool manager_approved);

// The money value of points at the till: 1 point = 1 minor unit unless the program sets a point
// value (the one place the conversion is made).
int64_t PointsValue(int64_t points);
// The most points whose value does not exceed `amount`.
int64_t PointsWorth(int64_t amount);

// Points are earned on what is paid in money: the points the lines earn by the rule, times the
// part of the total left to pay after points, rounded down. Exact for all bounded inputs.
int64_t PointsOnAmountPaid(int64_t points_on_lines, int64_t total, int64_t amount_due);

}  // namespace kizuna::core
