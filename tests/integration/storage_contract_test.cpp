// The storage contract: every backend must pass these tests unchanged. The list of backends is
// Backends() below; a new backend adds itself there (PostgreSQL will add the URL found in
// KIZUNA_TEST_POSTGRES_URL) and nothing else in this file changes.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "core/member_merge.hpp"
#include "storage/storage.hpp"
#include "storage_test_support.hpp"

namespace kizuna::storage {
namespace {

using core::ErrorCode;
using testing::At;
using testing::Describe;
using testing::kNow;
using testing::SampleEntry;
using testing::SampleLot;
using testing::SampleMember;
using testing::SampleProgram;
using testing::SamplePurchase;
using testing::SampleStore;
using testing::StatusOf;

struct Backend {
    std::string name;
    bool persistent;  // data survives closing and reopening the same URL
    // The URL of a fresh, empty database; `dir` is a temporary directory owned by the test.
    std::function<std::string(const std::filesystem::path& dir)> url;
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

std::vector<Backend> Backends() {
    return {
        {"SqliteFile", true,
         [](const std::filesystem::path& dir) { return "sqlite://" + (dir / "k.db").string(); }},
        {"SqliteMemory", false, [](const std::filesystem::path&) { return "sqlite::memory:"; }},
    };
}

class StorageContract : public ::testing::TestWithParam<Backend> {
  protected:
    void SetUp() override {
        url_ = GetParam().url(dir_.path());
        Reopen();
    }

    void Reopen() {
        storage_.reset();
        auto opened = OpenStorage(url_);
        ASSERT_TRUE(opened.has_value()) << opened.error().message;
        storage_ = std::move(opened).value();
    }

    Status Put(const std::function<Status(WriteTxn&)>& work) { return storage_->Write(work); }

    // Runs one read and returns its Result.
    template <typename F>
    auto Get(F read) {
        std::optional<std::invoke_result_t<F, ReadTxn&>> out;
        Status status = storage_->Read([&](ReadTxn& txn) -> Status {
            out.emplace(read(txn));
            return Status::Ok();
        });
        EXPECT_TRUE(status.ok()) << Describe(status);
        return std::move(*out);
    }

    // A program, a store in it, and a member: what most tests need first.
    void Seed() {
        KZ_ASSERT_OK(Put([](WriteTxn& txn) -> Status {
            KZ_RETURN_IF_ERROR(txn.InsertProgram(SampleProgram("pg_ekimae")));
            KZ_RETURN_IF_ERROR(txn.InsertProgram(SampleProgram("pg_other", "Other")));
            KZ_RETURN_IF_ERROR(txn.InsertStore(SampleStore("st_shibuya", "pg_ekimae", "h1")));
            KZ_RETURN_IF_ERROR(txn.InsertStore(SampleStore("st_other", "pg_other", "h2")));
            return txn.InsertMember(SampleMember("1000000001", "taro@example.jp", "090-1234-5678"));
        }));
    }

    // Earns `points` for the seeded member as the hub does: a purchase, its lot, its entry.
    void Earn(const std::string& purchase_id, int64_t points, int64_t expires_at,
              const std::string& program_id = "pg_ekimae") {
        std::string store_id = program_id == "pg_ekimae" ? "st_shibuya" : "st_other";
        KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
            auto purchase = SamplePurchase(purchase_id, "1000000001", store_id, program_id, kNow);
            KZ_RETURN_IF_ERROR(txn.InsertPurchase(purchase));
            KZ_RETURN_IF_ERROR(txn.InsertLot(
                SampleLot("1000000001", program_id, store_id, purchase_id, points, expires_at)));
            return StatusOf(txn.AppendEntry(SampleEntry("1000000001", program_id, points,
                                                        core::EntryKind::kEarn, purchase_id)));
        }));
    }

    testing::TempDir dir_;
    std::string url_;
    std::unique_ptr<Storage> storage_;
};

void ExpectSameMember(const core::Member& a, const core::Member& b) {
    EXPECT_EQ(a.member_id, b.member_id);
    EXPECT_EQ(a.password_hash, b.password_hash);
    EXPECT_EQ(a.profile, b.profile);
    EXPECT_EQ(a.consents, b.consents);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.created_at, b.created_at);
}

void ExpectSameCard(const core::Card& a, const core::Card& b) {
    EXPECT_EQ(a.card_number, b.card_number);
    EXPECT_EQ(a.member_id, b.member_id);
    EXPECT_EQ(a.generation, b.generation);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.medium, b.medium);
    EXPECT_EQ(a.issued_by_store, b.issued_by_store);
    EXPECT_EQ(a.issued_at, b.issued_at);
    EXPECT_EQ(a.revoked_at, b.revoked_at);
}

void ExpectSameStore(const core::Store& a, const core::Store& b) {
    EXPECT_EQ(a.store_id, b.store_id);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.program_id, b.program_id);
    EXPECT_EQ(a.currency, b.currency);
    EXPECT_EQ(a.api_key_hash, b.api_key_hash);
    EXPECT_EQ(a.created_at, b.created_at);
}

void ExpectSamePurchase(const core::Purchase& a, const core::Purchase& b) {
    EXPECT_EQ(a.purchase_id, b.purchase_id);
    EXPECT_EQ(a.member_id, b.member_id);
    EXPECT_EQ(a.card_number, b.card_number);
    EXPECT_EQ(a.store_id, b.store_id);
    EXPECT_EQ(a.program_id, b.program_id);
    EXPECT_EQ(a.occurred_at, b.occurred_at);
    EXPECT_EQ(a.recorded_at, b.recorded_at);
    EXPECT_EQ(a.currency, b.currency);
    EXPECT_EQ(a.lines, b.lines);
    EXPECT_EQ(a.total, b.total);
    EXPECT_EQ(a.points_earned, b.points_earned);
    EXPECT_EQ(a.rule_version, b.rule_version);
    EXPECT_EQ(a.balance_after, b.balance_after);
    EXPECT_EQ(a.fingerprint, b.fingerprint);
}

void ExpectSameEntry(const core::LedgerEntry& a, const core::LedgerEntry& b) {
    EXPECT_EQ(a.member_id, b.member_id);
    EXPECT_EQ(a.program_id, b.program_id);
    EXPECT_EQ(a.store_id, b.store_id);
    EXPECT_EQ(a.delta, b.delta);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.ref, b.ref);
    EXPECT_EQ(a.occurred_at, b.occurred_at);
    EXPECT_EQ(a.note, b.note);
}

void ExpectSameLot(const core::Lot& a, const core::Lot& b) {
    EXPECT_EQ(a.member_id, b.member_id);
    EXPECT_EQ(a.program_id, b.program_id);
    EXPECT_EQ(a.store_id, b.store_id);
    EXPECT_EQ(a.purchase_id, b.purchase_id);
    EXPECT_EQ(a.earned, b.earned);
    EXPECT_EQ(a.remaining, b.remaining);
    EXPECT_EQ(a.earned_at, b.earned_at);
    EXPECT_EQ(a.expires_at, b.expires_at);
}

void ExpectSameOffer(const core::Offer& a, const core::Offer& b) {
    EXPECT_EQ(a.offer_id, b.offer_id);
    EXPECT_EQ(a.store_id, b.store_id);
    EXPECT_EQ(a.title, b.title);
    EXPECT_EQ(a.body, b.body);
    EXPECT_EQ(a.categories, b.categories);
    EXPECT_EQ(a.valid_from, b.valid_from);
    EXPECT_EQ(a.valid_to, b.valid_to);
    EXPECT_EQ(a.created_at, b.created_at);
}

// ---------------------------------------------------------------------------------------------
// Members and cards

TEST_P(StorageContract, MemberRoundTripsEveryFieldIncludingJapaneseText) {
    Seed();
    auto found = Get([](ReadTxn& t) { return t.FindMember("1000000001"); });
    KZ_ASSERT_OK(found);
    ASSERT_TRUE(found->has_value());
    ExpectSameMember(**found, SampleMember("1000000001", "taro@example.jp", "090-1234-5678"));

    auto missing = Get([](ReadTxn& t) { return t.FindMember("1000000002"); });
    KZ_ASSERT_OK(missing);
    EXPECT_FALSE(missing->has_value());
}

TEST_P(StorageContract, MemberExistsForOpenAndClosedMembersOnly) {
    Seed();
    core::Member closed = SampleMember("1000000009", "", "");
    closed.status = core::MemberStatus::kClosed;
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) { return txn.InsertMember(closed); }));
    for (auto [member_id, expected] : {std::pair{"1000000001", true},
                                       {"1000000009", true},
                                       {"1000000002", false},
                                       {"", false}}) {
        auto exists = Get([&](ReadTxn& t) { return t.MemberExists(member_id); });
        KZ_ASSERT_OK(exists);
        EXPECT_EQ(*exists, expected) << member_id;
    }
    // Inside a write transaction too, seeing the transaction's own insert.
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> core::Status {
        KZ_RETURN_IF_ERROR(txn.InsertMember(SampleMember("1000000017", "", "")));
        KZ_ASSIGN_OR_RETURN(bool exists, txn.MemberExists("1000000017"));
        if (!exists) return core::MakeError(core::ErrorCode::kInternal, "own insert not seen");
        return core::Status::Ok();
    }));
}

TEST_P(StorageContract, ClosedMemberWithOtherConsentsRoundTrips) {
    Seed();
    core::Member m = SampleMember("1000000009", "", "");
    m.status = core::MemberStatus::kClosed;
    m.consents = {false, true, false};
    m.profile.name = "Ｊｏｈｎ・スミス 🍣";
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) { return txn.InsertMember(m); }));
    auto found = Get([](ReadTxn& t) { return t.FindMember("1000000009"); });
    KZ_ASSERT_OK(found);
    ASSERT_TRUE(found->has_value());
    ExpectSameMember(**found, m);
}

