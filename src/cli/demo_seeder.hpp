#pragma once
// DemoSeeder: fills a fresh hub with a year of plausible activity through the hub's services
// (the same code paths the HTTP API uses): two programs (a station-front chain with a bookshop
// and a café, and an online mall shop of its own), earning rules with category multipliers and
// bonus windows, members with Japanese (kanji and kana readings) and English names, Japanese
// addresses and phones and mixed consents, a few thousand purchases with realistic categories and
// prices, redemptions, refunds and each store's offers. Deterministic for a given seed.
// Not thread-safe; Run() uses worker threads internally.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/demo_environment.hpp"
#include "core/result.hpp"
#include "hub/hub.hpp"

namespace kizuna::cli {

struct DemoStoreInfo {
    std::string store_id;
    std::string name;
    std::string kind;
    std::string program_id;
    std::string program_name;
    std::string api_key;
    std::string sample_item;  // a --item value from its catalogue, for the printed examples
};

struct DemoMemberInfo {
    std::string member_id;
    std::string card_number;
    std::string password;
    std::string name;
    std::string email;
};

struct DemoSummary {
    std::vector<DemoStoreInfo> stores;
    std::vector<DemoMemberInfo> members_to_try;  // two members with their passwords
    int64_t members = 0;
    int64_t purchases = 0;
    int64_t redemptions = 0;
    int64_t refunds = 0;
    int64_t offers = 0;
    int64_t points_earned = 0;
    int64_t points_redeemed = 0;
};

struct DemoSeedOptions {
    int members = 200;
    uint64_t seed = 1;
    int days = 365;    // how far back the simulated history starts
    int workers = 16;  // members seeded concurrently (the group commit batches their writes)
    const std::atomic<bool>* stop = nullptr;  // set and true: Run stops before the next day
};

class DemoSeeder {
  public:
    // `clock` must be the clock the hub was opened with. `progress` receives one line per
    // simulated month.
    DemoSeeder(hub::Hub& hub, DemoClock& clock, DemoSeedOptions options,
               std::function<void(std::string_view)> progress);

    // Seeds and leaves the clock pinned at the end of the simulated history; the caller makes it
    // follow the system clock again. Errors: the first service error, with what was being done.
    core::Result<DemoSummary> Run();

  private:
    hub::Hub& hub_;
    DemoClock& clock_;
    DemoSeedOptions options_;
    std::function<void(std::string_view)> progress_;
};

}  // namespace kizuna::cli
