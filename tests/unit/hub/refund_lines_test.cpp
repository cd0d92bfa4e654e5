// Refunds that name lines: each purchase line can be refunded at most as many times as it was
// bought, across all refunds of the purchase, and line and amount refunds together never exceed
// the purchase total. The fixture checks the ledger invariants after every test.

#include <string>
#include <vector>

#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

using core::ErrorCode;

class RefundLinesTest : public HubTest {
  protected:
    void SetUp() override {
        HubTest::SetUp();
        store_ = MakeStore("Shibuya Books");
        member_ = MakeMember("aki");
    }

    // 2 × Novel at 990 and 1 × Bookmark at 300: 2,280 JPY, 22 points.
    void BuyBooks(const std::string& id) {
        PurchaseRequest r;
        r.purchase_id = id;
        r.member.card_number = member_.card_number;
        r.currency = "JPY";
        r.lines.push_back({"Novel", "NV-1", "books", 2, 990});
        r.lines.push_back({"Bookmark", "BM-1", "goods", 1, 300});
        auto receipt = hub_->points().RecordPurchase(store_.caller, r);
        ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
        ASSERT_EQ(receipt->total, 2280);
    }

    // A refund of `lines`, each {sku, quantity}.
    core::Result<RefundReceipt> RefundLines(
        const std::string& refund_id, const std::string& purchase_id,
        const std::vector<std::pair<std::string, int64_t>>& lines) {
        RefundRequest r{refund_id, purchase_id, std::nullopt, {}};
        for (const auto& [sku, quantity] : lines) r.lines.push_back({"", sku, "", quantity, 0});
        return hub_->points().Refund(store_.caller, r);
    }

    core::Result<RefundReceipt> RefundAmount(const std::string& refund_id,
                                             const std::string& purchase_id, int64_t amount) {
        return hub_->points().Refund(store_.caller, {refund_id, purchase_id, amount, {}});
    }

    std::vector<core::Refund> StoredRefunds(const std::string& purchase_id) {
        std::vector<core::Refund> refunds;
        EXPECT_TRUE(hub_->storage()
                        .Read([&](storage::ReadTxn& txn) -> core::Status {
                            KZ_ASSIGN_OR_RETURN(refunds,
                                                txn.RefundsOf(store_.store.store_id, purchase_id));
                            return core::Status::Ok();
                        })
                        .ok());
        return refunds;
    }

    int64_t Balance() { return BalanceOf(member_.member_id, store_.store.program_id); }

    TestStore store_;
    TestMember member_;
};