TEST_P(StorageContract, FindsMembersByEmailIgnoringCaseAndByPhoneInAnyFormat) {
    Seed();
    KZ_ASSERT_OK(Put([](WriteTxn& txn) {
        return txn.InsertMember(SampleMember("1000000002", "", "09012345678"));
    }));
    auto by_email = Get([](ReadTxn& t) { return t.FindMemberByEmail("Taro@Example.JP"); });
    KZ_ASSERT_OK(by_email);
    ASSERT_TRUE(by_email->has_value());
    EXPECT_EQ((*by_email)->member_id, "1000000001");

    auto no_email = Get([](ReadTxn& t) { return t.FindMemberByEmail(""); });
    KZ_ASSERT_OK(no_email);
    EXPECT_FALSE(no_email->has_value());

    auto by_phone = Get([](ReadTxn& t) { return t.FindMembersByPhone("090 1234 5678"); });
    KZ_ASSERT_OK(by_phone);
    ASSERT_EQ(by_phone->size(), 2u);
    EXPECT_EQ((*by_phone)[0].member_id, "1000000001");
    EXPECT_EQ((*by_phone)[1].member_id, "1000000002");

    auto other_phone = Get([](ReadTxn& t) { return t.FindMembersByPhone("080-0000-0000"); });
    KZ_ASSERT_OK(other_phone);
    EXPECT_TRUE(other_phone->empty());
}

TEST_P(StorageContract, DuplicateMemberIdOrEmailIsAlreadyExists) {
    Seed();
    Status same_id = Put([](WriteTxn& txn) {
        return txn.InsertMember(SampleMember("1000000001", "other@example.jp"));
    });
    ASSERT_FALSE(same_id.ok());
    EXPECT_EQ(same_id.error().code, ErrorCode::kAlreadyExists) << same_id.error().message;

    Status same_email = Put([](WriteTxn& txn) {
        return txn.InsertMember(SampleMember("1000000002", "TARO@example.jp"));
    });
    ASSERT_FALSE(same_email.ok());
    EXPECT_EQ(same_email.error().code, ErrorCode::kAlreadyExists) << same_email.error().message;

    // Members without an email do not collide with each other.
    KZ_EXPECT_OK(Put([](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertMember(SampleMember("1000000003")));
        return txn.InsertMember(SampleMember("1000000004"));
    }));
}

TEST_P(StorageContract, UpdateMemberChangesEveryFieldAndRefusesUnknownMember) {
    Seed();
    core::Member changed = SampleMember("1000000001", "hanako@example.jp", "+81 3-1234-5678");
    changed.password_hash = "$argon2id$new";
    changed.profile.name = "山田 花子";
    changed.profile.name_kana = "ヤマダ ハナコ";
    changed.profile.postal_code = "060-0001";
    changed.profile.address = "北海道札幌市中央区北1条西2丁目";
    changed.profile.birth_date = "1990-12-31";
    changed.profile.occupation = "";
    changed.consents = {false, true, false};
    changed.status = core::MemberStatus::kClosed;
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) { return txn.UpdateMember(changed); }));

    auto found = Get([](ReadTxn& t) { return t.FindMember("1000000001"); });
    KZ_ASSERT_OK(found);
    ASSERT_TRUE(found->has_value());
    ExpectSameMember(**found, changed);
    auto by_phone = Get([](ReadTxn& t) { return t.FindMembersByPhone("+81312345678"); });
    KZ_ASSERT_OK(by_phone);
    EXPECT_EQ(by_phone->size(), 1u);
    auto by_old_email = Get([](ReadTxn& t) { return t.FindMemberByEmail("taro@example.jp"); });
    KZ_ASSERT_OK(by_old_email);
    EXPECT_FALSE(by_old_email->has_value());

    KZ_ASSERT_OK(Put([](WriteTxn& txn) {
        return txn.InsertMember(SampleMember("1000000002", "jiro@example.jp"));
    }));
    Status email_taken = Put([](WriteTxn& txn) {
        return txn.UpdateMember(SampleMember("1000000002", "Hanako@example.jp"));
    });
    ASSERT_FALSE(email_taken.ok());
    EXPECT_EQ(email_taken.error().code, ErrorCode::kAlreadyExists);

    Status unknown =
        Put([](WriteTxn& txn) { return txn.UpdateMember(SampleMember("1000000099")); });
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_P(StorageContract, CardsRoundTripInGenerationOrderAndRevokeKeepsFirstTime) {
    Seed();
    core::Card first{"9810000000000011",
                     "1000000001",
                     1,
                     core::CardStatus::kActive,
                     core::CardMedium::kChip,
                     "st_shibuya",
                     At(kNow - 400),
                     std::nullopt};
    core::Card second{
        "9810000000000029", "1000000001", 2, core::CardStatus::kActive, core::CardMedium::kQr, "",
        At(kNow - 10),      std::nullopt};
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertCard(second));
        KZ_RETURN_IF_ERROR(txn.InsertCard(first));
        return txn.RevokeCard(first.card_number, At(kNow - 10));
    }));
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) { return txn.RevokeCard(first.card_number, At(kNow)); }));

    first.status = core::CardStatus::kRevoked;
    first.revoked_at = At(kNow - 10);
    auto cards = Get([](ReadTxn& t) { return t.CardsOf("1000000001"); });
    KZ_ASSERT_OK(cards);
    ASSERT_EQ(cards->size(), 2u);
    ExpectSameCard((*cards)[0], first);
    ExpectSameCard((*cards)[1], second);
    // The first generation's issue time, though it was inserted second (and is revoked).
    auto standing = Get([](ReadTxn& t) { return t.StandingOf("1000000001"); });
    KZ_ASSERT_OK(standing);
    ASSERT_TRUE(standing->has_value());
    EXPECT_EQ((*standing)->status, core::MemberStatus::kActive);
    EXPECT_EQ((*standing)->first_card_issued_at, std::optional<core::Timestamp>(At(kNow - 400)));
    KZ_ASSERT_OK(Put([](WriteTxn& txn) { return txn.InsertMember(SampleMember("1000000002")); }));
    auto no_card = Get([](ReadTxn& t) { return t.StandingOf("1000000002"); });
    KZ_ASSERT_OK(no_card);
    ASSERT_TRUE(no_card->has_value());
    EXPECT_FALSE((*no_card)->first_card_issued_at.has_value());
    auto nobody = Get([](ReadTxn& t) { return t.StandingOf("1000000099"); });
    KZ_ASSERT_OK(nobody);
    EXPECT_FALSE(nobody->has_value());

    auto found = Get([&](ReadTxn& t) { return t.FindCard(second.card_number); });
    KZ_ASSERT_OK(found);
    ASSERT_TRUE(found->has_value());
    ExpectSameCard(**found, second);

    Status duplicate = Put([&](WriteTxn& txn) { return txn.InsertCard(second); });
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);
    core::Card same_generation = second;
    same_generation.card_number = "9810000000000037";
    Status generation_taken = Put([&](WriteTxn& txn) { return txn.InsertCard(same_generation); });
    ASSERT_FALSE(generation_taken.ok());
    EXPECT_EQ(generation_taken.error().code, ErrorCode::kAlreadyExists);
    Status unknown =
        Put([](WriteTxn& txn) { return txn.RevokeCard("9810999999999999", At(kNow)); });
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

// ---------------------------------------------------------------------------------------------
// Programs, stores, rules

TEST_P(StorageContract, ProgramsAndStoresRoundTripAndKeyHashesAreUnique) {
    Seed();
    auto program = Get([](ReadTxn& t) { return t.FindProgram("pg_ekimae"); });
    KZ_ASSERT_OK(program);
    ASSERT_TRUE(program->has_value());
    EXPECT_EQ((*program)->name, "駅前チェーン");
    EXPECT_EQ((*program)->created_at, At(kNow - 1000));

    auto store = Get([](ReadTxn& t) { return t.FindStore("st_shibuya"); });
    KZ_ASSERT_OK(store);
    ASSERT_TRUE(store->has_value());
    ExpectSameStore(**store, SampleStore("st_shibuya", "pg_ekimae", "h1"));

    auto by_key = Get([](ReadTxn& t) { return t.FindStoreByKeyHash("h2"); });
    KZ_ASSERT_OK(by_key);
    ASSERT_TRUE(by_key->has_value());
    EXPECT_EQ((*by_key)->store_id, "st_other");
    auto no_key = Get([](ReadTxn& t) { return t.FindStoreByKeyHash("h3"); });
    KZ_ASSERT_OK(no_key);
    EXPECT_FALSE(no_key->has_value());

    auto stores = Get([](ReadTxn& t) { return t.ListStores(); });
    KZ_ASSERT_OK(stores);
    EXPECT_EQ(stores->size(), 2u);
    auto programs = Get([](ReadTxn& t) { return t.ListPrograms(); });
    KZ_ASSERT_OK(programs);
    EXPECT_EQ(programs->size(), 2u);

    Status same_key = Put(
        [](WriteTxn& txn) { return txn.InsertStore(SampleStore("st_third", "pg_ekimae", "h1")); });
    ASSERT_FALSE(same_key.ok());
    EXPECT_EQ(same_key.error().code, ErrorCode::kAlreadyExists);
    Status same_program =
        Put([](WriteTxn& txn) { return txn.InsertProgram(SampleProgram("pg_ekimae")); });
    ASSERT_FALSE(same_program.ok());
    EXPECT_EQ(same_program.error().code, ErrorCode::kAlreadyExists);
}

TEST_P(StorageContract, RuleVersionsRoundTripWithMultipliersAndBonusWindows) {
    Seed();
    core::EarningRule v1;
    v1.store_id = "st_shibuya";
    v1.version = 1;
    v1.effective_from = At(kNow - 800);
    core::EarningRule v2 = v1;
    v2.version = 2;
    v2.effective_from = At(kNow - 100);
    v2.amount_per_point = 200;
    v2.rounding = core::Rounding::kNearest;
    v2.category_multipliers_milli = {{"書籍", 2000}, {"drinks", 1500}, {"", 0}};
    v2.bonus_windows = {{At(kNow), At(kNow + 86400), 3000}, {At(kNow - 50), At(kNow - 40), 1250}};
    v2.validity_days = 730;
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertRuleVersion(v1));
        return txn.InsertRuleVersion(v2);
    }));
    auto rules = Get([](ReadTxn& t) { return t.RuleVersions("st_shibuya"); });
    KZ_ASSERT_OK(rules);
    ASSERT_EQ(rules->size(), 2u);
    EXPECT_EQ((*rules)[0], v1);
    EXPECT_EQ((*rules)[1], v2);

    core::EarningRule again = v2;
    Status duplicate = Put([&](WriteTxn& txn) { return txn.InsertRuleVersion(again); });
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);
    core::EarningRule gap = v2;
    gap.version = 4;
    EXPECT_FALSE(Put([&](WriteTxn& txn) { return txn.InsertRuleVersion(gap); }).ok());

    auto none = Get([](ReadTxn& t) { return t.RuleVersions("st_other"); });
    KZ_ASSERT_OK(none);
    EXPECT_TRUE(none->empty());
}

