#include <thread>

#include "core/ids.hpp"
#include "core/limits.hpp"
#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

using core::ErrorCode;
using PointsTest = HubTest;

PurchaseRequest BookPurchase(const std::string& id, const TestMember& m) {
    PurchaseRequest r;
    r.purchase_id = id;
    r.member.card_number = m.card_number;
    r.currency = "JPY";
    r.lines.push_back({"Novel", "978-4-00-000001", "books", 2, 990});
    r.lines.push_back({"Bookmark", "BM-1", "goods", 1, 300});
    return r;
}

RedemptionRequest Redemption(const std::string& id, const TestMember& m, int64_t points) {
    RedemptionRequest r;
    r.redemption_id = id;
    r.member.member_id = m.member_id;
    r.points = points;
    return r;
}

// Seed function (3), [0024] S200-S212.
TEST_F(PointsTest, PurchaseEarnsPointsIntoALotWithAnEntryThatSaysWhy) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    auto receipt = hub_->points().RecordPurchase(store.caller, BookPurchase("p-1", m));
    ASSERT_TRUE(receipt.has_value()) << receipt.error().message;
    EXPECT_FALSE(receipt->replayed);
    EXPECT_EQ(receipt->member_id, m.member_id);
    EXPECT_EQ(receipt->total, 2280);
    EXPECT_EQ(receipt->points_earned, 22);
    EXPECT_EQ(receipt->balance, 22);
    EXPECT_EQ(receipt->program_id, store.store.program_id);

    auto entries = EntriesOf(m.member_id);
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].kind, core::EntryKind::kEarn);
    EXPECT_EQ(entries[0].delta, 22);
    EXPECT_EQ(entries[0].ref, "p-1");
    EXPECT_EQ(entries[0].store_id, store.store.store_id);
    EXPECT_EQ(entries[0].note,
              "Purchase 2,280 JPY at Shibuya Books (1 point per 100 JPY, rule v1)");

    std::vector<core::Lot> lots;
    ASSERT_TRUE(hub_->storage()
                    .Read([&](storage::ReadTxn& txn) -> core::Status {
                        KZ_ASSIGN_OR_RETURN(lots,
                                            txn.OpenLots(m.member_id, store.store.program_id));
                        return core::Status::Ok();
                    })
                    .ok());
    ASSERT_EQ(lots.size(), 1u);
    EXPECT_EQ(lots[0].remaining, 22);
    EXPECT_EQ(lots[0].expires_at, clock_.Now() + std::chrono::days(365));
}

TEST_F(PointsTest, SamePurchaseIdAgainReturnsTheFirstAnswerAndChangesNothing) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    PurchaseRequest request = BookPurchase("p-1", m);
    request.currency.clear();  // defaults are filled in after the fingerprint
    auto first = hub_->points().RecordPurchase(store.caller, request);
    ASSERT_TRUE(first.has_value());
    Buy(store, m, "p-2", 1000);
    clock_.Advance(std::chrono::minutes(3));

    auto again = hub_->points().RecordPurchase(store.caller, request);
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_TRUE(again->replayed);
    EXPECT_EQ(again->points_earned, first->points_earned);
    EXPECT_EQ(again->balance, first->balance);  // the first answer, not today's balance
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 32);
    EXPECT_EQ(EntriesOf(m.member_id).size(), 2u);
}

TEST_F(PointsTest, SameIdWithAnotherBodyIsAConflict) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    ASSERT_TRUE(hub_->points().RecordPurchase(store.caller, BookPurchase("p-1", m)).has_value());
    PurchaseRequest changed = BookPurchase("p-1", m);
    changed.lines[0].quantity = 3;
    auto conflict = hub_->points().RecordPurchase(store.caller, changed);
    ASSERT_FALSE(conflict.has_value());
    EXPECT_EQ(conflict.error().code, ErrorCode::kIdempotencyConflict);
    EXPECT_EQ(conflict.error().field, "purchase_id");
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 22);

    ASSERT_TRUE(hub_->points().Redeem(store.caller, Redemption("r-1", m, 5)).has_value());
    auto redeem_conflict = hub_->points().Redeem(store.caller, Redemption("r-1", m, 6));
    ASSERT_FALSE(redeem_conflict.has_value());
    EXPECT_EQ(redeem_conflict.error().code, ErrorCode::kIdempotencyConflict);
    EXPECT_EQ(redeem_conflict.error().field, "redemption_id");
}

