// Settlement through the real hub on a real SQLite file, with a driven clock: statements from
// the ledger, economics that never apply to the past, closing periods, late entries, and who
// sees what.

#include <gtest/gtest.h>

#include "hub/settlement_service.hpp"
#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

using std::chrono::days;
using std::chrono::hours;

class SettlementTest : public HubTest {
  protected:
    void SetUp() override {
        HubTest::SetUp();
        auto program = hub_->admin().CreateProgram(operator_, "Ekimae coalition");
        ASSERT_TRUE(program);
        program_id_ = program->program_id;
        a_ = MakeStore("Shibuya Books", program_id_);
        b_ = MakeStore("駅前カフェ", program_id_);
    }

    core::Period Nov() const { return {2026, 11}; }

    SettlementStatement Statement(const Caller& caller, core::Period period) {
        auto s = hub_->settlements().GetStatement(caller, program_id_, period);
        EXPECT_TRUE(s) << s.error().message;
        return s ? *s : SettlementStatement{};
    }

    static const core::StatementRow* RowOf(const SettlementStatement& s, const std::string& id) {
        for (const auto& row : s.statement.rows) {
            if (row.points.store_id == id) return &row;
        }
        return nullptr;
    }

    int64_t ProgramOutstanding() {
        int64_t sum = 0;
        EXPECT_TRUE(hub_->storage()
                        .Read([&](storage::ReadTxn& txn) -> core::Status {
                            for (const auto& m : members_) {
                                KZ_ASSIGN_OR_RETURN(int64_t b, txn.BalanceOf(m, program_id_));
                                sum += b;
                            }
                            return core::Status::Ok();
                        })
                        .ok());
        return sum;
    }

    std::string program_id_;
    TestStore a_, b_;
    std::vector<std::string> members_;
};

TEST_F(SettlementTest, EarnAtOneStoreSpendAtAnotherExpireAndRefundSettleByHand) {
    auto economics = hub_->settlements().SetEconomics(operator_, program_id_,
                                                      {.effective_from = std::nullopt,
                                                       .point_value = 1,
                                                       .issuing_fee_bp = 300,
                                                       .breakage = core::BreakagePolicy::kIssuers});
    ASSERT_TRUE(economics) << economics.error().message;
    EXPECT_EQ(economics->effective_from, Nov());  // nothing booked yet: from this period

    TestMember m = MakeMember("settle1");
    members_.push_back(m.member_id);
    Buy(a_, m, "p1", 10000);  // 100 points at A
    PurchaseRequest old;
    old.purchase_id = "old";
    old.member.member_id = m.member_id;
    old.occurred_at = clock_.Now() - days(400);    // its 50 points expired long ago
    old.origin = core::PurchaseOrigin::kNodeSync;  // an old sale reaches the hub only so
    old.lines.push_back({"Item", "", "", 1, 5000});
    ASSERT_TRUE(hub_->points().RecordPurchase(a_.caller, old));
    auto expired = hub_->points().RunExpiry();
    ASSERT_TRUE(expired);
    RedemptionRequest redeem{.redemption_id = "r1", .member = {m.member_id, {}}, .points = 30};
    ASSERT_TRUE(hub_->points().Redeem(b_.caller, redeem));
    RefundRequest refund{
        .refund_id = "f1", .purchase_id = "p1", .amount = 5000, .lines = {}};  // 50 points
    ASSERT_TRUE(hub_->points().Refund(a_.caller, refund));

    SettlementStatement s = Statement(operator_, Nov());
    const core::StatementRow* a = RowOf(s, a_.store.store_id);
    const core::StatementRow* b = RowOf(s, b_.store.store_id);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->points.issued, 150);
    EXPECT_EQ(a->points.expired, 50);  // the expiry names the issuing store
    EXPECT_EQ(a->points.reversed, 50);
    EXPECT_EQ(a->fees, 4);  // floor(150 * 3 %) = floor(4.5)
    EXPECT_EQ(a->breakage_returned, 50);
    EXPECT_EQ(a->net, 150 + 4 - 50 - 50);
    EXPECT_EQ(b->points.redeemed, 30);
    EXPECT_EQ(b->net, -30);
    EXPECT_EQ(s.statement.program.opening_points, 0);
    EXPECT_EQ(s.statement.program.closing_points, 20);
    EXPECT_EQ(s.statement.program.closing_points, ProgramOutstanding());
    EXPECT_EQ(s.statement.program.kept, 4);
    EXPECT_EQ(
        s.statement.program.sum_net - s.statement.program.deposit_change - s.statement.program.kept,
        0);
    // The purchase that occurred 400 days ago was booked now: late, listed with its own date.
    ASSERT_EQ(s.late_entries.size(), 1u);
    EXPECT_EQ(s.late_entries[0].ref, "old");
    EXPECT_EQ(s.late_entries[0].occurred_at, *old.occurred_at);

    // Entries are booked in November now: a change from November would rewrite them.
    auto again = hub_->settlements().SetEconomics(operator_, program_id_,
                                                  {.effective_from = Nov(), .point_value = 2});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, core::ErrorCode::kRuleViolation);
    EconomicsRequest value_two;
    value_two.point_value = 2;
    auto later = hub_->settlements().SetEconomics(operator_, program_id_, value_two);
    ASSERT_TRUE(later);
    EXPECT_EQ(later->effective_from, (core::Period{2026, 12}));
    EXPECT_EQ(Statement(operator_, Nov()).statement.economics.point_value, 1);
}