// ---------------------------------------------------------------------------------------------
// Purchases, redemptions, refunds

TEST_P(StorageContract, PurchaseRoundTripsWithItsLinesAndDuplicateIdChangesNothing) {
    Seed();
    core::Purchase purchase =
        SamplePurchase("pos-1:00042", "1000000001", "st_shibuya", "pg_ekimae", kNow - 60);
    purchase.lines.push_back({"業務用冷蔵庫", "BIG-1", "家電", 100000, 10'000'000'000});
    purchase.total = core::TotalOf(purchase.lines);
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) { return txn.InsertPurchase(purchase); }));

    core::Purchase again = purchase;
    again.lines.push_back({"extra", "", "", 1, 1});
    Status duplicate = Put([&](WriteTxn& txn) { return txn.InsertPurchase(again); });
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);
    // The refused insert writes nothing, so a unit may go on and succeed after it (the purchase
    // path inserts first and looks for the earlier purchase only on this error).
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        Status refused = txn.InsertPurchase(again);
        EXPECT_EQ(refused.ok() ? ErrorCode::kInternal : refused.error().code,
                  ErrorCode::kAlreadyExists);
        return Status::Ok();
    }));

    auto found = Get([](ReadTxn& t) { return t.FindPurchase("st_shibuya", "pos-1:00042"); });
    KZ_ASSERT_OK(found);
    ASSERT_TRUE(found->has_value());
    ExpectSamePurchase(**found, purchase);

    auto missing = Get([](ReadTxn& t) { return t.FindPurchase("st_shibuya", "pos-1:00043"); });
    KZ_ASSERT_OK(missing);
    EXPECT_FALSE(missing->has_value());
}

// Ids are the store's own (issue 15): the same purchase id at two stores is two purchases, each
// found at its store and listed apart with its own lines; a redemption or refund id likewise.
TEST_P(StorageContract, TheSameIdAtTwoStoresIsTwoRecords) {
    Seed();
    auto at_other = SamplePurchase("till3-000123", "1000000001", "st_other", "pg_other", kNow);
    at_other.lines.resize(1);
    at_other.total = core::TotalOf(at_other.lines);
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertPurchase(
            SamplePurchase("till3-000123", "1000000001", "st_shibuya", "pg_ekimae", kNow)));
        KZ_RETURN_IF_ERROR(txn.InsertPurchase(at_other));
        for (const char* store : {"st_shibuya", "st_other"}) {
            const char* program = std::string(store) == "st_other" ? "pg_other" : "pg_ekimae";
            KZ_RETURN_IF_ERROR(txn.InsertRedemption(core::Redemption{
                "r-1", "1000000001", store, program, 1, At(kNow), 0, "sha256:r", "", ""}));
            KZ_RETURN_IF_ERROR(txn.InsertRefund(core::Refund{
                "rf-1", "till3-000123", store, 100, 0, 0, At(kNow), 0, "sha256:f", {}, 0, "", ""}));
        }
        return Status::Ok();
    }));
    auto purchases = Get([](ReadTxn& t) { return t.PurchasesOf("1000000001", std::nullopt, 10); });
    KZ_ASSERT_OK(purchases);
    ASSERT_EQ(purchases->size(), 2u);
    std::multiset<std::pair<std::string, std::size_t>> seen;
    for (const auto& p : *purchases) seen.emplace(p.store_id, p.lines.size());
    EXPECT_EQ(seen, (std::multiset<std::pair<std::string, std::size_t>>{{"st_other", 1},
                                                                        {"st_shibuya", 3}}));
    auto other = Get([](ReadTxn& t) { return t.FindPurchase("st_other", "till3-000123"); });
    KZ_ASSERT_OK(other);
    ASSERT_TRUE(other->has_value());
    EXPECT_EQ((*other)->lines.size(), 1u);
    for (const char* store : {"st_shibuya", "st_other"}) {
        auto refunds = Get([&](ReadTxn& t) { return t.RefundsOf(store, "till3-000123"); });
        KZ_ASSERT_OK(refunds);
        ASSERT_EQ(refunds->size(), 1u) << store;
        EXPECT_EQ((*refunds)[0].store_id, store);
        auto redemption = Get([&](ReadTxn& t) { return t.FindRedemption(store, "r-1"); });
        KZ_ASSERT_OK(redemption);
        ASSERT_TRUE(redemption->has_value()) << store;
        EXPECT_EQ((*redemption)->program_id,
                  std::string(store) == "st_other" ? "pg_other" : "pg_ekimae");
    }
}

TEST_P(StorageContract, PurchasesOfAreNewestFirstFilteredByProgramAndCarryAllLines) {
    Seed();
    KZ_ASSERT_OK(Put([](WriteTxn& txn) -> Status {
        // Inserted out of time order; two share a time (then the later insert comes first).
        for (auto [id, program, at] : std::vector<std::tuple<std::string, std::string, int64_t>>{
                 {"p-b", "pg_ekimae", kNow - 200},
                 {"p-a", "pg_ekimae", kNow - 300},
                 {"p-d", "pg_other", kNow - 100},
                 {"p-c", "pg_ekimae", kNow - 200},
                 {"p-e", "pg_ekimae", kNow - 50}}) {
            auto p = SamplePurchase(
                id, "1000000001", program == "pg_ekimae" ? "st_shibuya" : "st_other", program, at);
            if (id == "p-c") p.lines.resize(1);
            if (id == "p-a") p.lines.clear();
            KZ_RETURN_IF_ERROR(txn.InsertPurchase(p));
        }
        return Status::Ok();
    }));
    auto ids = [](const std::vector<core::Purchase>& purchases) {
        std::vector<std::string> out;
        for (const auto& p : purchases) out.push_back(p.purchase_id);
        return out;
    };
    auto all = Get([](ReadTxn& t) { return t.PurchasesOf("1000000001", std::nullopt, 100); });
    KZ_ASSERT_OK(all);
    EXPECT_EQ(ids(*all), (std::vector<std::string>{"p-e", "p-d", "p-c", "p-b", "p-a"}));
    for (const auto& p : *all) {
        std::size_t lines = p.purchase_id == "p-c" ? 1u : p.purchase_id == "p-a" ? 0u : 3u;
        EXPECT_EQ(p.lines.size(), lines) << p.purchase_id;
    }
    ExpectSamePurchase((*all)[0],
                       SamplePurchase("p-e", "1000000001", "st_shibuya", "pg_ekimae", kNow - 50));

    auto ekimae = Get(
        [](ReadTxn& t) { return t.PurchasesOf("1000000001", std::string_view("pg_ekimae"), 3); });
    KZ_ASSERT_OK(ekimae);
    EXPECT_EQ(ids(*ekimae), (std::vector<std::string>{"p-e", "p-c", "p-b"}));

    auto nobody = Get([](ReadTxn& t) { return t.PurchasesOf("1000000002", std::nullopt, 10); });
    KZ_ASSERT_OK(nobody);
    EXPECT_TRUE(nobody->empty());
}

TEST_P(StorageContract, PurchasesOfCutsAtTheLimitInsideTiesAndKeepsLineOrder) {
    Seed();
    KZ_ASSERT_OK(Put([](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertMember(SampleMember("1000000002", "hanako@example.jp", "")));
        // Five purchases at one time, inserted in this order, interleaved with another member's
        // purchases at the same time; each has lines whose names sort against their numbers.
        for (int i = 1; i <= 5; ++i) {
            auto p = SamplePurchase("p-" + std::to_string(i), "1000000001", "st_shibuya",
                                    "pg_ekimae", kNow - 100);
            p.lines.clear();
            for (int n = 0; n < i; ++n) {
                p.lines.push_back({std::string(1, static_cast<char>('z' - n)), "", "", 1, 10 + n});
            }
            p.total = core::TotalOf(p.lines);
            KZ_RETURN_IF_ERROR(txn.InsertPurchase(p));
            KZ_RETURN_IF_ERROR(txn.InsertPurchase(SamplePurchase(
                "q-" + std::to_string(i), "1000000002", "st_shibuya", "pg_ekimae", kNow - 100)));
        }
        // An older purchase without lines, then a newer one in the other program.
        auto old = SamplePurchase("p-0", "1000000001", "st_shibuya", "pg_ekimae", kNow - 900);
        old.lines.clear();
        KZ_RETURN_IF_ERROR(txn.InsertPurchase(old));
        return txn.InsertPurchase(
            SamplePurchase("p-6", "1000000001", "st_other", "pg_other", kNow - 10));
    }));
    auto ids = [](const std::vector<core::Purchase>& purchases) {
        std::vector<std::string> out;
        for (const auto& p : purchases) out.push_back(p.purchase_id);
        return out;
    };
    auto purchases_of = [&](std::optional<std::string_view> program, int limit) {
        auto got = Get([&](ReadTxn& t) { return t.PurchasesOf("1000000001", program, limit); });
        EXPECT_TRUE(got.has_value()) << Describe(StatusOf(got));
        return got.has_value() ? *got : std::vector<core::Purchase>();
    };

    using Ids = std::vector<std::string>;
    EXPECT_EQ(ids(purchases_of(std::nullopt, 1)), (Ids{"p-6"}));
    EXPECT_EQ(ids(purchases_of(std::nullopt, 3)), (Ids{"p-6", "p-5", "p-4"}));
    EXPECT_EQ(ids(purchases_of(std::nullopt, 7)),
              (Ids{"p-6", "p-5", "p-4", "p-3", "p-2", "p-1", "p-0"}));
    EXPECT_EQ(ids(purchases_of(std::nullopt, 8)), ids(purchases_of(std::nullopt, 7)));
    EXPECT_EQ(ids(purchases_of(std::string_view("pg_ekimae"), 2)), (Ids{"p-5", "p-4"}));
    EXPECT_EQ(ids(purchases_of(std::string_view("pg_ekimae"), 6)),
              (Ids{"p-5", "p-4", "p-3", "p-2", "p-1", "p-0"}));
    EXPECT_EQ(ids(purchases_of(std::string_view("pg_other"), 5)), (Ids{"p-6"}));
    EXPECT_TRUE(purchases_of(std::nullopt, 0).empty());

    // The last purchase kept at the cut has every one of its lines, in line order.
    for (const auto& p : purchases_of(std::string_view("pg_ekimae"), 2)) {
        std::size_t count = p.purchase_id == "p-5" ? 5u : 4u;
        ASSERT_EQ(p.lines.size(), count) << p.purchase_id;
        for (std::size_t n = 0; n < count; ++n) {
            EXPECT_EQ(p.lines[n].name, std::string(1, static_cast<char>('z' - n)));
            EXPECT_EQ(p.lines[n].unit_price, static_cast<int64_t>(10 + n));
        }
        EXPECT_EQ(p.member_id, "1000000001");
    }
    EXPECT_TRUE(purchases_of(std::nullopt, 7).back().lines.empty());
}

