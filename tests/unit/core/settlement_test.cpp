// Settlement arithmetic: periods in Japan time, the one rounding rule, and, over many random
// ledger histories, that every statement balances and that the deposit is the ledger's
// outstanding points times the point value.

#include "core/settlement.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fake_random.hpp"

namespace kizuna::core {
namespace {

ProgramEconomics Economics(int64_t value, int64_t fee_bp,
                           BreakagePolicy breakage = BreakagePolicy::kOperator) {
    ProgramEconomics economics;
    economics.program_id = "p";
    economics.point_value = value;
    economics.issuing_fee_bp = fee_bp;
    economics.breakage = breakage;
    return economics;
}

ProgramEconomics Version(int version, Period from, int64_t value) {
    ProgramEconomics economics = Economics(value, 0);
    economics.version = version;
    economics.effective_from = from;
    return economics;
}

PartyPoints Party(std::string store_id) {
    PartyPoints party;
    party.store_id = std::move(store_id);
    return party;
}

StatementInput Input(ProgramEconomics economics, int64_t opening = 0) {
    StatementInput input;
    input.period = {2026, 11};
    input.economics = std::move(economics);
    input.opening_points = opening;
    return input;
}

TEST(Settlement, PeriodsAreCalendarMonthsInJapanTime) {
    // 2026-11-30T14:59:59Z is 23:59:59 on 30 November in Japan; a second later it is December.
    const Timestamp last_second = FromUnixSeconds(1796050799);
    ASSERT_EQ(FormatRfc3339(last_second), "2026-11-30T14:59:59Z");
    EXPECT_EQ(FormatPeriod(PeriodOf(last_second)), "2026-11");
    EXPECT_EQ(FormatPeriod(PeriodOf(last_second + std::chrono::seconds(1))), "2026-12");
    EXPECT_EQ(EndOf(Period{2026, 11}), last_second + std::chrono::seconds(1));
    EXPECT_EQ(LastDayOf(Period{2026, 11}) - FirstDayOf(Period{2026, 11}), 29);
    EXPECT_EQ(LastDayOf(Period{2028, 2}) - FirstDayOf(Period{2028, 2}), 28);  // leap year
    EXPECT_EQ(NextPeriod(Period{2026, 12}), (Period{2027, 1}));
    EXPECT_EQ(PreviousPeriod(Period{2027, 1}), (Period{2026, 12}));
}

TEST(Settlement, ParsePeriodRefusesAnythingButYearDashMonth) {
    ASSERT_TRUE(ParsePeriod("2026-11", "period"));
    EXPECT_EQ(*ParsePeriod("2026-11", "period"), (Period{2026, 11}));
    for (const char* bad : {"2026-13", "2026-00", "2026-1", "26-11", "2026/11", "1969-12", "",
                            "2026-11-01", "２０２６-11"}) {
        auto parsed = ParsePeriod(bad, "period");
        ASSERT_FALSE(parsed) << bad;
        EXPECT_EQ(parsed.error().field, "period");
    }
}

TEST(Settlement, EconomicsInForceIsTheNewestVersionEffectiveByThePeriod) {
    std::vector<ProgramEconomics> versions = {Version(1, {2026, 11}, 2), Version(2, {2027, 3}, 3),
                                              Version(3, {2027, 1}, 4)};
    EXPECT_EQ(EconomicsFor(versions, "p", {2026, 10}).version, 0);
    EXPECT_EQ(EconomicsFor(versions, "p", {2026, 10}).point_value, 1);
    EXPECT_EQ(EconomicsFor(versions, "p", {2026, 12}).point_value, 2);
    EXPECT_EQ(EconomicsFor(versions, "p", {2027, 2}).point_value, 4);
    // Version 3, decided later, supersedes the scheduled version 2 from its own period on.
    EXPECT_EQ(EconomicsFor(versions, "p", {2027, 4}).point_value, 4);
}

TEST(Settlement, TwoStoresOneMonthByHand) {
    // A issues 1,000 points; B accepts 600 of them; 100 of A's expire; A reverses 50 on a
    // refund. 1 point = ¥2, fee 3 %, breakage back to the issuers.
    StatementInput input = Input(Economics(2, 300, BreakagePolicy::kIssuers));
    PartyPoints a = Party("A");
    AddToParty(a, EntryKind::kEarn, 1000);
    AddToParty(a, EntryKind::kExpire, -100);
    AddToParty(a, EntryKind::kRefundReversal, -50);
    PartyPoints b = Party("B");
    AddToParty(b, EntryKind::kRedeem, -600);
    input.parties = {a, b};
    auto statement = BuildStatement(input);
    ASSERT_TRUE(statement) << statement.error().message;
    const StatementRow& ra = statement->rows[0];
    EXPECT_EQ(ra.issued_value, 2000);
    EXPECT_EQ(ra.fees, 60);
    EXPECT_EQ(ra.reversed_value, 100);
    EXPECT_EQ(ra.breakage_returned, 200);
    EXPECT_EQ(ra.net, 2000 + 60 - 100 - 200);
    const StatementRow& rb = statement->rows[1];
    EXPECT_EQ(rb.net, -1200);  // the program pays B for the points it accepted
    EXPECT_EQ(statement->program.closing_points, 250);
    EXPECT_EQ(statement->program.closing_value, 500);
    EXPECT_EQ(statement->program.kept, 60);
    EXPECT_TRUE(CheckBalanced(*statement));
}

TEST(Settlement, TheReadmeExampleMonth) {
    // README.md, "Coalition economics": the figures there are these.
    StatementInput input = Input(Economics(1, 300, BreakagePolicy::kIssuers), 20000);
    PartyPoints a = Party("A");
    AddToParty(a, EntryKind::kEarn, 10000);
    AddToParty(a, EntryKind::kRedeem, -1000);
    AddToParty(a, EntryKind::kRefundReversal, -300);
    AddToParty(a, EntryKind::kExpire, -500);
    PartyPoints b = Party("B");
    AddToParty(b, EntryKind::kEarn, 2000);
    AddToParty(b, EntryKind::kRedeem, -6000);
    input.parties = {a, b};
    auto s = BuildStatement(input);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->rows[0].fees, 300);
    EXPECT_EQ(s->rows[0].net, 8500);
    EXPECT_EQ(s->rows[1].fees, 60);
    EXPECT_EQ(s->rows[1].net, -3940);
    EXPECT_EQ(s->program.closing_points, 24200);
    EXPECT_EQ(s->program.deposit_change, 4200);
    EXPECT_EQ(s->program.kept, 360);
    EXPECT_EQ(s->program.sum_net, 4560);
    EXPECT_TRUE(CheckBalanced(*s));
}

TEST(Settlement, FeeIsRoundedDownOncePerStoreAndPeriod) {
    // 3 % of 33 points at ¥1 is 0.99: rounded once, on the period's total, it is 0 — not
    // 33 * floor(0.03) per entry nor anything rounded up.
    StatementInput input = Input(Economics(1, 300));
    PartyPoints a = Party("A");
    for (int i = 0; i < 33; ++i) AddToParty(a, EntryKind::kEarn, 1);
    input.parties = {a};
    auto statement = BuildStatement(input);
    ASSERT_TRUE(statement);
    EXPECT_EQ(statement->rows[0].fees, 0);
    input.parties[0].issued = 34;  // 1.02
    EXPECT_EQ(BuildStatement(input)->rows[0].fees, 1);
}

TEST(Settlement, OperatorPaysNoFeeAndItsBreakageStaysWithTheProgram) {
    StatementInput input = Input(Economics(1, 1000, BreakagePolicy::kIssuers), 10);
    PartyPoints op = Party("");
    AddToParty(op, EntryKind::kAdjustment, 100);
    AddToParty(op, EntryKind::kExpire, -10);
    input.parties = {op};
    auto statement = BuildStatement(input);
    ASSERT_TRUE(statement);
    EXPECT_EQ(statement->rows[0].fees, 0);
    EXPECT_EQ(statement->rows[0].breakage_returned, 0);
    EXPECT_EQ(statement->program.breakage_kept, 10);
    EXPECT_TRUE(CheckBalanced(*statement));
}

TEST(Settlement, AdjustmentsCountAsIssuedOrReversedBySign) {
    EXPECT_EQ(ClassifyEntry(EntryKind::kAdjustment, 5), SettlementClass::kIssued);
    EXPECT_EQ(ClassifyEntry(EntryKind::kAdjustment, -5), SettlementClass::kReversed);
    EXPECT_EQ(ClassifyEntry(EntryKind::kExpire, -5), SettlementClass::kExpired);
    EXPECT_EQ(ClassifyEntry(EntryKind::kRedeem, -5), SettlementClass::kRedeemed);
}

TEST(Settlement, ABrokenStatementIsCaught) {
    StatementInput input = Input(Economics(1, 0));
    PartyPoints a = Party("A");
    AddToParty(a, EntryKind::kEarn, 10);
    input.parties = {a};
    auto statement = BuildStatement(input);
    ASSERT_TRUE(statement);
    statement->rows[0].net += 1;
    EXPECT_FALSE(CheckBalanced(*statement));
}

// A random history over several months: members with balances, stores issuing, redeeming,
// reversing, points expiring, operator adjustments, each booked on some day; economics that
// change between months. Every month's statement balances, each month opens where the previous
// closed, and the closing deposit is the members' outstanding points times the point value.
TEST(SettlementProperty, RandomHistoriesAlwaysBalance) {
    testing::FakeRandom random(19);
    for (int round = 0; round < 300; ++round) {
        const int stores = 1 + static_cast<int>(random.Uniform(4));
        const int members = 1 + static_cast<int>(random.Uniform(6));
        std::vector<int64_t> balance(members, 0);
        std::vector<ProgramEconomics> versions;
        Period first{2026, 1 + static_cast<int>(random.Uniform(12))};
        const int months = 1 + static_cast<int>(random.Uniform(5));
        int64_t opening = 0;
        Period period = first;
        for (int m = 0; m < months; ++m, period = NextPeriod(period)) {
            if (random.Uniform(2) == 0) {
                ProgramEconomics v = Economics(
                    1 + static_cast<int64_t>(random.Uniform(5)),
                    static_cast<int64_t>(random.Uniform(1001)),
                    random.Uniform(2) ? BreakagePolicy::kIssuers : BreakagePolicy::kOperator);
                v.version = static_cast<int>(versions.size()) + 1;
                v.effective_from = period;
                versions.push_back(v);
            }
            // Parties by store index; -1 is the operator.
            std::map<int, PartyPoints> parties;
            const int entries = static_cast<int>(random.Uniform(40));
            for (int e = 0; e < entries; ++e) {
                const int member = static_cast<int>(random.Uniform(members));
                int store = static_cast<int>(random.Uniform(stores + 1)) - 1;
                const int what = static_cast<int>(random.Uniform(5));
                int64_t delta = 0;
                EntryKind kind = EntryKind::kEarn;
                const int64_t have = balance[member];
                if (what == 0 || have == 0) {
                    kind = store < 0 ? EntryKind::kAdjustment : EntryKind::kEarn;
                    delta = 1 + static_cast<int64_t>(random.Uniform(500));
                } else {
                    delta = -(1 + static_cast<int64_t>(random.Uniform(have)));
                    kind = what == 1   ? EntryKind::kRedeem
                           : what == 2 ? EntryKind::kExpire
                           : what == 3 ? EntryKind::kRefundReversal
                                       : EntryKind::kAdjustment;
                    if (kind == EntryKind::kRedeem && store < 0) store = 0;
                }
                balance[member] += delta;
                PartyPoints& party = parties[store];
                party.store_id = store < 0 ? "" : "S" + std::to_string(store);
                AddToParty(party, kind, delta);
            }
            StatementInput input = Input(EconomicsFor(versions, "p", period), opening);
            input.period = period;
            for (auto& [index, party] : parties) input.parties.push_back(party);
            auto statement = BuildStatement(input);
            ASSERT_TRUE(statement) << statement.error().message;
            ASSERT_TRUE(CheckBalanced(*statement)) << "round " << round << " month " << m;
            int64_t outstanding = 0;
            for (int64_t b : balance) outstanding += b;
            ASSERT_EQ(statement->program.closing_points, outstanding);
            ASSERT_EQ(statement->program.closing_value, outstanding * input.economics.point_value);
            // The identity, spelled out once more from the rows.
            int64_t sum_net = 0, fees = 0, breakage_kept = 0;
            for (const StatementRow& row : statement->rows) {
                sum_net += row.net;
                fees += row.fees;
                breakage_kept += row.expired_value - row.breakage_returned;
                const int64_t exact = row.issued_value * input.economics.issuing_fee_bp;
                if (row.points.store_id.empty()) {
                    EXPECT_EQ(row.fees, 0);
                } else {
                    EXPECT_LE(row.fees * 10000, exact);
                    EXPECT_GT((row.fees + 1) * 10000, exact);
                }
            }
            ASSERT_EQ(sum_net - statement->program.deposit_change - (fees + breakage_kept), 0);
            opening = statement->program.closing_points;
        }
    }
}

}  // namespace
}  // namespace kizuna::core
