#include "core/member_merge.hpp"

#include <gtest/gtest.h>

#include "core/limits.hpp"

namespace kizuna::core {
namespace {

MemberHoldings Holdings(std::string id, std::vector<ProgramPoints> balances) {
    MemberHoldings h;
    h.member_id = std::move(id);
    h.balances = std::move(balances);
    return h;
}

TEST(MemberMerge, BalancesAddUpPerProgramAndTheirSumIsKept) {
    MemberHoldings from = Holdings("B", {{"pg_1", 30}, {"pg_2", 5}});
    from.active_cards = {"4000000000000002"};
    from.cards = 2;
    from.purchases = 3;
    from.offers_sent = 4;
    from.dispatch_pending = 1;
    from.sessions = 2;
    from.password_resets_open = 1;
    auto plan = PlanMerge(Holdings("A", {{"pg_1", 100}, {"pg_3", 7}}), from);
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->balances, (std::vector<BalanceMove>{
                                  {"pg_1", 30, 100, 130}, {"pg_2", 5, 0, 5}, {"pg_3", 0, 7, 7}}));
    EXPECT_EQ(plan->points_moved, 35);
    EXPECT_EQ(plan->cards_revoked, std::vector<std::string>{"4000000000000002"});
    EXPECT_EQ(plan->cards, 2);
    EXPECT_EQ(plan->purchases, 3);
    EXPECT_EQ(plan->offers_sent, 4);
    EXPECT_EQ(plan->dispatch_skipped, 1);
    EXPECT_EQ(plan->sessions_ended, 2);
    EXPECT_EQ(plan->password_resets_ended, 1);
    int64_t after = 0;
    for (const BalanceMove& m : plan->balances) after += m.survivor_after;
    EXPECT_EQ(after, 100 + 7 + 30 + 5);
}

TEST(MemberMerge, RefusesItselfAndClosedMembers) {
    EXPECT_EQ(PlanMerge(Holdings("A", {}), Holdings("A", {})).error().code,
              ErrorCode::kInvalidArgument);
    MemberHoldings closed = Holdings("B", {});
    closed.active = false;
    EXPECT_EQ(PlanMerge(Holdings("A", {}), closed).error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(PlanMerge(closed, Holdings("A", {})).error().code, ErrorCode::kRuleViolation);
}

TEST(MemberMerge, RefusesABalancePastTheLimit) {
    auto plan = PlanMerge(Holdings("A", {{"pg_1", kMaxBalance}}), Holdings("B", {{"pg_1", 1}}));
    EXPECT_EQ(plan.error().code, ErrorCode::kRuleViolation);
}

}  // namespace
}  // namespace kizuna::core