// Issue 15 defect 6: a usage answer had no bound on its size. Pages follow the order of
// PurchasesOf through ties, end at the count, line and text budgets, and never lose a purchase.
TEST_P(StorageContract, PurchasePagesFollowTheCursorWithinTheirBudgets) {
    Seed();
    KZ_ASSERT_OK(Put([](WriteTxn& txn) -> Status {
        // Six purchases, four at one time; purchase i has i + 1 lines.
        for (int i = 0; i < 6; ++i) {
            auto p = SamplePurchase("p-" + std::to_string(i), "1000000001", "st_shibuya",
                                    "pg_ekimae", i < 4 ? kNow - 100 : kNow - 100 + i);
            p.lines.clear();
            for (int n = 0; n <= i; ++n) p.lines.push_back({"line", "sku", "cat", 1, 10});
            p.total = core::TotalOf(p.lines);
            KZ_RETURN_IF_ERROR(txn.InsertPurchase(p));
        }
        return Status::Ok();
    }));
    auto pages = [&](PurchasePageRequest request) {
        std::vector<std::vector<std::string>> out;
        for (int guard = 0; guard < 20; ++guard) {
            auto page = Get([&](ReadTxn& t) { return t.PurchasePageOf("1000000001", request); });
            EXPECT_TRUE(page.has_value()) << Describe(StatusOf(page));
            if (!page.has_value()) break;
            std::vector<std::string> ids;
            for (const auto& p : page->purchases) ids.push_back(p.purchase_id);
            out.push_back(ids);
            if (!page->next) break;
            request.after = page->next;
        }
        return out;
    };
    using Pages = std::vector<std::vector<std::string>>;
    PurchasePageRequest by_count;
    by_count.limit = 4;
    EXPECT_EQ(pages(by_count), (Pages{{"p-5", "p-4", "p-3", "p-2"}, {"p-1", "p-0"}}));
    by_count.limit = 3;  // a page ends inside the tie and the next resumes inside it
    EXPECT_EQ(pages(by_count), (Pages{{"p-5", "p-4", "p-3"}, {"p-2", "p-1", "p-0"}}));
    PurchasePageRequest by_lines;
    by_lines.max_lines = 7;  // 6 + 5 lines do not fit: a purchase larger alone is a page
    EXPECT_EQ(pages(by_lines), (Pages{{"p-5"}, {"p-4"}, {"p-3", "p-2"}, {"p-1", "p-0"}}));
    PurchasePageRequest by_text;
    by_text.max_text_bytes = 1;  // one purchase per page
    EXPECT_EQ(pages(by_text).size(), 6u);
    auto nobody = Get([](ReadTxn& t) { return t.PurchasePageOf("1000000002", {}); });
    KZ_ASSERT_OK(nobody);
    EXPECT_TRUE(nobody->purchases.empty());
    EXPECT_FALSE(nobody->next.has_value());
}

TEST_P(StorageContract, RedemptionsAndRefundsRoundTrip) {
    Seed();
    core::Redemption redemption{"r-1",        "1000000001", "st_shibuya", "pg_ekimae", 50,
                                At(kNow - 5), 81,           "sha256:aa",  "",          ""};
    core::Refund late{"rf-2", "p-1",       "st_shibuya", 300, 0,  2, At(kNow + 20),
                      79,     "sha256:cc", {},           0,   "", ""};
    core::Refund early{"rf-1", "p-1",       "st_shibuya", 1198, 5,  0, At(kNow + 10),
                       76,     "sha256:bb", {},           0,    "", ""};
    // One unit each of the book (line 0) and the coffee (line 2); `late` names no lines.
    early.lines = {{.purchase_line = 2, .quantity = 1, .amount = 450},
                   {.purchase_line = 0, .quantity = 1, .amount = 748}};
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertPurchase(
            SamplePurchase("p-1", "1000000001", "st_shibuya", "pg_ekimae", kNow - 60)));
        KZ_RETURN_IF_ERROR(txn.InsertRedemption(redemption));
        KZ_RETURN_IF_ERROR(txn.InsertRefund(late));
        return txn.InsertRefund(early);
    }));
    auto found = Get([](ReadTxn& t) { return t.FindRedemption("st_shibuya", "r-1"); });
    KZ_ASSERT_OK(found);
    ASSERT_TRUE(found->has_value());
    const core::Redemption& r = **found;
    EXPECT_EQ(std::tie(r.redemption_id, r.member_id, r.store_id, r.program_id, r.points,
                       r.occurred_at, r.balance_after, r.fingerprint),
              std::tie(redemption.redemption_id, redemption.member_id, redemption.store_id,
                       redemption.program_id, redemption.points, redemption.occurred_at,
                       redemption.balance_after, redemption.fingerprint));

    auto refunds = Get([](ReadTxn& t) { return t.RefundsOf("st_shibuya", "p-1"); });
    KZ_ASSERT_OK(refunds);
    ASSERT_EQ(refunds->size(), 2u);
    for (auto [got, want] : {std::pair{(*refunds)[0], early}, std::pair{(*refunds)[1], late}}) {
        EXPECT_EQ(
            std::tie(got.refund_id, got.purchase_id, got.store_id, got.amount, got.points_reversed,
                     got.points_unrecovered, got.occurred_at, got.balance_after, got.fingerprint),
            std::tie(want.refund_id, want.purchase_id, want.store_id, want.amount,
                     want.points_reversed, want.points_unrecovered, want.occurred_at,
                     want.balance_after, want.fingerprint));
        EXPECT_EQ(got.lines, want.lines) << want.refund_id;
    }
    auto one = Get([](ReadTxn& t) { return t.FindRefund("st_shibuya", "rf-2"); });
    KZ_ASSERT_OK(one);
    ASSERT_TRUE(one->has_value());
    EXPECT_EQ((*one)->points_unrecovered, 2);
    EXPECT_TRUE((*one)->lines.empty());
    auto with_lines = Get([](ReadTxn& t) { return t.FindRefund("st_shibuya", "rf-1"); });
    KZ_ASSERT_OK(with_lines);
    ASSERT_TRUE(with_lines->has_value());
    EXPECT_EQ((*with_lines)->amount, 1198);
    EXPECT_EQ((*with_lines)->lines, early.lines);

    // A refunded line must be a line of the purchase; nothing of the refund is kept otherwise.
    core::Refund stray{"rf-3", "p-1",       "st_shibuya", 100, 0,  0, At(kNow + 30),
                       79,     "sha256:dd", {},           0,   "", ""};
    stray.lines = {{.purchase_line = 3, .quantity = 1, .amount = 100}};
    Status no_such_line = Put([&](WriteTxn& txn) { return txn.InsertRefund(stray); });
    EXPECT_FALSE(no_such_line.ok());
    auto after = Get([](ReadTxn& t) { return t.FindRefund("st_shibuya", "rf-3"); });
    KZ_ASSERT_OK(after);
    EXPECT_FALSE(after->has_value());

    Status duplicate = Put([&](WriteTxn& txn) { return txn.InsertRedemption(redemption); });
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);
    Status duplicate_refund = Put([&](WriteTxn& txn) { return txn.InsertRefund(early); });
    ASSERT_FALSE(duplicate_refund.ok());
    EXPECT_EQ(duplicate_refund.error().code, ErrorCode::kAlreadyExists);
}

// ---------------------------------------------------------------------------------------------
// Ledger, balances, lots

TEST_P(StorageContract, AppendEntryKeepsBalanceEqualToSumAndRefusesOverdraft) {
    Seed();
    std::vector<int64_t> ids;
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        for (int64_t delta : {100, -30, 5, -75}) {
            auto kind = delta > 0 ? core::EntryKind::kEarn : core::EntryKind::kRedeem;
            KZ_ASSIGN_OR_RETURN(int64_t id, txn.AppendEntry(SampleEntry("1000000001", "pg_ekimae",
                                                                        delta, kind, "ref")));
            ids.push_back(id);
        }
        return Status::Ok();
    }));
    ASSERT_EQ(ids.size(), 4u);
    for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], ids[i - 1]);
    auto balance = Get([](ReadTxn& t) { return t.BalanceOf("1000000001", "pg_ekimae"); });
    KZ_ASSERT_OK(balance);
    EXPECT_EQ(*balance, 0);

    // Refused: more than the balance, and a first entry that is negative.
    KZ_ASSERT_OK(Put([](WriteTxn& txn) -> Status {
        auto earn = txn.AppendEntry(
            SampleEntry("1000000001", "pg_ekimae", 40, core::EntryKind::kEarn, "e"));
        if (!earn) return earn.error();
        auto overdraft = txn.AppendEntry(
            SampleEntry("1000000001", "pg_ekimae", -41, core::EntryKind::kRedeem, "x"));
        EXPECT_FALSE(overdraft.has_value());
        if (!overdraft) {
            EXPECT_EQ(overdraft.error().code, ErrorCode::kInsufficientPoints);
        }
        auto first_negative = txn.AppendEntry(
            SampleEntry("1000000001", "pg_other", -1, core::EntryKind::kAdjustment, "y"));
        EXPECT_FALSE(first_negative.has_value());
        if (!first_negative) {
            EXPECT_EQ(first_negative.error().code, ErrorCode::kInsufficientPoints);
        }
        return Status::Ok();
    }));
    auto balances = Get([](ReadTxn& t) { return t.BalancesOf("1000000001"); });
    KZ_ASSERT_OK(balances);
    ASSERT_EQ(balances->size(), 1u);
    EXPECT_EQ((*balances)[0].program_id, "pg_ekimae");
    EXPECT_EQ((*balances)[0].points, 40);
    auto entries = Get([](ReadTxn& t) {
        return t.EntriesOf("1000000001", std::nullopt, Page{100, std::nullopt});
    });
    KZ_ASSERT_OK(entries);
    ASSERT_EQ(entries->size(), 5u);  // the refused ones left no entry
    int64_t sum = 0;
    for (const auto& e : *entries) sum += e.delta;
    EXPECT_EQ(sum, 40);
    ExpectSameEntry((*entries)[0],
                    SampleEntry("1000000001", "pg_ekimae", 40, core::EntryKind::kEarn, "e"));
    auto other = Get([](ReadTxn& t) { return t.BalanceOf("1000000001", "pg_other"); });
    KZ_ASSERT_OK(other);
    EXPECT_EQ(*other, 0);
    // FindBalance tells "no entries yet" apart from a stored balance.
    auto none = Get([](ReadTxn& t) { return t.FindBalance("1000000001", "pg_other"); });
    KZ_ASSERT_OK(none);
    EXPECT_FALSE(none->has_value());
    auto found = Get([](ReadTxn& t) { return t.FindBalance("1000000001", "pg_ekimae"); });
    KZ_ASSERT_OK(found);
    EXPECT_EQ(*found, std::optional<int64_t>(40));
}

