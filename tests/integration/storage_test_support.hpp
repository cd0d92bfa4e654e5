#pragma once
// Shared by the storage tests: a temporary directory, and domain objects with every field set
// (Japanese text included) so that round trips compare everything.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include "core/card.hpp"
#include "core/ledger.hpp"
#include "core/member.hpp"
#include "core/offer.hpp"
#include "core/purchase.hpp"
#include "core/store.hpp"
#include "core/time.hpp"
#include "storage/storage.hpp"

namespace kizuna::storage::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
  public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern =
            (std::filesystem::path(base != nullptr ? base : "/tmp") / "kizuna-storage-XXXXXX")
                .string();
        char* made = ::mkdtemp(pattern.data());
        if (made == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
        path_ = made;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

inline core::Timestamp At(int64_t unix_seconds) { return core::FromUnixSeconds(unix_seconds); }

// 2026-11-22T00:00:00Z, the tests' "now".
inline constexpr int64_t kNow = 1'795'305'600;

inline core::Program SampleProgram(std::string id, std::string name = "駅前チェーン") {
    return core::Program{std::move(id), std::move(name), At(kNow - 1000)};
}

inline core::Store SampleStore(std::string id, std::string program_id, std::string key_hash) {
    core::Store store;
    store.store_id = std::move(id);
    store.name = "渋谷ブックス Shibuya Books";
    store.kind = core::StoreKind::kOnline;
    store.program_id = std::move(program_id);
    store.currency = "JPY";
    store.api_key_hash = std::move(key_hash);
    store.created_at = At(kNow - 900);
    return store;
}

inline core::Member SampleMember(std::string id, std::string email = "", std::string phone = "") {
    core::Member m;
    m.member_id = std::move(id);
    m.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    m.profile.name = "山田 太郎";
    m.profile.name_kana = "ヤマダ タロウ";
    m.profile.postal_code = "150-0043";
    m.profile.address = "東京都渋谷区道玄坂1丁目2-3 ヒカリエ11階";
    m.profile.phone = std::move(phone);
    m.profile.birth_date = "1985-04-01";
    m.profile.occupation = "会社員";
    m.profile.email = std::move(email);
    m.consents.email_offers = true;
    m.consents.postal_offers = false;
    m.consents.share_profile = true;
    m.status = core::MemberStatus::kActive;
    m.created_at = At(kNow - 500);
    return m;
}

inline core::Purchase SamplePurchase(std::string id, std::string member_id, std::string store_id,
                                     std::string program_id, int64_t occurred_at) {
    core::Purchase p;
    p.purchase_id = std::move(id);
    p.member_id = std::move(member_id);
    p.card_number = "9810123456789012";
    p.store_id = std::move(store_id);
    p.program_id = std::move(program_id);
    p.occurred_at = At(occurred_at);
    p.recorded_at = At(occurred_at + 3);
    p.currency = "JPY";
    p.lines = {{"新刊 ライトノベル 第3巻", "978-4-04-000001-1", "書籍", 2, 748},
               {"ブックカバー", "", "", 1, 300},
               {"Coffee", "CF-01", "drinks", 3, 450}};
    p.total = core::TotalOf(p.lines);
    p.points_earned = 31;
    p.rule_version = 2;
    p.balance_after = 131;
    p.fingerprint = "sha256:0f1e2d3c";
    return p;
}

inline core::Lot SampleLot(std::string member_id, std::string program_id, std::string store_id,
                           std::string purchase_id, int64_t earned, int64_t expires_at) {
    core::Lot lot;
    lot.member_id = std::move(member_id);
    lot.program_id = std::move(program_id);
    lot.store_id = std::move(store_id);
    lot.purchase_id = std::move(purchase_id);
    lot.earned = earned;
    lot.remaining = earned;
    lot.earned_at = At(kNow - 100);
    lot.expires_at = At(expires_at);
    return lot;
}

inline core::LedgerEntry SampleEntry(std::string member_id, std::string program_id, int64_t delta,
                                     core::EntryKind kind, std::string ref) {
    core::LedgerEntry e;
    e.member_id = std::move(member_id);
    e.program_id = std::move(program_id);
    e.store_id = "st_shibuya";
    e.delta = delta;
    e.kind = kind;
    e.ref = std::move(ref);
    e.occurred_at = At(kNow);
    e.note = "1,980円 渋谷ブックスでのお買い物";
    return e;
}

// The Status of a Result, its value dropped: for units of work that end with a call that
// returns one.
template <typename T>
core::Status StatusOf(const core::Result<T>& result) {
    return result.has_value() ? core::Status::Ok() : core::Status(result.error());
}

inline std::string Describe(const core::Status& status) {
    if (status.ok()) return "ok";
    return std::string(core::ErrorCodeName(status.error().code)) + ": " + status.error().message;
}

}  // namespace kizuna::storage::testing

// Asserts that a Status or Result is successful, printing the error otherwise.
#define KZ_ASSERT_OK(expr)                                                                       \
    do {                                                                                         \
        auto&& kz_r_ = (expr);                                                                   \
        ASSERT_TRUE(kz_r_.has_value())                                                           \
            << #expr << " failed: " << ::kizuna::core::ErrorCodeName(kz_r_.error().code) << ": " \
            << kz_r_.error().message;                                                            \
    } while (0)

#define KZ_EXPECT_OK(expr)                                                                       \
    do {                                                                                         \
        auto&& kz_r_ = (expr);                                                                   \
        EXPECT_TRUE(kz_r_.has_value())                                                           \
            << #expr << " failed: " << ::kizuna::core::ErrorCodeName(kz_r_.error().code) << ": " \
            << kz_r_.error().message;                                                            \
    } while (0)