TEST_F(SettlementTest, AClosedPeriodNeverChangesAndLateSalesLandInTheOpenOne) {
    TestMember m = MakeMember("settle2");
    members_.push_back(m.member_id);
    Buy(a_, m, "p1", 20000);  // 200 points, booked 22 November
    auto early = hub_->settlements().ClosePeriod(operator_, program_id_, Nov());
    ASSERT_FALSE(early);  // November has not ended
    EXPECT_EQ(early.error().code, core::ErrorCode::kRuleViolation);

    clock_.Advance(days(10));  // 2 December
    auto closed = hub_->settlements().ClosePeriod(operator_, program_id_, Nov());
    ASSERT_TRUE(closed) << closed.error().message;
    EXPECT_TRUE(closed->closed);
    const SettlementStatement before = Statement(operator_, Nov());
    EXPECT_TRUE(before.closed);

    // A store node syncs a sale made on 25 November, a week late.
    PurchaseRequest late;
    late.purchase_id = "offline-1";
    late.member.member_id = m.member_id;
    late.occurred_at = core::FromUnixSeconds(HubTest::kStart) + days(3);
    late.origin = core::PurchaseOrigin::kNodeSync;
    late.lines.push_back({"Item", "", "", 1, 7000});
    ASSERT_TRUE(hub_->points().RecordPurchase(a_.caller, late));
    // And an entry whose booking time falls in November (a clock set back): it still counts
    // after the closed period, never in it.
    ASSERT_TRUE(hub_->storage()
                    .Write([&](storage::WriteTxn& txn) -> core::Status {
                        core::Lot lot{.lot_id = 0,
                                      .member_id = m.member_id,
                                      .program_id = program_id_,
                                      .store_id = {},
                                      .purchase_id = {},
                                      .earned = 5,
                                      .remaining = 5,
                                      .earned_at = clock_.Now(),
                                      .expires_at = clock_.Now() + days(365)};
                        KZ_RETURN_IF_ERROR(txn.InsertLot(lot));
                        core::LedgerEntry e{.member_id = m.member_id,
                                            .program_id = program_id_,
                                            .store_id = {},
                                            .delta = 5,
                                            .kind = core::EntryKind::kAdjustment,
                                            .ref = "goodwill",
                                            .occurred_at = clock_.Now() - days(5),
                                            .note = "goodwill",
                                            .recorded_at = clock_.Now() - days(5)};
                        KZ_ASSIGN_OR_RETURN(int64_t id, txn.AppendEntry(e));
                        return id > 0 ? core::Status::Ok()
                                      : core::MakeError(core::ErrorCode::kInternal, "no id");
                    })
                    .ok());

    const SettlementStatement after = Statement(operator_, Nov());
    ASSERT_EQ(after.statement.rows.size(), before.statement.rows.size());
    for (std::size_t i = 0; i < after.statement.rows.size(); ++i) {
        EXPECT_EQ(after.statement.rows[i].net, before.statement.rows[i].net);
        EXPECT_EQ(after.statement.rows[i].points.issued, before.statement.rows[i].points.issued);
    }
    EXPECT_EQ(after.statement.program.closing_points, 200);

    const SettlementStatement dec = Statement(operator_, {2026, 12});
    EXPECT_FALSE(dec.closed);
    EXPECT_EQ(dec.statement.program.opening_points, 200);
    EXPECT_EQ(RowOf(dec, a_.store.store_id)->points.issued, 70);
    EXPECT_EQ(RowOf(dec, a_.store.store_id)->points.late_entries, 1);
    const core::StatementRow* op = RowOf(dec, "");
    ASSERT_NE(op, nullptr);
    EXPECT_EQ(op->points.issued, 5);
    EXPECT_EQ(op->fees, 0);
    ASSERT_EQ(dec.late_entries.size(), 2u);  // the sale, and the adjustment that occurred in Nov
    // Oldest booked first: the adjustment counts on 1 December, the first day after November.
    EXPECT_EQ(dec.late_entries[0].ref, "goodwill");
    EXPECT_EQ(dec.late_entries[1].ref, "offline-1");
    EXPECT_EQ(dec.late_entries[1].occurred_at, *late.occurred_at);
    EXPECT_EQ(dec.statement.program.closing_points, ProgramOutstanding());

    // Closing again changes nothing.
    auto twice = hub_->settlements().ClosePeriod(operator_, program_id_, Nov());
    ASSERT_TRUE(twice);
    EXPECT_EQ(twice->closed_at, closed->closed_at);
}

TEST_F(SettlementTest, AStoreSeesItsOwnRowOnlyAndNoOtherProgram) {
    TestMember m = MakeMember("settle3");
    members_.push_back(m.member_id);
    Buy(a_, m, "p1", 10000);
    SettlementStatement own = Statement(a_.caller, Nov());
    ASSERT_EQ(own.statement.rows.size(), 1u);
    EXPECT_EQ(own.statement.rows[0].points.store_id, a_.store.store_id);
    EXPECT_FALSE(own.program_visible);
    EXPECT_EQ(own.statement.program.closing_points, 0);  // the deposit is the operator's to see
    SettlementStatement b = Statement(b_.caller, Nov());
    ASSERT_EQ(b.statement.rows.size(), 1u);
    EXPECT_EQ(b.statement.rows[0].points.issued, 0);

    TestStore other = MakeStore("Elsewhere");
    auto foreign = hub_->settlements().GetStatement(other.caller, program_id_, Nov());
    ASSERT_FALSE(foreign);
    EXPECT_EQ(foreign.error().code, core::ErrorCode::kForbidden);
    auto close = hub_->settlements().ClosePeriod(a_.caller, program_id_, {2026, 10});
    ASSERT_FALSE(close);
    EXPECT_EQ(close.error().code, core::ErrorCode::kForbidden);
    auto set = hub_->settlements().SetEconomics(a_.caller, program_id_, {});
    ASSERT_FALSE(set);
    EXPECT_EQ(set.error().code, core::ErrorCode::kForbidden);
}

}  // namespace
}  // namespace kizuna::hub::testing