TEST_P(StorageContract, EntriesOfPagesNewestFirstAndFiltersByProgram) {
    Seed();
    KZ_ASSERT_OK(Put([](WriteTxn& txn) -> Status {
        for (int i = 1; i <= 25; ++i) {
            std::string program = i % 5 == 0 ? "pg_other" : "pg_ekimae";
            auto entry = SampleEntry("1000000001", program, i, core::EntryKind::kEarn,
                                     "ref-" + std::to_string(i));
            if (i == 7) entry.store_id = "";  // the hub's own entries have no store
            KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
        }
        return Status::Ok();
    }));
    std::vector<std::string> refs;
    std::optional<int64_t> before;
    while (true) {
        auto page = Get([&](ReadTxn& t) {
            return t.EntriesOf("1000000001", std::nullopt, Page{10, before});
        });
        KZ_ASSERT_OK(page);
        if (page->empty()) break;
        EXPECT_LE(page->size(), 10u);
        for (const auto& e : *page) refs.push_back(e.ref);
        before = page->back().entry_id;
    }
    ASSERT_EQ(refs.size(), 25u);
    for (int i = 0; i < 25; ++i) EXPECT_EQ(refs[i], "ref-" + std::to_string(25 - i));

    auto other = Get([](ReadTxn& t) {
        return t.EntriesOf("1000000001", std::string_view("pg_other"), Page{3, std::nullopt});
    });
    KZ_ASSERT_OK(other);
    ASSERT_EQ(other->size(), 3u);
    EXPECT_EQ((*other)[0].ref, "ref-25");
    EXPECT_EQ((*other)[2].ref, "ref-15");
    for (const auto& e : *other) EXPECT_EQ(e.program_id, "pg_other");

    auto seventh = Get([](ReadTxn& t) {
        return t.EntriesOf("1000000001", std::string_view("pg_ekimae"), Page{100, std::nullopt});
    });
    KZ_ASSERT_OK(seventh);
    EXPECT_EQ(seventh->size(), 20u);
    for (const auto& e : *seventh) EXPECT_EQ(e.store_id, e.ref == "ref-7" ? "" : "st_shibuya");
}

TEST_P(StorageContract, LotsAreDrawnNeverBelowZeroAndQueriedOpenOrExpired) {
    Seed();
    int64_t soon = 0, late = 0, expired = 0;
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(late, txn.InsertLot(SampleLot("1000000001", "pg_ekimae", "st_shibuya",
                                                          "", 50, kNow + 900)));
        KZ_ASSIGN_OR_RETURN(soon, txn.InsertLot(SampleLot("1000000001", "pg_ekimae", "st_shibuya",
                                                          "", 30, kNow + 100)));
        KZ_ASSIGN_OR_RETURN(expired, txn.InsertLot(SampleLot("1000000001", "pg_ekimae",
                                                             "st_shibuya", "", 20, kNow - 1)));
        return StatusOf(
            txn.InsertLot(SampleLot("1000000001", "pg_other", "st_other", "", 7, kNow + 5)));
    }));
    EXPECT_NE(soon, late);
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.DrawFromLot({soon, 30}));
        return txn.DrawFromLot({late, 10});
    }));
    Status too_much = Put([&](WriteTxn& txn) { return txn.DrawFromLot({late, 41}); });
    ASSERT_FALSE(too_much.ok());
    EXPECT_EQ(too_much.error().code, ErrorCode::kInternal);
    Status unknown = Put([&](WriteTxn& txn) { return txn.DrawFromLot({999999, 1}); });
    ASSERT_FALSE(unknown.ok());
    Status negative = Put([&](WriteTxn& txn) { return txn.DrawFromLot({late, -5}); });
    ASSERT_FALSE(negative.ok());

    auto open = Get([](ReadTxn& t) { return t.OpenLots("1000000001", "pg_ekimae"); });
    KZ_ASSERT_OK(open);
    ASSERT_EQ(open->size(), 2u);  // the emptied lot is no longer open
    std::set<int64_t> open_ids{(*open)[0].lot_id, (*open)[1].lot_id};
    EXPECT_EQ(open_ids, (std::set<int64_t>{late, expired}));
    for (const auto& lot : *open) {
        if (lot.lot_id != late) continue;
        auto want = SampleLot("1000000001", "pg_ekimae", "st_shibuya", "", 50, kNow + 900);
        want.remaining = 40;
        ExpectSameLot(lot, want);
    }

    auto due = Get([](ReadTxn& t) { return t.ExpiredOpenLots(At(kNow), 10); });
    KZ_ASSERT_OK(due);
    ASSERT_EQ(due->size(), 1u);
    EXPECT_EQ((*due)[0].lot_id, expired);
    auto later = Get([](ReadTxn& t) { return t.ExpiredOpenLots(At(kNow + 1000), 2); });
    KZ_ASSERT_OK(later);
    ASSERT_EQ(later->size(), 2u);  // limited, soonest expiry first
    EXPECT_EQ((*later)[0].lot_id, expired);
    EXPECT_EQ((*later)[1].program_id, "pg_other");
}

TEST_P(StorageContract, LotOfAPurchaseKeepsItsPurchaseId) {
    Seed();
    Earn("p-lot", 12, kNow + 100);
    auto open = Get([](ReadTxn& t) { return t.OpenLots("1000000001", "pg_ekimae"); });
    KZ_ASSERT_OK(open);
    ASSERT_EQ(open->size(), 1u);
    ExpectSameLot((*open)[0],
                  SampleLot("1000000001", "pg_ekimae", "st_shibuya", "p-lot", 12, kNow + 100));
}

TEST_P(StorageContract, LedgerInvariantsHoldAfterEarningAndRedeeming) {
    Seed();
    Earn("p-1", 100, kNow + 100);
    Earn("p-2", 40, kNow + 50, "pg_other");
    KZ_ASSERT_OK(Put([](WriteTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(auto lots, txn.OpenLots("1000000001", "pg_ekimae"));
        KZ_RETURN_IF_ERROR(txn.DrawFromLot({lots.at(0).lot_id, 60}));
        return StatusOf(txn.AppendEntry(
            SampleEntry("1000000001", "pg_ekimae", -60, core::EntryKind::kRedeem, "r-1")));
    }));
    auto problems = Get([](ReadTxn& t) { return t.CheckLedgerInvariants(); });
    KZ_ASSERT_OK(problems);
    EXPECT_TRUE(problems->empty()) << (problems->empty() ? "" : problems->front());
    auto balance = Get([](ReadTxn& t) { return t.BalanceOf("1000000001", "pg_ekimae"); });
    KZ_ASSERT_OK(balance);
    EXPECT_EQ(*balance, 40);
}

TEST_P(StorageContract, LedgerInvariantCheckFindsLotsOutOfStepWithBalance) {
    Seed();
    Earn("p-1", 100, kNow + 100);
    // An entry without the matching lot draw: balance and entries agree, lots do not.
    KZ_ASSERT_OK(Put([](WriteTxn& txn) {
        return StatusOf(txn.AppendEntry(
            SampleEntry("1000000001", "pg_ekimae", -10, core::EntryKind::kRedeem, "r-bad")));
    }));
    auto problems = Get([](ReadTxn& t) { return t.CheckLedgerInvariants(); });
    KZ_ASSERT_OK(problems);
    ASSERT_EQ(problems->size(), 1u);
    EXPECT_NE((*problems)[0].find("1000000001"), std::string::npos) << (*problems)[0];
    EXPECT_NE((*problems)[0].find("pg_ekimae"), std::string::npos) << (*problems)[0];
}

TEST_P(StorageContract, RecordInvariantCheckFindsRecordsAndEntriesOutOfStep) {
    Seed();
    KZ_ASSERT_OK(Put([](WriteTxn& txn) -> Status {
        auto kept = SamplePurchase("p-kept", "1000000001", "st_shibuya", "pg_ekimae", kNow);
        KZ_RETURN_IF_ERROR(txn.InsertPurchase(kept));
        KZ_RETURN_IF_ERROR(txn.InsertLot(SampleLot("1000000001", "pg_ekimae", "st_shibuya",
                                                   "p-kept", kept.points_earned, kNow + 100)));
        return StatusOf(txn.AppendEntry(SampleEntry("1000000001", "pg_ekimae", kept.points_earned,
                                                    core::EntryKind::kEarn, "p-kept")));
    }));
    auto clean = Get([](ReadTxn& t) { return t.CheckRecordInvariants(); });
    KZ_ASSERT_OK(clean);
    EXPECT_TRUE(clean->empty()) << (clean->empty() ? "" : clean->front());

    // A purchase stored without its entry and lot, and a redeem entry without its redemption.
    KZ_ASSERT_OK(Put([](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertPurchase(
            SamplePurchase("p-bare", "1000000001", "st_shibuya", "pg_ekimae", kNow)));
        return StatusOf(txn.AppendEntry(
            SampleEntry("1000000001", "pg_ekimae", -5, core::EntryKind::kRedeem, "r-ghost")));
    }));
    auto problems = Get([](ReadTxn& t) { return t.CheckRecordInvariants(); });
    KZ_ASSERT_OK(problems);
    std::string all;
    for (const auto& problem : *problems) all += problem + "\n";
    EXPECT_EQ(problems->size(), 3u) << all;  // p-bare's entry, p-bare's lot, r-ghost's record
    EXPECT_NE(all.find("purchase p-bare: no ledger entries"), std::string::npos) << all;
    EXPECT_NE(all.find("lot of purchase p-bare: no lots"), std::string::npos) << all;
    EXPECT_NE(all.find("redeem entry for r-ghost: no such record"), std::string::npos) << all;
}

