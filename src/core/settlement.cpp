#include "core/settlement.hpp"

#include <chrono>
#include <cstdio>
#include <limits>

namespace kizuna::core {

namespace {

constexpr int64_t kJapanOffsetSeconds = 9 * 3600;
constexpr int64_t kSecondsPerDay = 86400;

int64_t FloorDiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

bool IsDigits(std::string_view text) {
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return !text.empty();
}

// a * b, or an error when it does not fit.
Result<int64_t> Multiply(int64_t a, int64_t b, std::string_view what) {
    __int128 product = static_cast<__int128>(a) * b;
    if (product > std::numeric_limits<int64_t>::max() ||
        product < std::numeric_limits<int64_t>::min()) {
        return MakeError(ErrorCode::kInternal, std::string(what) + " does not fit in 64 bits");
    }
    return static_cast<int64_t>(product);
}

}  // namespace

Result<Period> ParsePeriod(std::string_view text, std::string_view field) {
    auto bad = [&] {
        return MakeError(ErrorCode::kInvalidArgument,
                         std::string(field) + " must be a month \"YYYY-MM\" (e.g. \"2026-11\")",
                         std::string(field));
    };
    if (text.size() != 7 || text[4] != '-' || !IsDigits(text.substr(0, 4)) ||
        !IsDigits(text.substr(5, 2))) {
        return bad();
    }
    Period period{std::stoi(std::string(text.substr(0, 4))),
                  std::stoi(std::string(text.substr(5, 2)))};
    if (period.year < 1970 || period.month < 1 || period.month > 12) return bad();
    return period;
}

std::string FormatPeriod(Period period) {
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02d", period.year, period.month);
    return text;
}

Period NextPeriod(Period period) {
    return period.month == 12 ? Period{period.year + 1, 1} : Period{period.year, period.month + 1};
}

Period PreviousPeriod(Period period) {
    return period.month == 1 ? Period{period.year - 1, 12} : Period{period.year, period.month - 1};
}

int64_t SettlementDay(Timestamp t) {
    return FloorDiv(ToUnixSeconds(t) + kJapanOffsetSeconds, kSecondsPerDay);
}

Period PeriodOfDay(int64_t day) {
    const std::chrono::year_month_day date{std::chrono::sys_days(std::chrono::days(day))};
    return Period{static_cast<int>(date.year()), static_cast<int>(unsigned(date.month()))};
}

int64_t FirstDayOf(Period period) {
    const std::chrono::sys_days first{std::chrono::year(period.year) /
                                      std::chrono::month(static_cast<unsigned>(period.month)) /
                                      std::chrono::day(1)};
    return first.time_since_epoch().count();
}

int64_t LastDayOf(Period period) { return FirstDayOf(NextPeriod(period)) - 1; }

Timestamp EndOf(Period period) {
    return FromUnixSeconds(FirstDayOf(NextPeriod(period)) * kSecondsPerDay - kJapanOffsetSeconds);
}

std::string_view BreakagePolicyName(BreakagePolicy policy) {
    return policy == BreakagePolicy::kIssuers ? "issuers" : "operator";
}

Result<BreakagePolicy> ParseBreakagePolicy(std::string_view text, std::string_view field) {
    if (text == "operator") return BreakagePolicy::kOperator;
    if (text == "issuers") return BreakagePolicy::kIssuers;
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(field) +
                         " must be \"operator\" (expired points' value stays "
                         "with the program) or \"issuers\" (it goes back to "
                         "the stores that issued them)",
                     std::string(field));
}

Status ValidateEconomics(const ProgramEconomics& economics) {
    if (economics.point_value < 1 || economics.point_value > kMaxPointValue) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "point_value must be 1.." + std::to_string(kMaxPointValue) +
                             " minor units of the currency per point",
                         "point_value");
    }
    if (economics.issuing_fee_bp < 0 || economics.issuing_fee_bp > kMaxFeeBasisPoints) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "issuing_fee_bp must be 0.." + std::to_string(kMaxFeeBasisPoints) +
                             " basis points of the issued value (300 = 3 %)",
                         "issuing_fee_bp");
    }
    return Status::Ok();
}

ProgramEconomics EconomicsFor(const std::vector<ProgramEconomics>& versions,
                              std::string_view program_id, Period period) {
    ProgramEconomics in_force;
    in_force.program_id = std::string(program_id);
    for (const ProgramEconomics& v : versions) {
        if (v.effective_from <= period && v.version > in_force.version) in_force = v;
    }
    return in_force;
}

SettlementClass ClassifyEntry(EntryKind kind, int64_t delta) {
    switch (kind) {
        case EntryKind::kEarn:
            return SettlementClass::kIssued;
        case EntryKind::kRedeem:
            return SettlementClass::kRedeemed;
        case EntryKind::kRefundReversal:
            return SettlementClass::kReversed;
        case EntryKind::kExpire:
            return SettlementClass::kExpired;
        case EntryKind::kAdjustment:
            return delta >= 0 ? SettlementClass::kIssued : SettlementClass::kReversed;
    }
    return SettlementClass::kIssued;  // unreachable: every kind is a case above
}