// A store node that syncs late replays purchases made with a card that has been replaced since:
// the replay still gets its first answer, while a new purchase with that card is refused.
TEST_F(PointsTest, AReplayIsAnsweredAfterItsCardWasReplaced) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    PurchaseRequest request = BookPurchase("p-1", m);
    auto first = hub_->points().RecordPurchase(store.caller, request);
    ASSERT_TRUE(first.has_value()) << first.error().message;
    ASSERT_TRUE(hub_->members()
                    .ReissueCard(store.caller, m.member_id, m.password, core::CardMedium::kChip)
                    .has_value());

    auto again = hub_->points().RecordPurchase(store.caller, request);
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_TRUE(again->replayed);
    EXPECT_EQ(again->balance, first->balance);
    PurchaseRequest changed = request;
    changed.lines[0].quantity = 3;
    EXPECT_EQ(hub_->points().RecordPurchase(store.caller, changed).error().code,
              ErrorCode::kIdempotencyConflict);
    EXPECT_EQ(hub_->points().RecordPurchase(store.caller, BookPurchase("p-2", m)).error().code,
              ErrorCode::kCardRevoked);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 22);
    EXPECT_EQ(EntriesOf(m.member_id).size(), 1u);
}

// A purchase below one point books no balance: its replay, by member id, still finds it.
TEST_F(PointsTest, AReplayOfAPurchaseThatEarnedNothingIsAnswered) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    PurchaseRequest small;
    small.purchase_id = "p-small";
    small.member.member_id = m.member_id;
    small.lines.push_back({"Sticker", "", "", 1, 50});
    auto first = hub_->points().RecordPurchase(store.caller, small);
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_EQ(first->points_earned, 0);
    auto again = hub_->points().RecordPurchase(store.caller, small);
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_TRUE(again->replayed);
    EXPECT_EQ(again->balance, 0);
}