// ---------------------------------------------------------------------------------------------
// Offers, sessions, audit

TEST_P(StorageContract, OffersRoundTripAndCurrentOnesAreFilteredByTimeAndStore) {
    Seed();
    core::Offer sale{"of_sale",
                     "st_shibuya",
                     "年末セール 全品10%オフ",
                     "期間中、全商品が10%オフ。\n詳しくは店頭で。",
                     {"書籍", "文具", "books"},
                     At(kNow - 100),
                     At(kNow + 100),
                     At(kNow - 200)};
    core::Offer other{"of_other", "st_other", "Coffee week", "",
                      {},         At(kNow),   At(kNow + 1),  At(kNow - 100)};
    core::Offer past{"of_past", "st_shibuya",   "Past",   "gone",
                     {"x"},     At(kNow - 500), At(kNow), At(kNow - 600)};
    core::Offer future{"of_future", "st_shibuya", "Future",       "soon",
                       {"x"},       At(kNow + 1), At(kNow + 500), At(kNow - 50)};
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        for (const auto* o : {&sale, &other, &past, &future}) {
            KZ_RETURN_IF_ERROR(txn.InsertOffer(*o));
        }
        return Status::Ok();
    }));
    auto found = Get([](ReadTxn& t) { return t.FindOffer("of_sale"); });
    KZ_ASSERT_OK(found);
    ASSERT_TRUE(found->has_value());
    ExpectSameOffer(**found, sale);

    auto current = Get([](ReadTxn& t) { return t.CurrentOffers(At(kNow), {}); });
    KZ_ASSERT_OK(current);
    ASSERT_EQ(current->size(), 2u);  // newest created first
    ExpectSameOffer((*current)[0], other);
    ExpectSameOffer((*current)[1], sale);

    auto of_store = Get([](ReadTxn& t) {
        return t.CurrentOffers(At(kNow), {"st_shibuya", "st_nowhere"});
    });
    KZ_ASSERT_OK(of_store);
    ASSERT_EQ(of_store->size(), 1u);
    EXPECT_EQ((*of_store)[0].offer_id, "of_sale");

    Status duplicate = Put([&](WriteTxn& txn) { return txn.InsertOffer(sale); });
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);
}

TEST_P(StorageContract, SessionsAreFoundAndExpiredOnesDeleted) {
    Seed();
    MemberSession live{"hash-live", "1000000001", At(kNow - 10), At(kNow + 3600)};
    MemberSession stale{"hash-stale", "1000000001", At(kNow - 7200), At(kNow)};
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertSession(live));
        return txn.InsertSession(stale);
    }));
    auto found = Get([](ReadTxn& t) { return t.FindSession("hash-live"); });
    KZ_ASSERT_OK(found);
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->member_id, live.member_id);
    EXPECT_EQ((*found)->created_at, live.created_at);
    EXPECT_EQ((*found)->expires_at, live.expires_at);

    KZ_ASSERT_OK(Put([](WriteTxn& txn) { return txn.DeleteExpiredSessions(At(kNow)); }));
    auto gone = Get([](ReadTxn& t) { return t.FindSession("hash-stale"); });
    KZ_ASSERT_OK(gone);
    EXPECT_FALSE(gone->has_value());
    auto kept = Get([](ReadTxn& t) { return t.FindSession("hash-live"); });
    KZ_ASSERT_OK(kept);
    EXPECT_TRUE(kept->has_value());
}

TEST_P(StorageContract, AuditRecordsComeBackInOrder) {
    Seed();
    KZ_ASSERT_OK(Put([](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(
            txn.InsertAudit({"store:st_shibuya", "profile_read", "1000000001", At(kNow)}));
        KZ_RETURN_IF_ERROR(txn.InsertAudit({"operator", "profile_read", "1000000002", At(kNow)}));
        return txn.InsertAudit({"store:st_other", "profile_read", "1000000001", At(kNow + 1)});
    }));
    auto audit = Get([](ReadTxn& t) { return t.AuditOf("1000000001"); });
    KZ_ASSERT_OK(audit);
    ASSERT_EQ(audit->size(), 2u);
    EXPECT_EQ((*audit)[0].actor, "store:st_shibuya");
    EXPECT_EQ((*audit)[0].action, "profile_read");
    EXPECT_EQ((*audit)[0].member_id, "1000000001");
    EXPECT_EQ((*audit)[0].at, At(kNow));
    EXPECT_EQ((*audit)[1].actor, "store:st_other");
}

// ---------------------------------------------------------------------------------------------
// Reservations, events and webhooks

core::Reservation SampleReservation(std::string created_by, std::string id) {
    core::Reservation r;
    r.created_by = std::move(created_by);
    r.reservation_id = std::move(id);
    r.member_id = "1000000001";
    r.store_id = "st_shibuya";
    r.program_id = "pg_ekimae";
    r.item_name = "新刊 上巻";
    r.item_sku = "978-4";
    r.quantity = 2;
    r.pickup_at = At(kNow + 86400);
    r.fingerprint = "fp-" + r.reservation_id;
    r.created_at = At(kNow);
    r.updated_at = At(kNow);
    r.updated_by = r.created_by;
    return r;
}

TEST_P(StorageContract, ReservationsRoundTripAreKeyedByCreatorAndIdAndChangeStatus) {
    Seed();
    core::Reservation a = SampleReservation("store:st_shibuya", "r-1");
    core::Reservation b = SampleReservation("member:1000000001", "r-1");
    b.created_at = At(kNow + 5);
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertReservation(a));
        return txn.InsertReservation(b);
    }));
    Status duplicate = Put([&](WriteTxn& txn) { return txn.InsertReservation(a); });
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);

    auto found = Get([](ReadTxn& t) { return t.FindReservation("store:st_shibuya", "r-1"); });
    KZ_ASSERT_OK(found);
    ASSERT_TRUE(found->has_value());
    const core::Reservation& r = **found;
    EXPECT_EQ(r.item_name, "新刊 上巻");
    EXPECT_EQ(r.item_sku, "978-4");
    EXPECT_EQ(r.quantity, 2);
    EXPECT_EQ(r.pickup_at, At(kNow + 86400));
    EXPECT_EQ(r.status, core::ReservationStatus::kReserved);
    EXPECT_EQ(r.fingerprint, "fp-r-1");
    auto both = Get([](ReadTxn& t) { return t.ReservationsWithId("r-1"); });
    KZ_ASSERT_OK(both);
    ASSERT_EQ(both->size(), 2u);
    EXPECT_EQ((*both)[0].created_by, "store:st_shibuya");
    auto newest_first = Get([](ReadTxn& t) {
        return t.ReservationsOf("1000000001", std::string_view("pg_ekimae"), 10);
    });
    KZ_ASSERT_OK(newest_first);
    ASSERT_EQ(newest_first->size(), 2u);
    EXPECT_EQ((*newest_first)[0].created_by, "member:1000000001");
    auto other_program = Get([](ReadTxn& t) {
        return t.ReservationsOf("1000000001", std::string_view("pg_other"), 10);
    });
    KZ_ASSERT_OK(other_program);
    EXPECT_TRUE(other_program->empty());

    a.status = core::ReservationStatus::kPickedUp;
    a.updated_at = At(kNow + 60);
    a.updated_by = "store:st_shibuya";
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) { return txn.UpdateReservation(a); }));
    auto changed = Get([](ReadTxn& t) { return t.FindReservation("store:st_shibuya", "r-1"); });
    KZ_ASSERT_OK(changed);
    EXPECT_EQ((*changed)->status, core::ReservationStatus::kPickedUp);
    EXPECT_EQ((*changed)->updated_at, At(kNow + 60));
    core::Reservation missing = SampleReservation("store:st_other", "nope");
    Status unknown = Put([&](WriteTxn& txn) { return txn.UpdateReservation(missing); });
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_P(StorageContract, EventSequencesOnlyGrowAndAFailedUnitHandsNoneOut) {
    Seed();
    EXPECT_EQ(*Get([](ReadTxn& t) { return t.LastEventSequence(); }), 0);
    Event event{0, "purchase.created", "pg_ekimae", "1000000001", At(kNow), R"({"a":1})"};
    int64_t first = 0;
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(first, txn.AppendEvent(event));
        return Status::Ok();
    }));
    Status failed = Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(StatusOf(txn.AppendEvent(event)));
        return core::MakeError(ErrorCode::kRuleViolation, "changed my mind");
    });
    ASSERT_FALSE(failed.ok());
    int64_t second = 0;
    Event unowned{0, "member.enrolled", "", "1000000001", At(kNow + 1), "{}"};
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(second, txn.AppendEvent(unowned));
        return Status::Ok();
    }));
    EXPECT_GT(second, first);
    EXPECT_EQ(*Get([](ReadTxn& t) { return t.LastEventSequence(); }), second);
    auto events = Get([](ReadTxn& t) { return t.EventsAfter(0, 10); });
    KZ_ASSERT_OK(events);
    ASSERT_EQ(events->size(), 2u) << "the failed unit's event is gone";
    EXPECT_EQ((*events)[0].sequence, first);
    EXPECT_EQ((*events)[0].payload, R"({"a":1})");
    EXPECT_EQ((*events)[1].program_id, "");
    auto after_first = Get([&](ReadTxn& t) { return t.EventsAfter(first, 10); });
    KZ_ASSERT_OK(after_first);
    ASSERT_EQ(after_first->size(), 1u);
    auto found = Get([&](ReadTxn& t) { return t.FindEvent(second); });
    KZ_ASSERT_OK(found);
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->type, "member.enrolled");
    // An event naming a program and a member makes the member one of the program's.
    auto programs = Get([](ReadTxn& t) { return t.ProgramsOfMember("1000000001"); });
    KZ_ASSERT_OK(programs);
    EXPECT_EQ(*programs, std::vector<std::string>{"pg_ekimae"});

    EXPECT_EQ(*Get([](ReadTxn& t) { return t.EventCursor("webhooks"); }), 0);
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) { return txn.SetEventCursor("webhooks", first); }));
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) { return txn.SetEventCursor("webhooks", second); }));
    EXPECT_EQ(*Get([](ReadTxn& t) { return t.EventCursor("webhooks"); }), second);
}