void AddToParty(PartyPoints& party, EntryKind kind, int64_t delta) {
    const int64_t points = delta < 0 ? -delta : delta;
    switch (ClassifyEntry(kind, delta)) {
        case SettlementClass::kIssued:
            party.issued += points;
            break;
        case SettlementClass::kRedeemed:
            party.redeemed += points;
            break;
        case SettlementClass::kReversed:
            party.reversed += points;
            break;
        case SettlementClass::kExpired:
            party.expired += points;
            break;
    }
}

Result<Statement> BuildStatement(const StatementInput& input) {
    KZ_RETURN_IF_ERROR(ValidateEconomics(input.economics));
    if (input.opening_points < 0) {
        return MakeError(ErrorCode::kInvalidArgument, "opening points must not be negative");
    }
    const int64_t v = input.economics.point_value;
    Statement statement{input.period, input.economics, {}, {}};
    ProgramTotals& program = statement.program;
    program.opening_points = input.opening_points;
    __int128 closing = input.opening_points;
    for (const PartyPoints& party : input.parties) {
        if (party.issued < 0 || party.redeemed < 0 || party.reversed < 0 || party.expired < 0) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "negative point counts for store " + party.store_id);
        }
        StatementRow row{.points = party};
        KZ_ASSIGN_OR_RETURN(row.issued_value, Multiply(party.issued, v, "issued value"));
        KZ_ASSIGN_OR_RETURN(row.redeemed_value, Multiply(party.redeemed, v, "redeemed value"));
        KZ_ASSIGN_OR_RETURN(row.reversed_value, Multiply(party.reversed, v, "reversed value"));
        KZ_ASSIGN_OR_RETURN(row.expired_value, Multiply(party.expired, v, "expired value"));
        const bool store = !party.store_id.empty();
        if (store) {
            // The one rounding: down, once per (store, period).
            KZ_ASSIGN_OR_RETURN(int64_t scaled,
                                Multiply(row.issued_value, input.economics.issuing_fee_bp, "fee"));
            row.fees = scaled / kMaxFeeBasisPoints;
            if (input.economics.breakage == BreakagePolicy::kIssuers) {
                row.breakage_returned = row.expired_value;
            }
        }
        const __int128 net = static_cast<__int128>(row.issued_value) + row.fees -
                             row.redeemed_value - row.reversed_value - row.breakage_returned;
        if (net > std::numeric_limits<int64_t>::max() ||
            net < std::numeric_limits<int64_t>::min()) {
            return MakeError(ErrorCode::kInternal,
                             "net of store " + party.store_id + " does not fit in 64 bits");
        }
        row.net = static_cast<int64_t>(net);
        closing +=
            static_cast<__int128>(party.issued) - party.redeemed - party.reversed - party.expired;
        program.fees_kept += row.fees;
        program.breakage_kept += row.expired_value - row.breakage_returned;
        program.sum_net += row.net;
        statement.rows.push_back(std::move(row));
    }
    if (closing < 0 || closing > std::numeric_limits<int64_t>::max()) {
        return MakeError(ErrorCode::kInternal, "the outstanding points at the end of " +
                                                   FormatPeriod(input.period) +
                                                   " would be negative or beyond 64 bits");
    }
    program.closing_points = static_cast<int64_t>(closing);
    KZ_ASSIGN_OR_RETURN(program.opening_value,
                        Multiply(program.opening_points, v, "opening deposit"));
    KZ_ASSIGN_OR_RETURN(program.closing_value,
                        Multiply(program.closing_points, v, "closing deposit"));
    program.deposit_change = program.closing_value - program.opening_value;
    program.kept = program.fees_kept + program.breakage_kept;
    return statement;
}

Status CheckBalanced(const Statement& statement) {
    const int64_t v = statement.economics.point_value;
    int64_t sum_net = 0;
    int64_t kept = 0;
    int64_t change = 0;
    for (const StatementRow& row : statement.rows) {
        const PartyPoints& p = row.points;
        if (row.issued_value != p.issued * v || row.redeemed_value != p.redeemed * v ||
            row.reversed_value != p.reversed * v || row.expired_value != p.expired * v) {
            return MakeError(
                ErrorCode::kInternal,
                "the values of store " + p.store_id + " are not its points * " + std::to_string(v));
        }
        sum_net += row.net;
        kept += row.fees + row.expired_value - row.breakage_returned;
        change += p.issued - p.redeemed - p.reversed - p.expired;
    }
    const ProgramTotals& program = statement.program;
    if (program.closing_points - program.opening_points != change) {
        return MakeError(ErrorCode::kInternal,
                         "closing - opening outstanding points is " +
                             std::to_string(program.closing_points - program.opening_points) +
                             ", the entries say " + std::to_string(change));
    }
    const int64_t difference = sum_net - program.deposit_change - kept;
    if (difference != 0 || sum_net != program.sum_net || kept != program.kept ||
        program.deposit_change != change * v) {
        return MakeError(ErrorCode::kInternal,
                         "statement of " + FormatPeriod(statement.period) +
                             " does not balance: sum(net) - deposit change - kept = " +
                             std::to_string(difference));
    }
    return Status::Ok();
}

}  // namespace kizuna::core
