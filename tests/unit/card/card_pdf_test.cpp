#include "card/card_pdf.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/card_record.hpp"
#include "test_records.hpp"

namespace kizuna::card {
namespace {

// The longest names a profile takes (100 characters), in both scripts.
std::string Repeat(const std::string& unit, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) out += unit;
    return out;
}

std::vector<CardTextLayout> LayOut(const std::string& name) {
    testing::TempDir dir;
    testing::TestHub hub;
    auto text = core::CardRecordToText(hub.SignedRecord());
    EXPECT_TRUE(text);
    std::vector<CardTextLayout> layouts;
    EXPECT_TRUE(WriteCardPdf(
        dir.Path("card.pdf"),
        CardFace{name, "9810935187351234", text ? *text : std::string("KZ1.A")}, &layouts));
    return layouts;
}

void ExpectWholeAndInside(const std::vector<CardTextLayout>& layouts) {
    ASSERT_EQ(layouts.size(), 3u);
    for (const CardTextLayout& layout : layouts) {
        EXPECT_FALSE(layout.ellipsized) << layout.text;
        EXPECT_LE(layout.width, layout.box_width + 0.01) << layout.text;
        EXPECT_GE(layout.font_size, 4.5) << layout.text;
    }
    // The number and the program name on one line each, every digit present.
    EXPECT_EQ(layouts[0].lines, 1);
    EXPECT_EQ(layouts[2].text, "9810 9351 8735 1234");
    EXPECT_EQ(layouts[2].lines, 1);
}

TEST(CardPdf, TheCardNumberAndProgramNameAreDrawnWholeNeverEllipsized) {
    const auto layouts = LayOut("山田 花子");
    ExpectWholeAndInside(layouts);
    EXPECT_EQ(layouts[1].lines, 1);
}

TEST(CardPdf, TheLongestJapaneseNameWrapsInsteadOfBeingCutOff) {
    ExpectWholeAndInside(LayOut(Repeat("寿限無", 33) + "寿"));
}

TEST(CardPdf, TheLongestLatinNameWrapsInsteadOfBeingCutOff) {
    ExpectWholeAndInside(LayOut(Repeat("Wolfeschlegel ", 7) + "St"));
}

}  // namespace
}  // namespace kizuna::card
