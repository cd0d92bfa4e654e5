#include "core/purchase.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace kizuna::core {
namespace {

std::vector<PurchaseLine> TwoLines() {
    return {{"本 (文庫)", "978-4-00-000000-0", "books", 2, 880}, {"Coffee", "", "food", 1, 450}};
}

TEST(Purchase, ClientIdAllowsSafeCharactersOnly) {
    EXPECT_TRUE(ValidateClientId("pos-7:2026.11.22_0001", "purchase_id").ok());
    EXPECT_TRUE(ValidateClientId(std::string(64, 'a'), "purchase_id").ok());
    for (const std::string& bad : {std::string(), std::string(65, 'a'), std::string("a b"),
                                   std::string("a/b"), std::string("注文1")}) {
        const Status s = ValidateClientId(bad, "refund_id");
        ASSERT_FALSE(s.ok()) << bad;
        EXPECT_EQ(s.error().field, "refund_id");
    }
}

TEST(Purchase, TotalIsSumOfQuantityTimesPrice) {
    EXPECT_EQ(TotalOf(TwoLines()), 2 * 880 + 450);
    EXPECT_EQ(TotalOf({}), 0);
}

TEST(Purchase, ValidLinesPass) {
    EXPECT_TRUE(ValidateLines(TwoLines()).ok());
    // 500 lines totalling exactly the 10^12 limit; one line at the largest quantity and price.
    std::vector<PurchaseLine> max_lines(500, PurchaseLine{"n", "", "", 100000, 20'000});
    EXPECT_TRUE(ValidateLines(max_lines).ok());
    EXPECT_TRUE(ValidateLines({PurchaseLine{"n", "", "", 100, 10'000'000'000}}).ok());
}

// Issue 15, defect 2: 500 lines at quantity 100000 and unit price 10^10 (5 x 10^17 in all) were
// accepted; a purchase total is bounded at 10^12, refused naming "lines".
TEST(Purchase, ATotalAboveTheLimitIsRefused) {
    std::vector<PurchaseLine> huge(500, PurchaseLine{"n", "", "", 100000, 10'000'000'000});
    Status refused = ValidateLines(huge);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(refused.error().field, "lines");
    std::vector<PurchaseLine> just_over(500, PurchaseLine{"n", "", "", 100000, 20'000});
    just_over.back().unit_price = 20'001;
    EXPECT_EQ(ValidateLines(just_over).error().field, "lines");
}

TEST(Purchase, LineErrorsNameTheLineAndField) {
    struct Case {
        std::string field;
        std::function<void(std::vector<PurchaseLine>&)> change;
    };
    const std::vector<Case> cases = {
        {"lines", [](auto& l) { l.clear(); }},
        {"lines", [](auto& l) { l.resize(501, l[0]); }},
        {"lines[1].name", [](auto& l) { l[1].name = ""; }},
        {"lines[1].name", [](auto& l) { l[1].name = std::string(201, 'n'); }},
        {"lines[1].name", [](auto& l) { l[1].name = "a\x01"; }},
        {"lines[0].sku", [](auto& l) { l[0].sku = "\xFF"; }},
        {"lines[0].category", [](auto& l) { l[0].category = std::string(101, 'c'); }},
        {"lines[1].quantity", [](auto& l) { l[1].quantity = 0; }},
        {"lines[1].quantity", [](auto& l) { l[1].quantity = 100001; }},
        {"lines[0].unit_price", [](auto& l) { l[0].unit_price = -1; }},
        {"lines[0].unit_price", [](auto& l) { l[0].unit_price = 10'000'000'001; }},
    };
    for (const Case& c : cases) {
        auto lines = TwoLines();
        c.change(lines);
        const Status s = ValidateLines(lines);
        ASSERT_FALSE(s.ok()) << c.field;
        EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
        EXPECT_EQ(s.error().field, c.field);
    }
}

Purchase SamplePurchase() {
    Purchase p;
    p.purchase_id = "p1";
    p.member_id = "1000000009";
    p.store_id = "st_a";
    p.occurred_at = FromUnixSeconds(1'800'000'000);
    p.currency = "JPY";
    p.lines = TwoLines();
    return p;
}

TEST(Purchase, CanonicalFormIsStableAndIgnoresServerSideFields) {
    Purchase a = SamplePurchase();
    Purchase b = SamplePurchase();
    b.recorded_at = FromUnixSeconds(1);
    b.points_earned = 99;
    b.balance_after = 5;
    b.total = 123;
    b.fingerprint = "x";
    EXPECT_EQ(CanonicalPurchase(a), CanonicalPurchase(b));
}

TEST(Purchase, CanonicalFormChangesWithEveryRequestField) {
    const std::string base = CanonicalPurchase(SamplePurchase());
    const std::vector<std::function<void(Purchase&)>> changes = {
        [](Purchase& p) { p.purchase_id = "p2"; },
        [](Purchase& p) { p.member_id = "1000000010"; },
        [](Purchase& p) { p.card_number = "9810000000000000"; },
        [](Purchase& p) { p.store_id = "st_b"; },
        [](Purchase& p) { p.occurred_at += std::chrono::seconds(1); },
        [](Purchase& p) { p.currency = "USD"; },
        [](Purchase& p) { p.lines[0].quantity = 3; },
        [](Purchase& p) { p.lines[1].unit_price = 451; },
        [](Purchase& p) { p.lines[1].category = "drinks"; },
        [](Purchase& p) { p.lines[1].sku = "s"; },
        [](Purchase& p) { std::swap(p.lines[0], p.lines[1]); },
        [](Purchase& p) { p.lines.pop_back(); },
    };
    for (std::size_t i = 0; i < changes.size(); ++i) {
        Purchase p = SamplePurchase();
        changes[i](p);
        EXPECT_NE(CanonicalPurchase(p), base) << "change " << i;
    }
}

TEST(Purchase, CanonicalFieldsCannotBleedIntoEachOther) {
    Purchase a = SamplePurchase();
    Purchase b = SamplePurchase();
    a.lines = {{"ab", "", "c", 1, 1}};
    b.lines = {{"a", "", "bc", 1, 1}};
    EXPECT_NE(CanonicalPurchase(a), CanonicalPurchase(b));
    a.lines = {{"x;1:y", "", "", 1, 1}};
    b.lines = {{"x", "y", "", 1, 1}};
    EXPECT_NE(CanonicalPurchase(a), CanonicalPurchase(b));
}

TEST(Purchase, CanonicalRedemptionAndRefundCoverTheirFields) {
    Redemption r{"r1", "1000000009", "st_a", "pg", 50, FromUnixSeconds(5), 0, "", "", ""};
    Redemption r2 = r;
    r2.occurred_at = FromUnixSeconds(6);  // server time: not part of the request
    r2.balance_after = 10;
    EXPECT_EQ(CanonicalRedemption(r), CanonicalRedemption(r2));
    r2.points = 51;
    EXPECT_NE(CanonicalRedemption(r), CanonicalRedemption(r2));

    Refund f;
    f.refund_id = "f1";
    f.purchase_id = "p1";
    f.store_id = "st_a";
    f.amount = 450;
    Refund g = f;
    g.points_reversed = 4;
    EXPECT_EQ(CanonicalRefund(f, {}), CanonicalRefund(g, {}));
    EXPECT_NE(CanonicalRefund(f, {}), CanonicalRefund(f, {TwoLines()[1]}));
    g.amount = 451;
    EXPECT_NE(CanonicalRefund(f, {}), CanonicalRefund(g, {}));
    EXPECT_NE(CanonicalRedemption(r), CanonicalRefund(f, {}));
}

}  // namespace
}  // namespace kizuna::core