TEST_P(StorageContract, WebhooksAndTheirDeliveriesRoundTripAndDueOnesComeSoonestFirst) {
    Seed();
    core::Webhook webhook{"wh_1",
                          "st_shibuya",
                          "pg_ekimae",
                          "https://shop.example.jp/k",
                          {"member.enrolled", "purchase.created"},
                          "whsec_0123",
                          At(kNow),
                          0};
    int64_t e1 = 0, e2 = 0;
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertWebhook(webhook));
        Event event{0, "member.enrolled", "pg_ekimae", "1000000001", At(kNow), "{}"};
        KZ_ASSIGN_OR_RETURN(e1, txn.AppendEvent(event));
        KZ_ASSIGN_OR_RETURN(e2, txn.AppendEvent(event));
        return Status::Ok();
    }));
    auto stored = Get([](ReadTxn& t) { return t.FindWebhook("wh_1"); });
    KZ_ASSERT_OK(stored);
    ASSERT_TRUE(stored->has_value());
    EXPECT_EQ((*stored)->events, webhook.events);
    EXPECT_EQ((*stored)->secret, "whsec_0123");
    EXPECT_EQ(Get([](ReadTxn& t) { return t.WebhooksOfStore("st_shibuya"); })->size(), 1u);
    EXPECT_EQ(Get([](ReadTxn& t) { return t.WebhooksOfProgram("pg_other"); })->size(), 0u);

    core::WebhookDelivery later;
    later.webhook_id = "wh_1";
    later.event_sequence = e1;
    later.created_at = At(kNow);
    later.next_attempt_at = At(kNow + 30);
    core::WebhookDelivery sooner = later;
    sooner.event_sequence = e2;
    sooner.next_attempt_at = At(kNow + 10);
    int64_t later_id = 0, sooner_id = 0;
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(later_id, txn.InsertDelivery(later));
        KZ_ASSIGN_OR_RETURN(sooner_id, txn.InsertDelivery(sooner));
        return Status::Ok();
    }));
    Status twice = Put([&](WriteTxn& txn) { return StatusOf(txn.InsertDelivery(later)); });
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.error().code, ErrorCode::kAlreadyExists);

    EXPECT_TRUE(Get([](ReadTxn& t) { return t.DueDeliveries(At(kNow + 9), 10); })->empty());
    auto due = Get([](ReadTxn& t) { return t.DueDeliveries(At(kNow + 60), 10); });
    KZ_ASSERT_OK(due);
    ASSERT_EQ(due->size(), 2u);
    EXPECT_EQ((*due)[0].delivery_id, sooner_id);

    core::WebhookDelivery done = (*due)[0];
    done.status = core::DeliveryStatus::kDelivered;
    done.attempts = 2;
    done.first_attempt_at = At(kNow + 10);
    done.last_attempt_at = At(kNow + 40);
    done.last_status = 204;
    done.delivered_at = At(kNow + 40);
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) { return txn.UpdateDelivery(done); }));
    auto read = Get([&](ReadTxn& t) { return t.FindDelivery(sooner_id); });
    KZ_ASSERT_OK(read);
    ASSERT_TRUE(read->has_value());
    EXPECT_EQ((*read)->status, core::DeliveryStatus::kDelivered);
    EXPECT_EQ((*read)->attempts, 2);
    EXPECT_EQ((*read)->first_attempt_at, At(kNow + 10));
    EXPECT_EQ((*read)->last_status, 204);
    EXPECT_EQ((*read)->delivered_at, At(kNow + 40));
    EXPECT_EQ(Get([](ReadTxn& t) { return t.DueDeliveries(At(kNow + 60), 10); })->size(), 1u);

    auto newest_first = Get([](ReadTxn& t) { return t.DeliveriesOf("wh_1", 10, std::nullopt); });
    KZ_ASSERT_OK(newest_first);
    ASSERT_EQ(newest_first->size(), 2u);
    EXPECT_EQ((*newest_first)[0].delivery_id, sooner_id);
    auto page = Get([&](ReadTxn& t) { return t.DeliveriesOf("wh_1", 10, sooner_id); });
    KZ_ASSERT_OK(page);
    ASSERT_EQ(page->size(), 1u);
    EXPECT_EQ((*page)[0].delivery_id, later_id);
}

// ---------------------------------------------------------------------------------------------
// Units of work

TEST_P(StorageContract, FailedUnitRollsBackAllItsWrites) {
    Seed();
    Status failed = Put([](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertMember(SampleMember("1000000002")));
        KZ_RETURN_IF_ERROR(txn.AppendEntry(
            SampleEntry("1000000002", "pg_ekimae", 10, core::EntryKind::kEarn, "x")));
        return core::MakeError(ErrorCode::kRuleViolation, "changed my mind");
    });
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(failed.error().message, "changed my mind");
    auto member = Get([](ReadTxn& t) { return t.FindMember("1000000002"); });
    KZ_ASSERT_OK(member);
    EXPECT_FALSE(member->has_value());
    auto balance = Get([](ReadTxn& t) { return t.BalanceOf("1000000002", "pg_ekimae"); });
    KZ_ASSERT_OK(balance);
    EXPECT_EQ(*balance, 0);
}

TEST_P(StorageContract, UnitThatThrowsFailsAsInternalAndWritesNothing) {
    Seed();
    Status thrown = Put([](WriteTxn& txn) -> Status {
        (void)txn.InsertMember(SampleMember("1000000002"));
        throw std::runtime_error("boom");
    });
    ASSERT_FALSE(thrown.ok());
    EXPECT_EQ(thrown.error().code, ErrorCode::kInternal);
    EXPECT_NE(thrown.error().message.find("boom"), std::string::npos);
    auto member = Get([](ReadTxn& t) { return t.FindMember("1000000002"); });
    KZ_ASSERT_OK(member);
    EXPECT_FALSE(member->has_value());

    Status read_thrown =
        storage_->Read([](ReadTxn&) -> Status { throw std::runtime_error("read boom"); });
    ASSERT_FALSE(read_thrown.ok());
    EXPECT_EQ(read_thrown.error().code, ErrorCode::kInternal);
}

TEST_P(StorageContract, WriteFromInsideAUnitOfWorkFailsInsteadOfHanging) {
    Seed();
    Status inner = Status::Ok();
    Status outer = Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertMember(SampleMember("1000000002")));
        inner = storage_->Write(
            [](WriteTxn& nested) { return nested.InsertMember(SampleMember("1000000003")); });
        return Status::Ok();
    });
    KZ_ASSERT_OK(outer);
    ASSERT_FALSE(inner.ok());
    EXPECT_EQ(inner.error().code, ErrorCode::kInternal);
    auto nested = Get([](ReadTxn& t) { return t.FindMember("1000000003"); });
    KZ_ASSERT_OK(nested);
    EXPECT_FALSE(nested->has_value());
}

TEST_P(StorageContract, ConcurrentWritesAllSucceedAndAreAllVisible) {
    Seed();
    constexpr int kThreads = 32;
    constexpr int kWritesPerThread = 200;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kWritesPerThread; ++i) {
                Status s = storage_->Write([&](WriteTxn& txn) -> Status {
                    auto entry = SampleEntry("1000000001", "pg_ekimae", 1, core::EntryKind::kEarn,
                                             std::to_string(t) + "/" + std::to_string(i));
                    return StatusOf(txn.AppendEntry(entry));
                });
                if (!s.ok()) ++failures;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    auto balance = Get([](ReadTxn& t) { return t.BalanceOf("1000000001", "pg_ekimae"); });
    KZ_ASSERT_OK(balance);
    EXPECT_EQ(*balance, kThreads * kWritesPerThread);
    auto entries = Get([](ReadTxn& t) {
        return t.EntriesOf("1000000001", std::nullopt, Page{100000, std::nullopt});
    });
    KZ_ASSERT_OK(entries);
    std::set<std::string> refs;
    for (const auto& e : *entries) refs.insert(e.ref);
    EXPECT_EQ(refs.size(), static_cast<std::size_t>(kThreads * kWritesPerThread));
}

TEST_P(StorageContract, FailingUnitAmongConcurrentOnesLeavesTheOthersCommitted) {
    Seed();
    constexpr int kThreads = 16;
    constexpr int kWritesPerThread = 50;
    std::atomic<int> unexpected{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kWritesPerThread; ++i) {
                bool fail = (t * kWritesPerThread + i) % 3 == 0;
                Status s = storage_->Write([&](WriteTxn& txn) -> Status {
                    std::string id = "m-" + std::to_string(t) + "-" + std::to_string(i);
                    KZ_RETURN_IF_ERROR(txn.InsertMember(SampleMember(id)));
                    if (fail) return core::MakeError(ErrorCode::kRuleViolation, "planned");
                    return Status::Ok();
                });
                if (s.ok() == fail) ++unexpected;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(unexpected.load(), 0);
    uint64_t planned_failures = (kThreads * kWritesPerThread + 2) / 3;
    StorageStats stats = storage_->Stats();
    EXPECT_EQ(stats.write_units, 1u + kThreads * kWritesPerThread);  // with Seed()
    EXPECT_EQ(stats.failed_write_units, planned_failures);
    EXPECT_EQ(stats.failed_commits, 0u);
    EXPECT_LE(stats.commits, stats.write_units);
    EXPECT_GE(stats.largest_batch, 1u);
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kWritesPerThread; ++i) {
            bool failed = (t * kWritesPerThread + i) % 3 == 0;
            std::string id = "m-" + std::to_string(t) + "-" + std::to_string(i);
            auto member = Get([&](ReadTxn& txn) { return txn.FindMember(id); });
            KZ_ASSERT_OK(member);
            EXPECT_EQ(member->has_value(), !failed) << id;
        }
    }
}

TEST_P(StorageContract, ReaderIsNotBlockedWhileTheWriterHoldsALongTransaction) {
    Seed();
    std::promise<void> writing;
    std::promise<void> may_finish;
    std::shared_future<void> finish = may_finish.get_future().share();
    std::thread writer([&] {
        Status s = storage_->Write([&](WriteTxn& txn) -> Status {
            KZ_RETURN_IF_ERROR(txn.InsertMember(SampleMember("1000000002")));
            writing.set_value();
            finish.wait();  // holds the write transaction open
            return Status::Ok();
        });
        EXPECT_TRUE(s.ok()) << Describe(s);
    });
    writing.get_future().wait();

    auto started = std::chrono::steady_clock::now();
    auto before = Get([](ReadTxn& t) { return t.FindMember("1000000002"); });
    auto seeded = Get([](ReadTxn& t) { return t.FindMember("1000000001"); });
    auto took = std::chrono::steady_clock::now() - started;
    may_finish.set_value();
    writer.join();

    KZ_ASSERT_OK(before);
    EXPECT_FALSE(before->has_value());  // uncommitted work is invisible
    KZ_ASSERT_OK(seeded);
    EXPECT_TRUE(seeded->has_value());
    EXPECT_LT(took, std::chrono::seconds(2));
    auto after = Get([](ReadTxn& t) { return t.FindMember("1000000002"); });
    KZ_ASSERT_OK(after);
    EXPECT_TRUE(after->has_value());
}

