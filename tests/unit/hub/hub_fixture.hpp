#pragma once
// A real hub on a real SQLite file in a fresh temporary directory, with a clock the test
// drives. After every test the ledger invariants are checked against the database.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "core/time.hpp"
#include "hub/hub.hpp"

namespace kizuna::hub::testing {

class TestClock final : public core::Clock {
  public:
    explicit TestClock(core::Timestamp start) : now_(core::ToUnixSeconds(start)) {}
    core::Timestamp Now() const override { return core::FromUnixSeconds(now_.load()); }
    void Advance(std::chrono::seconds by) { now_ += by.count(); }

  private:
    std::atomic<int64_t> now_;
};

struct TestStore {
    Caller caller;
    std::string api_key;
    core::Store store;
};

struct TestMember {
    std::string member_id;
    std::string card_number;
    std::string email;
    std::string password;
    Caller caller;  // what Authenticate returns for the member's session
};

class HubTest : public ::testing::Test {
  protected:
    // 2026-11-22T09:00:00Z
    static constexpr int64_t kStart = 1795338000;

    void SetUp() override;
    void TearDown() override;
    // Opens (or reopens) the hub on dir_.
    void OpenHub();

    TestStore MakeStore(const std::string& name, std::optional<std::string> program_id = {});
    // Enrolls (as the operator) with the email "<tag>@example.jp"; `shared_phone` says the
    // phone is shared with a member already enrolled.
    TestMember MakeMember(const std::string& tag, bool share_profile = false,
                          const std::string& phone = "", bool shared_phone = false);
    // A purchase of one line of `amount` in the store's currency.
    PurchaseReceipt Buy(const TestStore& store, const TestMember& member, const std::string& id,
                        int64_t amount, const std::string& category = "");
    int64_t BalanceOf(const std::string& member_id, const std::string& program_id);
    std::vector<core::LedgerEntry> EntriesOf(const std::string& member_id);
    std::vector<storage::AuditRecord> AuditOf(const std::string& member_id);

    std::filesystem::path dir_;
    TestClock clock_{core::FromUnixSeconds(kStart)};
    std::unique_ptr<Hub> hub_;
    Caller operator_ = Caller::Operator();
};

}  // namespace kizuna::hub::testing
