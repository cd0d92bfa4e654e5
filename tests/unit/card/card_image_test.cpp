#include "card/card_image.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "test_records.hpp"

namespace kizuna::card {
namespace {

TEST(CardImage, SavesAndLoadsRecordsInOrder) {
    testing::TempDir dir;
    CardImage image = CardImage::Blank(3);
    ASSERT_TRUE(image.Append(std::string("\x01\x02\xFF", 3)));
    ASSERT_TRUE(image.Append("abc"));
    ASSERT_TRUE(image.Save(dir.Path("card.img")));
    auto loaded = CardImage::Load(dir.Path("card.img"));
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_EQ(loaded->aid(), kKizunaAid);
    EXPECT_EQ(loaded->capacity(), 3u);
    EXPECT_EQ(loaded->records(), image.records());
}

TEST(CardImage, MissingFileIsNotFound) {
    testing::TempDir dir;
    auto loaded = CardImage::Load(dir.Path("none.img"));
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, core::ErrorCode::kNotFound);
}

TEST(CardImage, RefusesTextThatIsNotACardImage) {
    EXPECT_FALSE(CardImage::Parse("hello\n"));
    EXPECT_FALSE(CardImage::Parse("kizuna-card-image 1\naid F04B495A554E4101\n"));  // no capacity
    EXPECT_FALSE(CardImage::Parse("kizuna-card-image 1\naid F0\ncapacity 2\n"));    // short aid
    EXPECT_FALSE(CardImage::Parse(
        "kizuna-card-image 1\naid F04B495A554E4101\ncapacity 1\nrecord 01\nrecord 02\n"));
    EXPECT_FALSE(CardImage::Parse("kizuna-card-image 1\naid F04B495A554E4101\ncapacity 1\nx 1\n"));
}

TEST(CardImage, AppendStopsAtCapacity) {
    CardImage image = CardImage::Blank(1);
    ASSERT_TRUE(image.Append("one"));
    EXPECT_TRUE(image.full());
    auto refused = image.Append("two");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, core::ErrorCode::kRuleViolation);
}

}  // namespace
}  // namespace kizuna::card
