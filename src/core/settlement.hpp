#pragma once
// Coalition economics: what a program's points are worth, what issuing them costs, and the
// statement per store per period that settles the money between the stores and the program.
// Pure arithmetic, no I/O: storage hands in the point totals, this computes every figure.
//
// Parties. Each store of the program, plus the operator (store_id empty) for entries no store
// caused (adjustments by the operator, campaign points it grants). The program holds the value
// of the points outstanding (the deposit, 預り金) and keeps the fees and, by policy, breakage.
//
// Per party, in minor units of the program's currency (v = the point value of the period):
//   issued_value   = v * points_issued        the party pays it into the deposit
//   fees           = floor(issued_value * fee_bp / 10000)   stores only; the operator pays none
//   redeemed_value = v * points_redeemed      the program pays it to the party that accepted them
//   reversed_value = v * points_reversed      refund reversals: the points leave the deposit and
//                                             their value goes back to the store that reversed
//   expired_value  = v * points_expired       expiry (entries name the issuing store)
//   breakage_returned = expired_value under the "issuers" policy (stores only), else 0
//   net = issued_value + fees - redeemed_value - reversed_value - breakage_returned
//   net > 0: the party pays the program; net < 0: the program pays the party.
// For the program:
//   deposit_change = v * (closing_points - opening_points)
//   breakage_kept  = sum(expired_value) - sum(breakage_returned)
//   kept           = sum(fees) + breakage_kept
// The identity every statement satisfies exactly (CheckBalanced):
//   sum(net) - deposit_change - kept = 0
// because closing_points - opening_points = sum(issued - redeemed - reversed - expired).
//
// The one rounding rule: the fee is the only figure that is not an exact product, and it is
// rounded down (in the store's favour) once per (store, period) on the period's issued value,
// never per entry. Everything else is an integer product.
//
// Periods are calendar months in Japan time (UTC+9, no daylight saving), "YYYY-MM". An entry
// counts in the period of its booking day: the day (Japan time) the hub booked it into the
// ledger (recorded_at), never the day it occurred at the store, so a store node's week of
// offline sales lands in the open period with its original dates, and a closed period never
// changes.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ledger.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

// A calendar month in Japan time.
struct Period {
    int year = 1970;
    int month = 1;  // 1..12
    friend auto operator<=>(const Period&, const Period&) = default;
};

// "2026-11": years 1970..9999. Errors: kInvalidArgument naming `field`.
Result<Period> ParsePeriod(std::string_view text, std::string_view field);
std::string FormatPeriod(Period period);
Period NextPeriod(Period period);
Period PreviousPeriod(Period period);

// Days since 1970-01-01 in Japan time (UTC+9): the booking day of something booked at `t`.
int64_t SettlementDay(Timestamp t);
Period PeriodOfDay(int64_t day);
inline Period PeriodOf(Timestamp t) { return PeriodOfDay(SettlementDay(t)); }
int64_t FirstDayOf(Period period);
int64_t LastDayOf(Period period);
// The instant the period ends (its first second after): a period may be closed from then on.
Timestamp EndOf(Period period);

enum class BreakagePolicy { kOperator, kIssuers };
std::string_view BreakagePolicyName(BreakagePolicy policy);  // "operator" / "issuers"
Result<BreakagePolicy> ParseBreakagePolicy(std::string_view text, std::string_view field);

inline constexpr int64_t kMaxPointValue = 1'000'000;   // minor units per point
inline constexpr int64_t kMaxFeeBasisPoints = 10'000;  // 100 %

// A program's economics, versioned: version N applies to every period from effective_from on,
// until a later version's effective_from (the newest decision wins from its own period on).
struct ProgramEconomics {
    std::string program_id;
    int version = 0;  // 0: the default, never stored
    Period effective_from{};
    int64_t point_value = 1;     // minor units of the currency per point (1 point = ¥1)
    int64_t issuing_fee_bp = 0;  // basis points of the issued value (300 = 3 %)
    BreakagePolicy breakage = BreakagePolicy::kOperator;
    Timestamp created_at{};
};

// point_value 1..kMaxPointValue, fee 0..kMaxFeeBasisPoints. Errors: kInvalidArgument naming the
// field ("point_value", "issuing_fee_bp").
Status ValidateEconomics(const ProgramEconomics& economics);
// The version in force for `period`: the highest version whose effective_from <= period; the
// default (version 0) when there is none.
ProgramEconomics EconomicsFor(const std::vector<ProgramEconomics>& versions,
                              std::string_view program_id, Period period);

// Which column of a statement an entry counts in.
enum class SettlementClass { kIssued, kRedeemed, kReversed, kExpired };
// earn -> issued; redeem -> redeemed; refund_reversal -> reversed; expire -> expired;
// adjustment -> issued when it adds points, reversed when it takes them. Every kind must be
// mapped here (a new kind fails to compile until it is).
SettlementClass ClassifyEntry(EntryKind kind, int64_t delta);

// One party's point totals in a period; every count >= 0.
struct PartyPoints {
    std::string store_id;  // empty: the operator
    std::string store_name;
    int64_t issued = 0;
    int64_t redeemed = 0;
    int64_t reversed = 0;
    int64_t expired = 0;
    int64_t late_entries = 0;  // entries booked in the period that occurred in an earlier one
};

// Adds `points` (> 0 counts in, < 0 counts out, as a ledger delta) of an entry kind.
void AddToParty(PartyPoints& party, EntryKind kind, int64_t delta);

struct StatementInput {
    Period period{};
    ProgramEconomics economics;
    int64_t opening_points = 0;  // outstanding when the period began
    std::vector<PartyPoints> parties;
};

struct StatementRow {
    PartyPoints points;
    int64_t issued_value = 0;
    int64_t redeemed_value = 0;
    int64_t reversed_value = 0;
    int64_t expired_value = 0;
    int64_t fees = 0;
    int64_t breakage_returned = 0;
    int64_t net = 0;  // > 0: the party pays the program; < 0: the program pays the party
};

struct ProgramTotals {
    int64_t opening_points = 0;
    int64_t closing_points = 0;
    int64_t opening_value = 0;  // the deposit when the period began, at the period's value
    int64_t closing_value = 0;  // the deposit when it ended (or now, for the open period)
    int64_t deposit_change = 0;
    int64_t fees_kept = 0;
    int64_t breakage_kept = 0;
    int64_t kept = 0;  // fees_kept + breakage_kept
    int64_t sum_net = 0;
};

struct Statement {
    Period period{};
    ProgramEconomics economics;
    std::vector<StatementRow> rows;  // in the order of the input's parties
    ProgramTotals program;
};

// Errors: kInvalidArgument for negative counts or invalid economics; kInternal when a figure
// would not fit in 64 bits or the closing outstanding points would be negative.
Result<Statement> BuildStatement(const StatementInput& input);

// Ok when sum(net) - deposit_change - kept == 0 and every row's figures follow from its points;
// kInternal naming the difference otherwise.
Status CheckBalanced(const Statement& statement);

}  // namespace kizuna::core