TEST_F(PointsTest, PurchaseInputIsCheckedBeforeStorage) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    PurchaseRequest both = BookPurchase("p-1", m);
    both.member.member_id = m.member_id;
    EXPECT_EQ(hub_->points().RecordPurchase(store.caller, both).error().code,
              ErrorCode::kInvalidArgument);
    PurchaseRequest neither = BookPurchase("p-1", m);
    neither.member.card_number.clear();
    EXPECT_EQ(hub_->points().RecordPurchase(store.caller, neither).error().field, "member_id");
    PurchaseRequest typo = BookPurchase("p-1", m);
    typo.member.card_number[15] = typo.member.card_number[15] == '0' ? '1' : '0';
    EXPECT_EQ(hub_->points().RecordPurchase(store.caller, typo).error().field, "card_number");
    PurchaseRequest bad_id = BookPurchase("p 1", m);
    EXPECT_EQ(hub_->points().RecordPurchase(store.caller, bad_id).error().field, "purchase_id");
    PurchaseRequest no_lines = BookPurchase("p-1", m);
    no_lines.lines.clear();
    EXPECT_EQ(hub_->points().RecordPurchase(store.caller, no_lines).error().code,
              ErrorCode::kInvalidArgument);

    PurchaseRequest future = BookPurchase("p-1", m);
    future.occurred_at = clock_.Now() + std::chrono::minutes(6);
    auto r = hub_->points().RecordPurchase(store.caller, future);
    EXPECT_EQ(r.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(r.error().field, "occurred_at");
    future.occurred_at = clock_.Now() + std::chrono::minutes(4);  // clock skew is tolerated
    EXPECT_TRUE(hub_->points().RecordPurchase(store.caller, future).has_value());

    PurchaseRequest dollars = BookPurchase("p-2", m);
    dollars.currency = "USD";
    auto wrong_currency = hub_->points().RecordPurchase(store.caller, dollars);
    EXPECT_EQ(wrong_currency.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(wrong_currency.error().field, "currency");

    PurchaseRequest stranger = BookPurchase("p-3", m);
    stranger.member.card_number.clear();
    stranger.member.member_id = "1234567890";
    if (core::IsValidMemberId(stranger.member.member_id)) {
        EXPECT_EQ(hub_->points().RecordPurchase(store.caller, stranger).error().code,
                  ErrorCode::kNotFound);
    }
    EXPECT_EQ(hub_->points().RecordPurchase(m.caller, BookPurchase("p-4", m)).error().code,
              ErrorCode::kForbidden);
}

TEST_F(PointsTest, RedeemSpendsAndRefusesMoreThanTheBalance) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    Buy(store, m, "p-1", 5000);
    auto too_much = hub_->points().Redeem(store.caller, Redemption("r-1", m, 51));
    ASSERT_FALSE(too_much.has_value());
    EXPECT_EQ(too_much.error().code, ErrorCode::kInsufficientPoints);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 50);

    auto ok = hub_->points().Redeem(store.caller, Redemption("r-1", m, 30));
    ASSERT_TRUE(ok.has_value()) << ok.error().message;
    EXPECT_EQ(ok->balance, 20);
    auto replay = hub_->points().Redeem(store.caller, Redemption("r-1", m, 30));
    ASSERT_TRUE(replay.has_value());
    EXPECT_TRUE(replay->replayed);
    EXPECT_EQ(replay->balance, 20);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 20);
    auto entries = EntriesOf(m.member_id);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].kind, core::EntryKind::kRedeem);
    EXPECT_EQ(entries[0].delta, -30);
    EXPECT_EQ(entries[0].note, "Redeemed 30 points at Shibuya Books");

    // Another program's balance cannot be spent here.
    TestStore other = MakeStore("Other");
    EXPECT_EQ(hub_->points().Redeem(other.caller, Redemption("r-2", m, 1)).error().code,
              ErrorCode::kInsufficientPoints);
    EXPECT_EQ(hub_->points().Redeem(store.caller, Redemption("r-3", m, 0)).error().field, "points");
}

TEST_F(PointsTest, ConcurrentRedemptionsNeverOverdraw) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    Buy(store, m, "p-1", 10000);  // 100 points
    constexpr int kThreads = 16;
    constexpr int kPerThread = 10;
    std::atomic<int> succeeded{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                auto r = hub_->points().Redeem(
                    store.caller,
                    Redemption("r-" + std::to_string(t) + "-" + std::to_string(i), m, 3));
                if (r.has_value()) {
                    ++succeeded;
                    EXPECT_GE(r->balance, 0);
                } else {
                    EXPECT_EQ(r.error().code, ErrorCode::kInsufficientPoints);
                    ++refused;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(succeeded.load(), 33);  // 33 x 3 = 99 of 100
    EXPECT_EQ(refused.load(), kThreads * kPerThread - 33);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 1);
    int64_t sum = 0;
    for (const auto& e : EntriesOf(m.member_id)) sum += e.delta;
    EXPECT_EQ(sum, 1);
}

TEST_F(PointsTest, ConcurrentReplaysOfOneRedemptionApplyItOnce) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    Buy(store, m, "p-1", 10000);
    std::vector<std::thread> threads;
    std::atomic<int> fresh{0};
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&] {
            auto r = hub_->points().Redeem(store.caller, Redemption("r-once", m, 40));
            ASSERT_TRUE(r.has_value()) << r.error().message;
            EXPECT_EQ(r->balance, 60);
            if (!r->replayed) ++fresh;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(fresh.load(), 1);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 60);
}

TEST_F(PointsTest, ConcurrentPurchasesAndRedemptionsKeepTheLedgerConsistent) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    constexpr int kThreads = 8;
    constexpr int kEach = 15;
    std::atomic<int64_t> earned{0};
    std::atomic<int64_t> spent{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                const std::string n = std::to_string(t) + "-" + std::to_string(i);
                PurchaseRequest p;
                p.purchase_id = "p-" + n;
                p.member.member_id = m.member_id;
                p.lines.push_back({"Item", "", "", 1, 500});
                auto bought = hub_->points().RecordPurchase(store.caller, p);
                ASSERT_TRUE(bought.has_value()) << bought.error().message;
                earned += bought->points_earned;
                auto used = hub_->points().Redeem(store.caller, Redemption("r-" + n, m, 7));
                if (used.has_value()) {
                    spent += 7;
                } else {
                    EXPECT_EQ(used.error().code, ErrorCode::kInsufficientPoints);
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(earned.load(), kThreads * kEach * 5);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), earned.load() - spent.load());
}

