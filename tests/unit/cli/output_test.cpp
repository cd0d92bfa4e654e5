#include "cli/output.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace kizuna::cli {
namespace {

TEST(DisplayWidth, CountsWideCharactersTwice) {
    EXPECT_EQ(DisplayWidth("abc"), 3u);
    EXPECT_EQ(DisplayWidth("山田 太郎"), 9u);
    EXPECT_EQ(DisplayWidth("ヤマダ"), 6u);
    EXPECT_EQ(DisplayWidth("ｱｲｳ"), 3u) << "half-width katakana is narrow";
    EXPECT_EQ(DisplayWidth("Ｔ"), 2u) << "full-width Latin is wide";
    EXPECT_EQ(DisplayWidth("e\xCC\x81"), 1u) << "a combining accent takes no column";
}

TEST(Table, AlignsColumnsByDisplayWidth) {
    Table table({"name", "points"});
    table.AlignRight(1);
    table.AddRow({"山田 太郎", "1,200"});
    table.AddRow({"Ann Lee", "35"});
    std::ostringstream out;
    table.Print(out);
    EXPECT_EQ(out.str(),
              "name       points\n"
              "山田 太郎   1,200\n"
              "Ann Lee        35\n");
}

TEST(Table, LastLeftAlignedColumnIsNotPadded) {
    Table table({"id", "title"});
    table.AddRow({"1", "年末セール"});
    table.AddRow({"22", "x"});
    std::ostringstream out;
    table.Print(out);
    EXPECT_EQ(out.str(), "id  title\n1   年末セール\n22  x\n");
}

TEST(PrintSummary, PadsKeysToOneWidth) {
    std::ostringstream out;
    PrintSummary(out, {{"member id", "1234567890"}, {"balance", "120 points"}});
    EXPECT_EQ(out.str(), "member id: 1234567890\nbalance:   120 points\n");
}

TEST(GroupThousands, InsertsCommas) {
    EXPECT_EQ(GroupThousands(0), "0");
    EXPECT_EQ(GroupThousands(999), "999");
    EXPECT_EQ(GroupThousands(1000), "1,000");
    EXPECT_EQ(GroupThousands(1234567), "1,234,567");
    EXPECT_EQ(GroupThousands(-1234), "-1,234");
    EXPECT_EQ(GroupThousands(INT64_MIN), "-9,223,372,036,854,775,808");
}

TEST(FormatMoney, ShowsYenWithTheSignAndOthersWithTheirCode) {
    EXPECT_EQ(FormatMoney(1980, "JPY"), "¥1,980");
    EXPECT_EQ(FormatMoney(1250, "USD"), "1,250 USD");
}

TEST(JsonAccess, FallsBackInsteadOfThrowing) {
    const nlohmann::json j = {{"a", "x"}, {"n", 5}, {"o", {{"k", 1}}}};
    EXPECT_EQ(JsonString(j, "a"), "x");
    EXPECT_EQ(JsonString(j, "n"), "5");
    EXPECT_EQ(JsonString(j, "missing", "dflt"), "dflt");
    EXPECT_EQ(JsonString(j, "o", "dflt"), "dflt");
    EXPECT_EQ(JsonInt(j, "n"), 5);
    EXPECT_EQ(JsonInt(j, "a", -1), -1);
    EXPECT_EQ(JsonInt(nlohmann::json::array(), "n", 7), 7);
}

}  // namespace
}  // namespace kizuna::cli
