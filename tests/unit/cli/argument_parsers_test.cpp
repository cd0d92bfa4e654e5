#include "cli/argument_parsers.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <set>

namespace kizuna::cli {
namespace {

using core::ErrorCode;

TEST(ParseItem, ReadsNameCategoryAndPriceWithQuantityOne) {
    auto line = ParseItem("緑茶,drinks,150");
    ASSERT_TRUE(line.has_value()) << line.error().message;
    EXPECT_EQ(line->name, "緑茶");
    EXPECT_EQ(line->category, "drinks");
    EXPECT_EQ(line->unit_price, 150);
    EXPECT_EQ(line->quantity, 1);
    EXPECT_EQ(line->sku, "");
}

TEST(ParseItem, ReadsQuantityAndSku) {
    auto line = ParseItem("Notebook, stationery, 480, 3, ST-NOTE-A5");
    ASSERT_TRUE(line.has_value()) << line.error().message;
    EXPECT_EQ(line->name, "Notebook");
    EXPECT_EQ(line->quantity, 3);
    EXPECT_EQ(line->sku, "ST-NOTE-A5");
}

TEST(ParseItem, QuotedNameMayContainCommasAndQuotes) {
    auto line = ParseItem(R"("Book ""A, B"",2nd ed",books,1650)");
    ASSERT_TRUE(line.has_value()) << line.error().message;
    EXPECT_EQ(line->name, R"(Book "A, B",2nd ed)");
    EXPECT_EQ(line->unit_price, 1650);
}

TEST(ParseItem, CategoryMayBeEmpty) {
    auto line = ParseItem("Tea,,300");
    ASSERT_TRUE(line.has_value());
    EXPECT_EQ(line->category, "");
}

TEST(ParseItem, RejectsMalformedItemsNamingTheOption) {
    for (const char* bad : {"Tea", "Tea,drinks", ",drinks,100", "Tea,drinks,19.80", "Tea,drinks,-5",
                            "Tea,drinks,100,0", "Tea,drinks,100,x", "Tea,drinks,100,1,sku,extra",
                            "\"Tea,drinks,100", "Tea,drinks,99999999999999999999"}) {
        auto line = ParseItem(bad);
        ASSERT_FALSE(line.has_value()) << bad;
        EXPECT_EQ(line.error().code, ErrorCode::kInvalidArgument);
        EXPECT_EQ(line.error().field, "--item");
        EXPECT_NE(line.error().message.find("--item"), std::string::npos);
    }
}

TEST(ParseItemsCsv, ReadsLinesSkippingBlanksAndComments) {
    auto lines = ParseItemsCsv("# basket\n緑茶,drinks,150,2\n\r\nNotebook,stationery,480\r\n",
                               "--items-file");
    ASSERT_TRUE(lines.has_value()) << lines.error().message;
    ASSERT_EQ(lines->size(), 2u);
    EXPECT_EQ((*lines)[0].quantity, 2);
    EXPECT_EQ((*lines)[1].name, "Notebook");
}

TEST(ParseItemsCsv, HeaderNamesColumnsInAnyOrder) {
    auto lines = ParseItemsCsv("\xEF\xBB\xBFsku,price,name,qty\nBK-1,506,文庫本,2\n", "f");
    ASSERT_TRUE(lines.has_value()) << lines.error().message;
    ASSERT_EQ(lines->size(), 1u);
    EXPECT_EQ((*lines)[0].sku, "BK-1");
    EXPECT_EQ((*lines)[0].unit_price, 506);
    EXPECT_EQ((*lines)[0].name, "文庫本");
    EXPECT_EQ((*lines)[0].quantity, 2);
    EXPECT_EQ((*lines)[0].category, "");
}

TEST(ParseItemsCsv, ErrorsNameTheLine) {
    auto lines = ParseItemsCsv("Tea,drinks,150\n\nCake,food,abc\n", "--items-file");
    ASSERT_FALSE(lines.has_value());
    EXPECT_NE(lines.error().message.find("--items-file:3"), std::string::npos)
        << lines.error().message;
}

TEST(ParseItemsCsv, RejectsUnknownHeaderAndEmptyFiles) {
    EXPECT_FALSE(ParseItemsCsv("name,colour,price\n", "f").has_value());
    EXPECT_FALSE(ParseItemsCsv("# nothing\n\n", "f").has_value());
}

TEST(ParseMultiplier, ReadsCategoryAndThousandths) {
    auto m = ParseMultiplier("books=2");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->first, "books");
    EXPECT_EQ(m->second, 2000);
    m = ParseMultiplier("tea = 1.5");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->first, "tea");
    EXPECT_EQ(m->second, 1500);
    m = ParseMultiplier("a=b=0.125");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->first, "a=b");
    EXPECT_EQ(m->second, 125);
}

TEST(ParseMultiplier, RejectsMalformed) {
    for (const char* bad : {"books", "=2", "books=", "books=-1", "books=1.2345", "books=x",
                            "books=1e3", "books=1.", "books=.5"}) {
        auto m = ParseMultiplier(bad);
        EXPECT_FALSE(m.has_value()) << bad;
    }
}