TEST_F(PointsTest, ExpiryPassWorksThroughMoreLotsThanOneBatch) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember a = MakeMember("aki");
    TestMember b = MakeMember("ben");
    constexpr int kPurchases = 150;  // 300 lots in all, more than one batch of 256
    for (int i = 0; i < kPurchases; ++i) {
        Buy(store, a, "pa-" + std::to_string(i), 100);
        Buy(store, b, "pb-" + std::to_string(i), 200);
    }
    clock_.Advance(std::chrono::days(365));
    auto expired = hub_->points().RunExpiry();
    ASSERT_TRUE(expired.has_value()) << expired.error().message;
    EXPECT_EQ(*expired, 2 * kPurchases);
    EXPECT_EQ(BalanceOf(a.member_id, store.store.program_id), 0);
    EXPECT_EQ(BalanceOf(b.member_id, store.store.program_id), 0);
}

TEST_F(PointsTest, ExpiryPassExpiresDueLotsOnceAndRedemptionSkipsThem) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    core::EarningRule short_rule;
    short_rule.validity_days = 30;
    clock_.Advance(std::chrono::seconds(1));
    ASSERT_TRUE(hub_->rules().SetRule(store.caller, store.store.store_id, short_rule).has_value());
    Buy(store, m, "p-old", 3000);  // 30 points, expire in 30 days
    clock_.Advance(std::chrono::days(20));
    Buy(store, m, "p-new", 2000);           // 20 points, expire in 50 days from start
    clock_.Advance(std::chrono::days(10));  // p-old's lot is due now

    // A redemption books the due expiry first and cannot spend the expired points.
    auto r = hub_->points().Redeem(store.caller, Redemption("r-1", m, 25));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kInsufficientPoints);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 50);  // nothing changed

    auto expired = hub_->points().RunExpiry();
    ASSERT_TRUE(expired.has_value()) << expired.error().message;
    EXPECT_EQ(*expired, 1);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 20);
    auto entries = EntriesOf(m.member_id);
    ASSERT_FALSE(entries.empty());
    EXPECT_EQ(entries[0].kind, core::EntryKind::kExpire);
    EXPECT_EQ(entries[0].delta, -30);
    EXPECT_NE(entries[0].note.find("p-old"), std::string::npos) << entries[0].note;
    EXPECT_EQ(*hub_->points().RunExpiry(), 0);  // nothing expires twice

    auto spend = hub_->points().Redeem(store.caller, Redemption("r-2", m, 20));
    ASSERT_TRUE(spend.has_value());
    EXPECT_EQ(spend->balance, 0);
}

TEST_F(PointsTest, RedeemSpendsTheSoonestExpiringLotFirst) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    Buy(store, m, "p-1", 1000);  // 10 points, expire first
    clock_.Advance(std::chrono::days(1));
    Buy(store, m, "p-2", 1000);
    ASSERT_TRUE(hub_->points().Redeem(store.caller, Redemption("r-1", m, 10)).has_value());
    clock_.Advance(std::chrono::days(364));  // p-1's lot would be due now, but it is spent
    EXPECT_EQ(*hub_->points().RunExpiry(), 0);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 10);
    clock_.Advance(std::chrono::days(1));
    EXPECT_EQ(*hub_->points().RunExpiry(), 1);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 0);
}

