// The demo seeder through the real hub services on a temporary SQLite hub: the same seed gives
// the same world, and what it books keeps the ledger invariant.

#include "cli/demo_seeder.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>

#include "crypto/crypto.hpp"

namespace kizuna::cli {
namespace {

namespace fs = std::filesystem;

struct SeededHub {
    fs::path dir;
    std::unique_ptr<DemoClock> clock = std::make_unique<DemoClock>();
    std::unique_ptr<SwitchableRandom> random;
    std::unique_ptr<hub::Hub> hub;
    DemoSummary summary;
    std::optional<core::Error> error;
};

SeededHub Seed(uint64_t seed, const std::atomic<bool>* stop = nullptr) {
    crypto::InitCrypto();
    SeededHub s;
    std::string pattern = (fs::temp_directory_path() / "kizuna-demo-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
    s.dir = pattern;
    s.random = std::make_unique<SwitchableRandom>(seed);
    hub::HubOptions options;
    options.data_dir = s.dir;
    options.clock = s.clock.get();
    options.random = s.random.get();
    auto opened = hub::Hub::Open(options);
    EXPECT_TRUE(opened.has_value()) << opened.error().message;
    if (!opened) return s;
    s.hub = std::move(opened).value();
    DemoSeedOptions seed_options;
    seed_options.members = 8;
    seed_options.seed = seed;
    seed_options.days = 70;
    seed_options.stop = stop;
    DemoSeeder seeder(*s.hub, *s.clock, seed_options, [](std::string_view) {});
    auto summary = seeder.Run();
    s.clock->Follow();
    if (summary)
        s.summary = *summary;
    else
        s.error = summary.error();
    return s;
}

class DemoSeederTest : public ::testing::Test {
  protected:
    void TearDown() override {
        for (auto& s : hubs_) {
            s.hub.reset();
            fs::remove_all(s.dir);
        }
    }
    std::vector<SeededHub> hubs_;
};

TEST_F(DemoSeederTest, TheSameSeedGivesTheSameWorld) {
    hubs_.push_back(Seed(42));
    hubs_.push_back(Seed(42));
    ASSERT_FALSE(hubs_[0].error) << hubs_[0].error->message;
    ASSERT_FALSE(hubs_[1].error) << hubs_[1].error->message;
    const DemoSummary a = hubs_[0].summary;
    const DemoSummary b = hubs_[1].summary;
    ASSERT_EQ(a.members_to_try.size(), 2u);
    ASSERT_EQ(b.members_to_try.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(a.members_to_try[i].member_id, b.members_to_try[i].member_id);
        EXPECT_EQ(a.members_to_try[i].card_number, b.members_to_try[i].card_number);
        EXPECT_EQ(a.members_to_try[i].password, b.members_to_try[i].password);
        EXPECT_EQ(a.members_to_try[i].name, b.members_to_try[i].name);
    }
    ASSERT_EQ(a.stores.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(a.stores[i].store_id, b.stores[i].store_id);
    EXPECT_EQ(a.members, 8);
    EXPECT_GT(a.purchases, 0);
    EXPECT_EQ(a.purchases, b.purchases);
    EXPECT_EQ(a.redemptions, b.redemptions);
    EXPECT_EQ(a.points_earned, b.points_earned);
    EXPECT_EQ(a.points_redeemed, b.points_redeemed);
    EXPECT_EQ(a.refunds, 6);
    EXPECT_EQ(a.offers, 6);

    hubs_.push_back(Seed(43));
    EXPECT_NE(hubs_[2].summary.members_to_try[0].member_id, a.members_to_try[0].member_id);
}

TEST_F(DemoSeederTest, EveryBalanceIsTheSumOfItsEntries) {
    hubs_.push_back(Seed(7));
    SeededHub& s = hubs_[0];
    ASSERT_TRUE(s.hub);
    ASSERT_FALSE(s.error) << s.error->message;
    for (const DemoMemberInfo& m : s.summary.members_to_try) {
        // Every entry, page after page.
        std::map<std::string, int64_t> sums;
        hub::UsageQuery query{.limit = hub::kMaxUsageLimit};
        std::vector<storage::Balance> balances;
        do {
            auto usage = s.hub->members().GetUsage(hub::Caller::Operator(), m.member_id, query);
            ASSERT_TRUE(usage.has_value()) << usage.error().message;
            for (const auto& entry : usage->entries) sums[entry.program_id] += entry.delta;
            balances = usage->balances;
            query.cursor = usage->next_cursor;
        } while (!query.cursor.empty());
        EXPECT_FALSE(balances.empty());
        for (const auto& balance : balances) {
            EXPECT_EQ(balance.points, sums[balance.program_id]) << m.member_id;
            EXPECT_GE(balance.points, 0);
        }
        // The member logs in with the printed password.
        auto session = s.hub->auth().Login({m.member_id, m.password, "test"});
        EXPECT_TRUE(session.has_value()) << session.error().message;
    }
}

TEST_F(DemoSeederTest, StopsWhenAskedToStop) {
    std::atomic<bool> stop{true};
    hubs_.push_back(Seed(1, &stop));
    ASSERT_TRUE(hubs_[0].error);
    EXPECT_EQ(hubs_[0].error->code, core::ErrorCode::kUnavailable);
    EXPECT_NE(hubs_[0].error->message.find("interrupted"), std::string::npos);
}

}  // namespace
}  // namespace kizuna::cli