TEST_F(RefundLinesTest, ALineCannotBeRefundedMoreTimesThanItWasBought) {
    BuyBooks("p-1");
    auto first = RefundLines("rf-1", "p-1", {{"NV-1", 1}});
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_EQ(first->amount, 990);

    auto two_more = RefundLines("rf-2", "p-1", {{"NV-1", 2}});
    ASSERT_FALSE(two_more.has_value());
    EXPECT_EQ(two_more.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(two_more.error().field, "lines[0].quantity");
    EXPECT_EQ(two_more.error().message,
              "only 1 of this item remains refundable on purchase p-1 (2 bought, 1 refunded "
              "before)");

    // The refused request left nothing behind: its id is free and the second unit refundable.
    auto one_more = RefundLines("rf-2", "p-1", {{"NV-1", 1}});
    ASSERT_TRUE(one_more.has_value()) << one_more.error().message;
    EXPECT_FALSE(one_more->replayed);
    EXPECT_EQ(one_more->amount, 990);

    auto again = RefundLines("rf-3", "p-1", {{"NV-1", 1}});
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(again.error().field, "lines[0].quantity");
    EXPECT_EQ(again.error().message,
              "nothing of this item remains refundable on purchase p-1 (2 bought, 2 refunded "
              "before)");

    // Replaying an accepted refund still answers as the first time, not as a new refund.
    auto replay = RefundLines("rf-1", "p-1", {{"NV-1", 1}});
    ASSERT_TRUE(replay.has_value()) << replay.error().message;
    EXPECT_TRUE(replay->replayed);
    EXPECT_EQ(replay->amount, 990);

    auto bookmark = RefundLines("rf-3", "p-1", {{"BM-1", 1}});
    ASSERT_TRUE(bookmark.has_value()) << bookmark.error().message;
    EXPECT_EQ(bookmark->balance, 0);  // the whole purchase is back: all 22 points reversed
    auto bookmark_again = RefundLines("rf-4", "p-1", {{"BM-1", 1}});
    ASSERT_FALSE(bookmark_again.has_value());
    EXPECT_EQ(bookmark_again.error().field, "lines[0].quantity");

    auto refunds = StoredRefunds("p-1");
    ASSERT_EQ(refunds.size(), 3u);
    const std::vector<core::RefundedLine> novel{{.purchase_line = 0, .quantity = 1, .amount = 990}};
    EXPECT_EQ(refunds[0].lines, novel);
    EXPECT_EQ(refunds[1].lines, novel);
    EXPECT_EQ(
        refunds[2].lines,
        (std::vector<core::RefundedLine>{{.purchase_line = 1, .quantity = 1, .amount = 300}}));
}

TEST_F(RefundLinesTest, LinesOfOneRequestCountAgainstEachOther) {
    BuyBooks("p-1");
    auto refused = RefundLines("rf-1", "p-1", {{"BM-1", 1}, {"NV-1", 1}, {"NV-1", 2}});
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(refused.error().field, "lines[2].quantity");
    EXPECT_EQ(refused.error().message,
              "only 1 of this item remains refundable on purchase p-1 (2 bought, 0 refunded "
              "before, 1 named earlier in this refund)");
    EXPECT_TRUE(StoredRefunds("p-1").empty());
    EXPECT_EQ(Balance(), 22);

    auto accepted = RefundLines("rf-1", "p-1", {{"NV-1", 1}, {"BM-1", 1}, {"NV-1", 1}});
    ASSERT_TRUE(accepted.has_value()) << accepted.error().message;
    EXPECT_EQ(accepted->amount, 2280);
    auto refunds = StoredRefunds("p-1");
    ASSERT_EQ(refunds.size(), 1u);
    EXPECT_EQ(refunds[0].lines, (std::vector<core::RefundedLine>{
                                    {.purchase_line = 0, .quantity = 2, .amount = 1980},
                                    {.purchase_line = 1, .quantity = 1, .amount = 300}}));
}

TEST_F(RefundLinesTest, LinesSharingASkuAreTakenInOrderAtTheirOwnPrices) {
    PurchaseRequest r;
    r.purchase_id = "p-1";
    r.member.card_number = member_.card_number;
    r.currency = "JPY";
    r.lines.push_back({"Coffee", "CF-1", "drinks", 1, 450});
    r.lines.push_back({"Coffee (member price)", "CF-1", "drinks", 2, 400});
    ASSERT_TRUE(hub_->points().RecordPurchase(store_.caller, r).has_value());

    auto first = RefundLines("rf-1", "p-1", {{"CF-1", 2}});
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_EQ(first->amount, 850);  // the 450 one, then one at 400
    auto second = RefundLines("rf-2", "p-1", {{"CF-1", 2}});
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().message,
              "only 1 of this item remains refundable on purchase p-1 (3 bought, 2 refunded "
              "before)");
    auto last = RefundLines("rf-2", "p-1", {{"CF-1", 1}});
    ASSERT_TRUE(last.has_value()) << last.error().message;
    EXPECT_EQ(last->amount, 400);
    EXPECT_EQ(Balance(), 0);
}

TEST_F(RefundLinesTest, AmountAndLineRefundsTogetherNeverExceedTheTotal) {
    BuyBooks("p-1");
    ASSERT_TRUE(RefundAmount("rf-1", "p-1", 2000).has_value());
    // The Novel is still refundable by quantity, but 2,000 + 990 is more than 2,280.
    auto novel = RefundLines("rf-2", "p-1", {{"NV-1", 1}});
    ASSERT_FALSE(novel.has_value());
    EXPECT_EQ(novel.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(novel.error().field, "lines");
    auto bookmark = RefundLines("rf-2", "p-1", {{"BM-1", 1}});
    ASSERT_FALSE(bookmark.has_value());
    EXPECT_EQ(bookmark.error().field, "lines");
    auto rest = RefundAmount("rf-2", "p-1", 280);
    ASSERT_TRUE(rest.has_value()) << rest.error().message;
    EXPECT_EQ(rest->balance, 0);
    EXPECT_FALSE(RefundLines("rf-3", "p-1", {{"BM-1", 1}}).has_value());

    BuyBooks("p-2");
    ASSERT_TRUE(RefundLines("rf-4", "p-2", {{"NV-1", 2}}).has_value());
    auto over = RefundAmount("rf-5", "p-2", 301);
    ASSERT_FALSE(over.has_value());
    EXPECT_EQ(over.error().field, "amount");
    ASSERT_TRUE(RefundAmount("rf-5", "p-2", 300).has_value());
    EXPECT_FALSE(RefundLines("rf-6", "p-2", {{"BM-1", 1}}).has_value());

    int64_t refunded = 0;
    for (const auto& refund : StoredRefunds("p-2")) refunded += refund.amount;
    EXPECT_EQ(refunded, 2280);
    EXPECT_EQ(Balance(), 0);
}

}  // namespace
}  // namespace kizuna::hub::testing