TEST_F(PointsTest, RefundsReverseProportionallyAndNeverMoreThanBought) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    auto bought = hub_->points().RecordPurchase(store.caller, BookPurchase("p-1", m));
    ASSERT_TRUE(bought.has_value());  // 2280 JPY, 22 points

    RefundRequest one_novel{"rf-1", "p-1", std::nullopt, {}};
    one_novel.lines.push_back({"", "978-4-00-000001", "", 1, 0});
    auto first = hub_->points().Refund(store.caller, one_novel);
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_EQ(first->amount, 990);
    EXPECT_EQ(first->points_reversed, 9);  // floor(22 x 990 / 2280)
    EXPECT_EQ(first->points_unrecovered, 0);
    EXPECT_EQ(first->balance, 13);

    auto replay = hub_->points().Refund(store.caller, one_novel);
    ASSERT_TRUE(replay.has_value());
    EXPECT_TRUE(replay->replayed);
    EXPECT_EQ(replay->balance, 13);

    RefundRequest too_many{"rf-2", "p-1", std::nullopt, {}};
    too_many.lines.push_back({"Bookmark", "", "", 2, 0});
    auto refused = hub_->points().Refund(store.caller, too_many);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::kRuleViolation);

    RefundRequest unknown_item{"rf-2", "p-1", std::nullopt, {}};
    unknown_item.lines.push_back({"", "NOPE", "", 1, 0});
    EXPECT_EQ(hub_->points().Refund(store.caller, unknown_item).error().field, "lines[0].sku");

    RefundRequest rest{"rf-3", "p-1", 1290, {}};
    auto second = hub_->points().Refund(store.caller, rest);
    ASSERT_TRUE(second.has_value()) << second.error().message;
    EXPECT_EQ(second->points_reversed, 13);  // 22 in all for the whole purchase
    EXPECT_EQ(second->balance, 0);

    RefundRequest beyond{"rf-4", "p-1", 1, {}};
    auto over = hub_->points().Refund(store.caller, beyond);
    ASSERT_FALSE(over.has_value());
    EXPECT_EQ(over.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(over.error().field, "amount");

    auto entries = EntriesOf(m.member_id);
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].kind, core::EntryKind::kRefundReversal);
    EXPECT_EQ(entries[0].ref, "rf-3");
}

TEST_F(PointsTest, RefundOfSpentPointsBooksTheRestAsUnrecovered) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    Buy(store, m, "p-1", 5000);  // 50 points
    ASSERT_TRUE(hub_->points().Redeem(store.caller, Redemption("r-1", m, 45)).has_value());
    auto refund = hub_->points().Refund(store.caller, {"rf-1", "p-1", 5000, {}});
    ASSERT_TRUE(refund.has_value()) << refund.error().message;
    EXPECT_EQ(refund->points_reversed, 5);
    EXPECT_EQ(refund->points_unrecovered, 45);
    EXPECT_EQ(refund->balance, 0);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 0);
}

TEST_F(PointsTest, AnotherProgramsPurchaseIsNotFoundForRefund) {
    TestStore store = MakeStore("Shibuya Books");
    TestStore other = MakeStore("Other");
    TestMember m = MakeMember("aki");
    Buy(store, m, "p-1", 5000);
    auto r = hub_->points().Refund(other.caller, {"rf-1", "p-1", 100, {}});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
    // Exactly what an unknown purchase id gets: the store learns nothing.
    auto unknown = hub_->points().Refund(other.caller, {"rf-1", "p-x", 100, {}});
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().code, r.error().code);
    EXPECT_EQ(unknown.error().field, r.error().field);
    EXPECT_EQ(hub_->points()
                  .Refund(store.caller, {"rf-1", "p-1", 100, {{"A", "", "", 1, 1}}})
                  .error()
                  .field,
              "amount");
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 50);
}