TEST_P(StorageContract, ReadSeesOneSnapshotWhileWritesCommit) {
    Seed();
    Earn("p-1", 10, kNow + 100);
    std::future<void> earning;
    Status s = storage_->Read([&](ReadTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(int64_t first, txn.BalanceOf("1000000001", "pg_ekimae"));
        // A write that commits while this read is open (where the backend lets a commit
        // proceed beside an open read; otherwise it commits once the read ends).
        earning = std::async(std::launch::async, [&] { Earn("p-2", 5, kNow + 100); });
        (void)earning.wait_for(std::chrono::milliseconds(500));
        KZ_ASSIGN_OR_RETURN(int64_t second, txn.BalanceOf("1000000001", "pg_ekimae"));
        EXPECT_EQ(first, 10);
        EXPECT_EQ(second, 10);
        return Status::Ok();
    });
    KZ_ASSERT_OK(s);
    earning.get();
    auto balance = Get([](ReadTxn& t) { return t.BalanceOf("1000000001", "pg_ekimae"); });
    KZ_ASSERT_OK(balance);
    EXPECT_EQ(*balance, 15);
}

TEST_P(StorageContract, AcknowledgedWritesSurviveClosingAndReopening) {
    if (!GetParam().persistent) GTEST_SKIP() << "an in-memory database ends with its storage";
    Seed();
    Earn("p-1", 25, kNow + 100);
    Reopen();
    Reopen();  // opening an up-to-date database again migrates nothing and loses nothing
    auto purchase = Get([](ReadTxn& t) { return t.FindPurchase("st_shibuya", "p-1"); });
    KZ_ASSERT_OK(purchase);
    ASSERT_TRUE(purchase->has_value());
    ExpectSamePurchase(**purchase,
                       SamplePurchase("p-1", "1000000001", "st_shibuya", "pg_ekimae", kNow));
    auto balance = Get([](ReadTxn& t) { return t.BalanceOf("1000000001", "pg_ekimae"); });
    KZ_ASSERT_OK(balance);
    EXPECT_EQ(*balance, 25);
    auto problems = Get([](ReadTxn& t) { return t.CheckLedgerInvariants(); });
    KZ_ASSERT_OK(problems);
    EXPECT_TRUE(problems->empty());
}

// ---------------------------------------------------------------------------------------------
// Member merge: the rows keyed by member id that came after the ledger

TEST_P(StorageContract, MergeMovesOffersSentSkipsPendingDispatchRowsAndEndsSessionsAndResets) {
    Seed();
    const std::string survivor = "1000000001";
    const std::string twin = "1000000002";
    core::Offer books{"of_books", "st_shibuya",   "本の秋",       "",
                      {"books"},  At(kNow - 100), At(kNow + 100), At(kNow - 200)};
    core::Offer coffee{"of_coffee", "st_shibuya",   "珈琲",         "",
                       {"coffee"},  At(kNow - 100), At(kNow + 100), At(kNow - 200)};
    DispatchRun run;
    run.dispatch_id = "dsp_1";
    run.status = "running";
    run.channels = {"email", "print"};
    run.created_by = "operator";
    run.created_at = run.updated_at = At(kNow - 60);
    auto row = [&](const std::string& member, const std::string& channel, const char* state) {
        DispatchRecipient r;
        r.dispatch_id = run.dispatch_id;
        r.member_id = member;
        r.channel = channel;
        r.state = state;
        r.items = "[]";
        r.next_attempt_at = r.updated_at = At(kNow - 30);
        return r;
    };
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertMember(SampleMember(twin, "twin@example.jp")));
        KZ_RETURN_IF_ERROR(txn.InsertOffer(books));
        KZ_RETURN_IF_ERROR(txn.InsertOffer(coffee));
        KZ_RETURN_IF_ERROR(txn.InsertDispatch(run));
        KZ_RETURN_IF_ERROR(txn.InsertDispatchRecipient(row(twin, "email", "pending")));
        KZ_RETURN_IF_ERROR(txn.InsertDispatchRecipient(row(twin, "print", "ready")));
        KZ_RETURN_IF_ERROR(txn.InsertDispatchRecipient(row(survivor, "email", "pending")));
        // Both were sent the books offer by post; only the twin the coffee offer by email.
        KZ_RETURN_IF_ERROR(txn.InsertSentOffer({twin, "of_books", "print", "dsp_1", At(kNow)}));
        KZ_RETURN_IF_ERROR(
            txn.InsertSentOffer({survivor, "of_books", "print", "dsp_1", At(kNow - 5)}));
        KZ_RETURN_IF_ERROR(txn.InsertSentOffer({twin, "of_coffee", "email", "dsp_1", At(kNow)}));
        KZ_RETURN_IF_ERROR(txn.InsertSession({"hash-twin", twin, At(kNow - 10), At(kNow + 3600)}));
        KZ_RETURN_IF_ERROR(
            txn.InsertSession({"hash-survivor", survivor, At(kNow - 10), At(kNow + 3600)}));
        KZ_RETURN_IF_ERROR(
            txn.InsertPasswordReset({"reset-open", twin, At(kNow - 10), At(kNow + 600), {}}));
        return txn.InsertPasswordReset(
            {"reset-used", twin, At(kNow - 900), At(kNow - 300), At(kNow - 600)});
    }));

    auto holdings = Get([&](ReadTxn& t) { return t.HoldingsOf(twin); });
    KZ_ASSERT_OK(holdings);
    ASSERT_TRUE(holdings->has_value());
    EXPECT_EQ((*holdings)->offers_sent, 2);
    EXPECT_EQ((*holdings)->dispatch_pending, 1);
    EXPECT_EQ((*holdings)->sessions, 1);
    EXPECT_EQ((*holdings)->password_resets_open, 1);
    auto survivor_holdings = Get([&](ReadTxn& t) { return t.HoldingsOf(survivor); });
    KZ_ASSERT_OK(survivor_holdings);
    auto plan = core::PlanMerge(**survivor_holdings, **holdings);
    KZ_ASSERT_OK(plan);
    EXPECT_EQ(std::make_tuple(plan->offers_sent, plan->dispatch_skipped, plan->sessions_ended,
                              plan->password_resets_ended),
              std::make_tuple(int64_t{2}, int64_t{1}, int64_t{1}, int64_t{1}));
    KZ_ASSERT_OK(
        Put([&](WriteTxn& txn) { return txn.MergeMembers(*plan, "operator", "", At(kNow + 1)); }));

    // What the twin was sent now counts for the survivor, and nothing stays under the twin.
    auto sent = Get([](ReadTxn& t) { return t.SentOffersBetween("1000000001", "1000000002"); });
    KZ_ASSERT_OK(sent);
    std::set<std::tuple<std::string, std::string, std::string>> keys;
    for (const SentOffer& o : *sent) keys.insert({o.member_id, o.offer_id, o.channel});
    EXPECT_EQ(keys, (std::set<std::tuple<std::string, std::string, std::string>>{
                        {survivor, "of_books", "print"}, {survivor, "of_coffee", "email"}}));
    // The run's rows keep the id it selected; the twin's unsent one is skipped, naming why.
    auto rows = Get([](ReadTxn& t) { return t.DispatchRecipients("dsp_1", "", std::nullopt, 10); });
    KZ_ASSERT_OK(rows);
    ASSERT_EQ(rows->size(), 3u);
    for (const DispatchRecipient& r : *rows) {
        if (r.member_id == survivor) {
            EXPECT_EQ(r.state, "pending");
        } else if (r.channel == "email") {
            EXPECT_EQ(r.state, "skipped");
            EXPECT_EQ(r.reason, "the member was merged into member " + survivor);
            EXPECT_EQ(r.updated_at, At(kNow + 1));
        } else {
            EXPECT_EQ(r.state, "ready");
        }
    }
    auto twin_session = Get([](ReadTxn& t) { return t.FindSession("hash-twin"); });
    KZ_ASSERT_OK(twin_session);
    EXPECT_FALSE(twin_session->has_value());
    auto survivor_session = Get([](ReadTxn& t) { return t.FindSession("hash-survivor"); });
    KZ_ASSERT_OK(survivor_session);
    EXPECT_TRUE(survivor_session->has_value());
    auto open = Get([](ReadTxn& t) { return t.FindPasswordReset("reset-open"); });
    KZ_ASSERT_OK(open);
    ASSERT_TRUE(open->has_value());
    EXPECT_EQ((*open)->used_at, At(kNow + 1));
    auto used = Get([](ReadTxn& t) { return t.FindPasswordReset("reset-used"); });
    KZ_ASSERT_OK(used);
    ASSERT_TRUE(used->has_value());
    EXPECT_EQ((*used)->used_at, At(kNow - 600));

    // A message to the twin that was in flight during the merge is recorded for the survivor,
    // through a chain of merges too.
    KZ_ASSERT_OK(Put([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertMember(SampleMember("1000000003")));
        KZ_ASSIGN_OR_RETURN(auto last_survivor, txn.HoldingsOf("1000000003"));
        KZ_ASSIGN_OR_RETURN(auto last_from, txn.HoldingsOf(survivor));
        KZ_ASSIGN_OR_RETURN(auto last, core::PlanMerge(*last_survivor, *last_from));
        KZ_RETURN_IF_ERROR(txn.MergeMembers(last, "operator", "", At(kNow + 2)));
        return txn.InsertSentOffer({twin, "of_coffee", "print", "dsp_1", At(kNow + 3)});
    }));
    auto after = Get([](ReadTxn& t) { return t.SentOffersBetween("1000000001", "1000000003"); });
    KZ_ASSERT_OK(after);
    keys.clear();
    for (const SentOffer& o : *after) keys.insert({o.member_id, o.offer_id, o.channel});
    EXPECT_EQ(keys, (std::set<std::tuple<std::string, std::string, std::string>>{
                        {"1000000003", "of_books", "print"},
                        {"1000000003", "of_coffee", "email"},
                        {"1000000003", "of_coffee", "print"}}));
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageContract, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                             return info.param.name;
                         });

}  // namespace
}  // namespace kizuna::storage
