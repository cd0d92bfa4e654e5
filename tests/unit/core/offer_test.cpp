#include "core/offer.hpp"

#include <gtest/gtest.h>

#include <functional>

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

}  // namespace
}  // namespace kizuna::core