// Issue 15, defect 3: store B sending a purchase id store A had used got 409 "already used": ids
// were global, so a store learned another program's ids existed, tills numbered alike collided
// between shops, and a store could claim another's ids in advance. Ids are scoped to the store.
TEST_F(PointsTest, IdempotencyIdsAreScopedToTheStoreThatSentThem) {
    auto program = hub_->admin().CreateProgram(operator_, "Ekimae chain");
    ASSERT_TRUE(program.has_value()) << program.error().message;
    TestStore a = MakeStore("Shibuya Books");
    TestStore other_program = MakeStore("Other");
    TestStore chain_a = MakeStore("Ekimae 1", program->program_id);
    TestStore chain_b = MakeStore("Ekimae 2", program->program_id);
    TestMember m = MakeMember("aki");
    for (const TestStore* store : {&a, &other_program, &chain_a, &chain_b}) {
        auto bought = hub_->points().RecordPurchase(store->caller, BookPurchase("pa-x-1", m));
        ASSERT_TRUE(bought.has_value()) << store->store.name << ": " << bought.error().message;
        EXPECT_FALSE(bought->replayed) << store->store.name;
        auto redeemed = hub_->points().Redeem(store->caller, Redemption("till3-000123", m, 2));
        ASSERT_TRUE(redeemed.has_value()) << store->store.name << ": " << redeemed.error().message;
        EXPECT_FALSE(redeemed->replayed);
        auto refunded = hub_->points().Refund(store->caller, {"rf-1", "pa-x-1", 990, {}});
        ASSERT_TRUE(refunded.has_value()) << store->store.name << ": " << refunded.error().message;
        EXPECT_FALSE(refunded->replayed);
        EXPECT_EQ(refunded->points_reversed, 9);
    }
    EXPECT_EQ(BalanceOf(m.member_id, a.store.program_id), 22 - 2 - 9);
    EXPECT_EQ(BalanceOf(m.member_id, program->program_id), 2 * (22 - 2 - 9));
    // Replays are still answered within each store.
    auto replay = hub_->points().RecordPurchase(chain_b.caller, BookPurchase("pa-x-1", m));
    ASSERT_TRUE(replay.has_value());
    EXPECT_TRUE(replay->replayed);
    // A store refunds only its own purchases, even within its program: another store's is
    // forbidden (issue 17), an id no store of the program has is not found.
    auto foreign = hub_->points().Refund(chain_b.caller, {"rf-2", "only-a", 100, {}});
    ASSERT_FALSE(foreign.has_value());
    EXPECT_EQ(foreign.error().code, ErrorCode::kNotFound);
    Buy(chain_a, m, "only-a", 1000);
    auto not_its_own = hub_->points().Refund(chain_b.caller, {"rf-2", "only-a", 100, {}});
    ASSERT_FALSE(not_its_own.has_value());
    EXPECT_EQ(not_its_own.error().code, ErrorCode::kForbidden);
    // Records and entries of equal ids at different stores are told apart by their store.
    std::vector<std::string> ledger_faults, record_faults;
    ASSERT_TRUE(hub_->storage()
                    .Read([&](storage::ReadTxn& txn) -> core::Status {
                        KZ_ASSIGN_OR_RETURN(ledger_faults, txn.CheckLedgerInvariants());
                        KZ_ASSIGN_OR_RETURN(record_faults, txn.CheckRecordInvariants());
                        return core::Status::Ok();
                    })
                    .ok());
    EXPECT_TRUE(ledger_faults.empty()) << ledger_faults.front();
    EXPECT_TRUE(record_faults.empty()) << record_faults.front();
}

