#include "core/campaign.hpp"

#include <gtest/gtest.h>

namespace kizuna::core {
namespace {

Campaign Spring() {
    Campaign c;
    c.campaign_id = "cp_1";
    c.program_id = "pg_1";
    c.name = "Spring bonus";
    c.budget_points = 1000;
    c.granted_points = 900;
    c.validity_days = 30;
    return c;
}

TEST(Campaign, GrantWithinWhatIsLeftOfTheBudget) {
    EXPECT_TRUE(CheckGrantWithinBudget(Spring(), 100).ok());
    const Status over = CheckGrantWithinBudget(Spring(), 101);
    ASSERT_FALSE(over.ok());
    EXPECT_EQ(over.error().code, ErrorCode::kRuleViolation);
    EXPECT_NE(over.error().message.find("100 points left"), std::string::npos);
    EXPECT_EQ(CheckGrantWithinBudget(Spring(), 0).error().code, ErrorCode::kInvalidArgument);
}

TEST(Campaign, LotExpiresAfterTheCampaignsValidity) {
    const Timestamp now = FromUnixSeconds(1'800'000'000);
    const Lot lot = CampaignLot(Spring(), "1000000009", 50, now);
    EXPECT_EQ(lot.earned, 50);
    EXPECT_EQ(lot.remaining, 50);
    EXPECT_EQ(lot.program_id, "pg_1");
    EXPECT_TRUE(lot.purchase_id.empty());
    EXPECT_EQ(lot.expires_at - now, std::chrono::days(30));
}

TEST(Campaign, CampaignLotIsSpentBeforeALaterExpiringPurchaseLot) {
    const Timestamp now = FromUnixSeconds(1'800'000'000);
    Lot purchase_lot = CampaignLot(Spring(), "1000000009", 100, now);
    purchase_lot.lot_id = 1;
    purchase_lot.expires_at = now + std::chrono::days(365);
    Lot bonus = CampaignLot(Spring(), "1000000009", 40, now);
    bonus.lot_id = 2;
    auto draws = PlanRedemption({purchase_lot, bonus}, 50, now);
    ASSERT_TRUE(draws.has_value());
    EXPECT_EQ(*draws, (std::vector<LotDraw>{{2, 40}, {1, 10}}));
}

TEST(Campaign, ValidationNamesTheField) {
    Campaign c = Spring();
    EXPECT_TRUE(ValidateNewCampaign(c).ok());
    c.name = "";
    EXPECT_EQ(ValidateNewCampaign(c).error().field, "name");
    c = Spring();
    c.budget_points = 0;
    EXPECT_EQ(ValidateNewCampaign(c).error().field, "budget_points");
    c = Spring();
    c.validity_days = 0;
    EXPECT_EQ(ValidateNewCampaign(c).error().field, "validity_days");
    EXPECT_EQ(CampaignEntryRef("cp_1", "g-7"), "campaign:cp_1:g-7");
}

}  // namespace
}  // namespace kizuna::core