TEST(FormatMilli, IsTheShortestExactDecimal) {
    EXPECT_EQ(FormatMilli(2000), "2");
    EXPECT_EQ(FormatMilli(1500), "1.5");
    EXPECT_EQ(FormatMilli(125), "0.125");
    EXPECT_EQ(FormatMilli(1050), "1.05");
    for (int64_t milli : {0, 1, 999, 1000, 1001, 12345}) {
        auto back = ParseMilli(FormatMilli(milli), "x");
        ASSERT_TRUE(back.has_value());
        EXPECT_EQ(*back, milli);
    }
}

class WithTokyoTime : public ::testing::Test {
  protected:
    void SetUp() override {
        const char* tz = std::getenv("TZ");
        saved_ = tz ? std::optional<std::string>(tz) : std::nullopt;
        setenv("TZ", "Asia/Tokyo", 1);
        tzset();
    }
    void TearDown() override {
        if (saved_)
            setenv("TZ", saved_->c_str(), 1);
        else
            unsetenv("TZ");
        tzset();
    }
    std::optional<std::string> saved_;
};

using ParseTime = WithTokyoTime;

TEST_F(ParseTime, AcceptsRfc3339WithZoneAsIs) {
    auto t = ParseTimeArgument("2026-11-22T15:04:05Z", "--at", {});
    ASSERT_TRUE(t.has_value()) << t.error().message;
    EXPECT_EQ(core::FormatRfc3339(*t), "2026-11-22T15:04:05Z");
    t = ParseTimeArgument("2026-11-22T09:00:00+09:00", "--at", {});
    ASSERT_TRUE(t.has_value()) << t.error().message;
    EXPECT_EQ(core::FormatRfc3339(*t), "2026-11-22T00:00:00Z");
}

TEST_F(ParseTime, ReadsTimesWithoutZoneAsLocal) {
    auto t = ParseTimeArgument("2026-11-22", "--from", {});
    ASSERT_TRUE(t.has_value()) << t.error().message;
    EXPECT_EQ(core::FormatRfc3339(*t), "2026-11-21T15:00:00Z");
    t = ParseTimeArgument("2026-11-22 10:30", "--from", {});
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(core::FormatRfc3339(*t), "2026-11-22T01:30:00Z");
    t = ParseTimeArgument("2026-11-22T10:30:15", "--from", {});
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(core::FormatRfc3339(*t), "2026-11-22T01:30:15Z");
}

TEST_F(ParseTime, NowIsTheGivenNow) {
    const core::Timestamp now = core::FromUnixSeconds(1'800'000'000);
    auto t = ParseTimeArgument("now", "--at", now);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(*t, now);
}

TEST_F(ParseTime, RejectsImpossibleDatesAndGarbage) {
    for (const char* bad : {"2026-02-30", "2026-13-01", "2026-11-22T25:00", "yesterday",
                            "22/11/2026", "2026-11-22T10", ""}) {
        auto t = ParseTimeArgument(bad, "--at", {});
        ASSERT_FALSE(t.has_value()) << bad;
        EXPECT_EQ(t.error().field, "--at");
    }
}

using ParseBonus = WithTokyoTime;

TEST_F(ParseBonus, ReadsStartEndAndMultiplier) {
    auto w = ParseBonusWindow("2026-12-24,2026-12-26,3");
    ASSERT_TRUE(w.has_value()) << w.error().message;
    EXPECT_EQ(core::FormatRfc3339(w->start), "2026-12-23T15:00:00Z");
    EXPECT_EQ(core::FormatRfc3339(w->end), "2026-12-25T15:00:00Z");
    EXPECT_EQ(w->multiplier_milli, 3000);
    w = ParseBonusWindow("2026-12-24T00:00:00Z,2026-12-24T12:00:00Z,1.25");
    ASSERT_TRUE(w.has_value()) << w.error().message;
    EXPECT_EQ(w->multiplier_milli, 1250);
}

TEST_F(ParseBonus, RejectsWrongShapesAndEmptyWindows) {
    for (const char* bad :
         {"2026-12-24,2026-12-26", "2026-12-24,2026-12-26,2,4", "2026-12-26,2026-12-24,2",
          "2026-12-24,2026-12-24,2", "2026-12-24,2026-12-26,x"}) {
        auto w = ParseBonusWindow(bad);
        ASSERT_FALSE(w.has_value()) << bad;
        EXPECT_EQ(w.error().field, "--bonus");
    }
}

TEST(ParseRefundItem, ReadsKeyAndQuantity) {
    auto item = ParseRefundItem("4901234567894,2");
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(item->key, "4901234567894");
    EXPECT_EQ(item->quantity, 2);
    item = ParseRefundItem("緑茶");
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(item->key, "緑茶");
    EXPECT_EQ(item->quantity, 1);
    EXPECT_FALSE(ParseRefundItem(",2").has_value());
    EXPECT_FALSE(ParseRefundItem("x,0").has_value());
    EXPECT_FALSE(ParseRefundItem("x,1,2").has_value());
}

TEST(NewClientId, IsAFreshValidClientIdEachTime) {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const std::string id = NewClientId();
        ASSERT_EQ(id.size(), 36u);
        EXPECT_EQ(id[14], '4');
        EXPECT_TRUE(core::ValidateClientId(id, "purchase_id").ok()) << id;
        EXPECT_TRUE(seen.insert(id).second) << "repeated " << id;
    }
}

}  // namespace
}  // namespace kizuna::cli
