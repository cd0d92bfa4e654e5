#include <gtest/gtest.h>

#include "core/card.hpp"
#include "core/earning_rule.hpp"
#include "core/ledger.hpp"
#include "core/store.hpp"

namespace kizuna::core {
namespace {

TEST(Names, CardMediumRoundTripsAndRejectsUnknown) {
    for (const CardMedium m : {CardMedium::kChip, CardMedium::kQr, CardMedium::kVirtual}) {
        auto parsed = ParseCardMedium(CardMediumName(m), "medium");
        ASSERT_TRUE(parsed.has_value());
        EXPECT_EQ(*parsed, m);
    }
    auto bad = ParseCardMedium("Chip", "card.medium");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().field, "card.medium");
    EXPECT_EQ(CardStatusName(CardStatus::kActive), "active");
    EXPECT_EQ(CardStatusName(CardStatus::kRevoked), "revoked");
}

TEST(Names, StoreKindRoundTripsAndRejectsUnknown) {
    EXPECT_EQ(*ParseStoreKind("physical", "kind"), StoreKind::kPhysical);
    EXPECT_EQ(*ParseStoreKind("online", "kind"), StoreKind::kOnline);
    EXPECT_EQ(StoreKindName(StoreKind::kOnline), "online");
    auto bad = ParseStoreKind("mall", "kind");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().field, "kind");
}

TEST(Names, RoundingRoundTrips) {
    for (const Rounding r : {Rounding::kFloor, Rounding::kCeil, Rounding::kNearest}) {
        EXPECT_EQ(*ParseRounding(RoundingName(r), "rounding"), r);
    }
    EXPECT_FALSE(ParseRounding("round", "rounding").has_value());
}

TEST(Names, EntryKindRoundTrips) {
    for (const EntryKind k : {EntryKind::kEarn, EntryKind::kRedeem, EntryKind::kExpire,
                              EntryKind::kRefundReversal, EntryKind::kAdjustment}) {
        EXPECT_EQ(*ParseEntryKind(EntryKindName(k)), k);
    }
    EXPECT_EQ(EntryKindName(EntryKind::kRefundReversal), "refund_reversal");
    EXPECT_FALSE(ParseEntryKind("bonus").has_value());
}

TEST(Store, ValidateNameAcceptsJapaneseAndRejectsBlankOrLong) {
    EXPECT_TRUE(ValidateName("渋谷ブックス", "name").ok());
    EXPECT_FALSE(ValidateName("", "name").ok());
    EXPECT_FALSE(ValidateName("   ", "name").ok());
    EXPECT_FALSE(ValidateName("a\tb", "name").ok());
    EXPECT_TRUE(ValidateName(std::string(100, 'x'), "name").ok());
    auto long_name = ValidateName(std::string(101, 'x'), "program.name");
    ASSERT_FALSE(long_name.ok());
    EXPECT_EQ(long_name.error().field, "program.name");
}

TEST(Store, ValidateCurrencyWantsThreeUpperCaseLetters) {
    EXPECT_TRUE(ValidateCurrency("JPY", "currency").ok());
    EXPECT_TRUE(ValidateCurrency("EUR", "currency").ok());
    for (const char* bad : {"jpy", "JP", "JPYY", "", "J1Y"}) {
        auto s = ValidateCurrency(bad, "currency");
        ASSERT_FALSE(s.ok()) << bad;
        EXPECT_EQ(s.error().field, "currency");
    }
}

}  // namespace
}  // namespace kizuna::core
