#include "core/offer.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "core/purchase.hpp"

namespace kizuna::core {
namespace {

using std::chrono::hours;
const Timestamp kT0 = FromUnixSeconds(1'800'000'000);

Offer GoodOffer() {
    Offer o;
    o.offer_id = "of_1";
    o.store_id = "st_a";
    o.title = "秋の読書フェア";
    o.body = "文庫本が全品ポイント2倍。\n11月30日まで。";
    o.categories = {"books", "文庫"};
    o.valid_from = kT0;
    o.valid_to = kT0 + hours(24 * 7);
    return o;
}

TEST(Offer, AcceptsJapaneseOfferWithMultilineBody) { EXPECT_TRUE(ValidateOffer(GoodOffer()).ok()); }

TEST(Offer, ErrorsNameTheField) {
    struct Case {
        std::string field;
        std::function<void(Offer&)> change;
    };
    const std::vector<Case> cases = {
        {"title", [](Offer& o) { o.title = ""; }},
        {"title", [](Offer& o) { o.title = std::string(201, 't'); }},
        {"title", [](Offer& o) { o.title = "a\nb"; }},
        {"body", [](Offer& o) { o.body = std::string(5001, 'b'); }},
        {"body", [](Offer& o) { o.body = "\xED\xA0\x80"; }},
        {"categories[1]", [](Offer& o) { o.categories[1] = ""; }},
        {"categories", [](Offer& o) { o.categories.assign(51, "c"); }},
        {"valid_to", [](Offer& o) { o.valid_to = o.valid_from; }},
        {"valid_to", [](Offer& o) { o.valid_to = o.valid_from - hours(1); }},
    };
    for (const Case& c : cases) {
        Offer o = GoodOffer();
        c.change(o);
        const Status s = ValidateOffer(o);
        ASSERT_FALSE(s.ok()) << c.field;
        EXPECT_EQ(s.error().field, c.field);
    }
}

TEST(Offer, IsCurrentFromStartUntilJustBeforeEnd) {
    const Offer o = GoodOffer();
    EXPECT_FALSE(IsCurrent(o, o.valid_from - std::chrono::seconds(1)));
    EXPECT_TRUE(IsCurrent(o, o.valid_from));
    EXPECT_TRUE(IsCurrent(o, o.valid_to - std::chrono::seconds(1)));
    EXPECT_FALSE(IsCurrent(o, o.valid_to));
}

TEST(Offer, WithdrawnIsNeverCurrent) {
    Offer o = GoodOffer();
    o.withdrawn_at = kT0 + hours(1);
    EXPECT_TRUE(IsCurrent(o, kT0));
    EXPECT_FALSE(IsCurrent(o, kT0 + hours(2)));
}

TEST(Offer, MultiplierOutsideOneToTenNamesTheField) {
    Offer o = GoodOffer();
    o.points_multiplier_milli = 500;
    EXPECT_EQ(ValidateOffer(o).error().field, "points_multiplier");
    o.points_multiplier_milli = 10'001;
    EXPECT_EQ(ValidateOffer(o).error().field, "points_multiplier");
}

TEST(Offer, MultiplierMultipliesItsCategoriesOnlyWhileCurrentAndAtItsStore) {
    EarningRule rule = DefaultEarningRule("st_a", kT0 - hours(100));
    rule.category_multipliers_milli["books"] = 2000;
    Offer o = GoodOffer();  // books, 文庫
    o.points_multiplier_milli = 3000;
    const std::vector<PurchaseLine> books = {{"本", "", "books", 1, 1000}};
    const std::vector<PurchaseLine> food = {{"パン", "", "food", 1, 1000}};
    auto earned = [&](const std::vector<Offer>& offers, const std::vector<PurchaseLine>& lines,
                      Timestamp at) {
        return ComputePoints(WithOfferMultipliers(rule, offers, at), lines, at).value();
    };
    EXPECT_EQ(earned({}, books, kT0), 20);
    EXPECT_EQ(earned({o}, books, kT0), 60);  // the rule's 2x, times the offer's 3x
    EXPECT_EQ(earned({o}, food, kT0), 10);
    EXPECT_EQ(earned({o}, books, o.valid_to), 20);  // ended
    Offer elsewhere = o;
    elsewhere.store_id = "st_b";
    EXPECT_EQ(earned({elsewhere}, books, kT0), 20);
    Offer everything = o;
    everything.categories.clear();
    EXPECT_EQ(earned({everything}, food, kT0), 30);  // no category: every line
}

}  // namespace
}  // namespace kizuna::core