// Issue 15, defect 2: with a x100 category multiplier and a x100 bonus window, one purchase of 500
// lines at quantity 100000 and unit price 10^10 earned a capped 9,223,372,036,854,775,807 points,
// and every later purchase of the member failed with 500. Bounds are refused naming the field,
// nothing saturated is stored, and the member keeps earning.
TEST_F(PointsTest, HugePurchasesAreRefusedAndNeverLockTheMemberOutOfEarning) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    clock_.Advance(std::chrono::seconds(1));
    core::EarningRule rule;
    rule.amount_per_point = 1;
    rule.category_multipliers_milli = {{"books", 100'000}};
    rule.bonus_windows = {
        {clock_.Now() - std::chrono::hours(1), clock_.Now() + std::chrono::hours(1), 100'000}};
    ASSERT_TRUE(hub_->rules().SetRule(store.caller, store.store.store_id, rule).has_value());

    PurchaseRequest huge;
    huge.purchase_id = "huge";
    huge.member.member_id = m.member_id;
    huge.lines.assign(500, {"Book", "", "books", 100'000, 10'000'000'000});
    auto refused = hub_->points().RecordPurchase(store.caller, huge);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(refused.error().field, "lines");

    PurchaseRequest too_many_points = huge;  // 10^10 x 100 x 100 = 10^14 points
    too_many_points.lines.assign(1, {"Book", "", "books", 1, 10'000'000'000});
    auto over = hub_->points().RecordPurchase(store.caller, too_many_points);
    ASSERT_FALSE(over.has_value());
    EXPECT_EQ(over.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(over.error().field, "lines");

    // A balance near its limit: the purchase that would pass it is refused, a smaller one is not.
    ASSERT_TRUE(hub_->storage()
                    .Write([&](storage::WriteTxn& txn) -> core::Status {
                        core::LedgerEntry grant{.member_id = m.member_id,
                                                .program_id = store.store.program_id,
                                                .store_id = store.store.store_id,
                                                .delta = core::kMaxBalance - 1'000'000,
                                                .kind = core::EntryKind::kAdjustment,
                                                .ref = "grant",
                                                .occurred_at = clock_.Now(),
                                                .note = "test grant"};
                        KZ_RETURN_IF_ERROR(txn.AppendEntry(grant));
                        core::Lot lot;
                        lot.member_id = m.member_id;
                        lot.program_id = store.store.program_id;
                        lot.earned = lot.remaining = grant.delta;
                        lot.earned_at = clock_.Now();
                        lot.expires_at = clock_.Now() + std::chrono::days(30);
                        KZ_RETURN_IF_ERROR(txn.InsertLot(lot));
                        return core::Status::Ok();
                    })
                    .ok());
    // The store's sale limits (issue 17) would refuse these first: lift them to the core's.
    core::TillSettings limits;
    limits.max_points_per_sale = core::kMaxPointsPerPurchase;
    ASSERT_TRUE(hub_->terminals().SetSettings(store.caller, limits).has_value());
    PurchaseRequest past_balance = huge;
    past_balance.lines.assign(1, {"Book", "", "books", 1, 101});  // 1,010,000 points
    auto full = hub_->points().RecordPurchase(store.caller, past_balance);
    ASSERT_FALSE(full.has_value());
    EXPECT_EQ(full.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(full.error().field, "lines");
    PurchaseRequest fits = past_balance;
    fits.lines.assign(1, {"Book", "", "books", 1, 100});  // 1,000,000 points: exactly the limit
    auto earned = hub_->points().RecordPurchase(store.caller, fits);
    ASSERT_TRUE(earned.has_value()) << earned.error().message;
    EXPECT_EQ(earned->balance, core::kMaxBalance);
}

// A store earning one point per yen, points valid 30 days (from a second after the start).
class RefundAfterExpiryTest : public HubTest {
  protected:
    TestStore PointPerYenStore() {
        TestStore store = MakeStore("Shibuya Books");
        core::EarningRule rule;
        rule.amount_per_point = 1;
        rule.validity_days = 30;
        clock_.Advance(std::chrono::seconds(1));
        EXPECT_TRUE(hub_->rules().SetRule(store.caller, store.store.store_id, rule).has_value());
        return store;
    }
};

// Issue 15, defect 1: a purchase of 300 points dated beyond the validity, then one of 1000; a
// redemption of 1 booked the expiry of the 300 (balance 999); refunding the first purchase answered
// points_reversed 300 and left 699: the expiry and the reversal both took the same points.
TEST_F(PointsTest, RefundAfterThePurchasesPointsExpiredDoesNotTakeThemTwice) {
    TestStore store = MakeStore("Shibuya Books");  // 1 point per 100 JPY, valid 365 days
    // The member's card is 400 days old; the old sale reaches the hub through a store node's
    // sync (a till may not date a sale before today's business day).
    clock_.Advance(-std::chrono::days(400));
    TestMember m = MakeMember("aki");
    clock_.Advance(std::chrono::days(400));
    PurchaseRequest old;
    old.purchase_id = "old1";
    old.member.member_id = m.member_id;
    old.occurred_at = clock_.Now() - std::chrono::days(400);
    old.origin = core::PurchaseOrigin::kNodeSync;
    old.lines.push_back({"Old book", "", "", 1, 30000});
    ASSERT_TRUE(hub_->points().RecordPurchase(store.caller, old).has_value());
    Buy(store, m, "new1", 100000);
    auto redeemed = hub_->points().Redeem(store.caller, Redemption("r-1", m, 1));
    ASSERT_TRUE(redeemed.has_value()) << redeemed.error().message;
    EXPECT_EQ(redeemed->balance, 999);

    auto refund = hub_->points().Refund(store.caller, {"rf-1", "old1", 30000, {}});
    ASSERT_TRUE(refund.has_value()) << refund.error().message;
    EXPECT_EQ(refund->points_reversed, 0);
    EXPECT_EQ(refund->points_expired, 300);
    EXPECT_EQ(refund->points_unrecovered, 0);
    EXPECT_EQ(refund->balance, 999);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 999);
    for (const auto& entry : EntriesOf(m.member_id)) {
        EXPECT_NE(entry.kind, core::EntryKind::kRefundReversal) << entry.note;
    }
    auto replay = hub_->points().Refund(store.caller, {"rf-1", "old1", 30000, {}});
    ASSERT_TRUE(replay.has_value());
    EXPECT_TRUE(replay->replayed);
    EXPECT_EQ(replay->points_expired, 300);
}

// The same without backdating and without the expiry pass: the refund comes after validity_days
// and books the due expiry itself first.
TEST_F(RefundAfterExpiryTest, RefundAfterValidityDaysCountsTheExpiryNotYetBooked) {
    TestStore store = PointPerYenStore();
    TestMember m = MakeMember("aki");
    Buy(store, m, "p-1", 300);
    // Half refunded while valid: 150 reversed from the purchase's own lot.
    auto first = hub_->points().Refund(store.caller, {"rf-1", "p-1", 150, {}});
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_EQ(first->points_reversed, 150);
    EXPECT_EQ(first->points_expired, 0);
    clock_.Advance(std::chrono::days(29));
    Buy(store, m, "p-2", 1000);
    clock_.Advance(std::chrono::days(2));  // p-1's lot (150 left) is due; nobody booked it
    auto second = hub_->points().Refund(store.caller, {"rf-2", "p-1", 100, {}});
    ASSERT_TRUE(second.has_value()) << second.error().message;
    EXPECT_EQ(second->points_reversed, 0);
    EXPECT_EQ(second->points_expired, 100);
    auto third = hub_->points().Refund(store.caller, {"rf-3", "p-1", 50, {}});
    ASSERT_TRUE(third.has_value()) << third.error().message;
    EXPECT_EQ(third->points_reversed, 0);
    EXPECT_EQ(third->points_expired, 50);
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 1000);
    EXPECT_EQ(*hub_->points().RunExpiry(), 0);  // booked once, by the refund
}

// Spent first, the rest expired: the share is counted against the expired points first, and only
// what was spent beyond them is taken from the other lots.
TEST_F(RefundAfterExpiryTest, RefundAfterSpendingAndExpiryTakesBackOnlyTheSpentPoints) {
    TestStore store = PointPerYenStore();
    TestMember m = MakeMember("aki");
    Buy(store, m, "p-1", 300);
    ASSERT_TRUE(hub_->points().Redeem(store.caller, Redemption("r-1", m, 100)).has_value());
    clock_.Advance(std::chrono::days(29));
    Buy(store, m, "p-2", 1000);
    clock_.Advance(std::chrono::days(2));
    ASSERT_EQ(*hub_->points().RunExpiry(), 1);  // 200 of p-1 expire
    EXPECT_EQ(BalanceOf(m.member_id, store.store.program_id), 1000);
    auto half = hub_->points().Refund(store.caller, {"rf-1", "p-1", 150, {}});
    ASSERT_TRUE(half.has_value()) << half.error().message;
    EXPECT_EQ(half->points_expired, 150);
    EXPECT_EQ(half->points_reversed, 0);
    auto rest = hub_->points().Refund(store.caller, {"rf-2", "p-1", 150, {}});
    ASSERT_TRUE(rest.has_value()) << rest.error().message;
    EXPECT_EQ(rest->points_expired, 50);
    EXPECT_EQ(rest->points_reversed, 100);
    EXPECT_EQ(rest->balance, 900);
}

}  // namespace
}  // namespace kizuna::hub::testing
