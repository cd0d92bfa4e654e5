#include "bulk_loader.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "core/ledger.hpp"
#include "crypto/crypto.hpp"
#include "hub/admin_service.hpp"
#include "hub/caller.hpp"
#include "hub/hub.hpp"
#include "storage/storage.hpp"

namespace kizuna::bench {
namespace {

// Member ids and card numbers as bench/seed makes them: sequential, valid check digits, in
// ascending order.
std::vector<SeedMember> Ids(int count) {
    std::vector<SeedMember> ids;
    for (int i = 0; i < count; ++i) {
        std::string member = std::to_string(500000000 + i);
        member += core::DammCheckDigit(member);
        std::string card = std::string(core::kCardPrefix) + std::to_string(10000000000LL + i);
        card += core::LuhnCheckDigit(card);
        ids.push_back({member, card});
    }
    return ids;
}

std::string Schema(const std::filesystem::path& db) {
    sqlite3* handle = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    std::string schema;
    sqlite3_exec(
        handle, "SELECT type, name, sql FROM sqlite_master ORDER BY name",
        [](void* out, int columns, char** values, char**) {
            for (int i = 0; i < columns; ++i)
                *static_cast<std::string*>(out) += values[i] ? values[i] : "NULL";
            *static_cast<std::string*>(out) += '\n';
            return 0;
        },
        &schema, nullptr);
    sqlite3_close(handle);
    return schema;
}

class BulkLoaderTest : public ::testing::Test {
  protected:
    void SetUp() override {
        crypto::InitCrypto();
        std::string pattern = (std::filesystem::temp_directory_path() / "bulk_loader_XXXXXX");
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        db_ = dir_ / "kizuna.db";
        options_.data_dir = dir_;
        auto hub = hub::Hub::Open(options_);
        ASSERT_TRUE(hub) << hub.error().message;
        for (int s = 0; s < 2; ++s) {
            hub::NewStore request;
            request.name = "Store " + std::to_string(s);
            auto created = (*hub)->admin().CreateStore(hub::Caller::Operator(), request);
            ASSERT_TRUE(created) << created.error().message;
            stores_.push_back({created->store.store_id, created->store.program_id});
        }
        hub_schema_ = Schema(db_);
        members_.ids = &ids_;
        members_.name_prefix = "Member ";
        members_.like.password_hash = "$argon2id$fake";
        members_.like.created_at = history_.now;
        members_.card_like.issued_at = history_.now;
        // The reference member, its card and history, through the hub's Storage::Write.
        core::Member member = members_.like;
        member.member_id = ids_[0].member_id;
        member.profile.name = "Member 1";
        core::Card card = members_.card_like;
        card.card_number = ids_[0].card_number;
        card.member_id = member.member_id;
        auto status = (*hub)->storage().Write([&](storage::WriteTxn& txn) -> core::Status {
            KZ_RETURN_IF_ERROR(txn.InsertMember(member));
            KZ_RETURN_IF_ERROR(txn.InsertCard(card));
            core::Lot lot{0, member.member_id, stores_[0].program_id, stores_[0].store_id, "", 0,
                          0, history_.now,     history_.ExpiresAt()};
            for (int n = 1; n <= history_.entries; ++n) {
                core::LedgerEntry entry{0,
                                        member.member_id,
                                        stores_[0].program_id,
                                        stores_[0].store_id,
                                        History::Delta(0, n),
                                        core::EntryKind::kAdjustment,
                                        History::Ref(n),
                                        history_.OccurredAt(n),
                                        History::kNote};
                KZ_ASSIGN_OR_RETURN(int64_t id, txn.AppendEntry(entry));
                (void)id;
                lot.earned += entry.delta;
            }
            lot.remaining = lot.earned;
            KZ_ASSIGN_OR_RETURN(int64_t id, txn.InsertLot(lot));
            (void)id;
            return core::Status::Ok();
        });
        ASSERT_TRUE(status.ok()) << status.error().message;
    }

    void TearDown() override { std::filesystem::remove_all(dir_); }

    // Bulk-loads members 1.. with history and checks every table against the reference.
    core::Status Load(BulkLoader& loader) {
        KZ_RETURN_IF_ERROR(loader.InsertMembers(members_, 1, ids_.size()));
        KZ_ASSIGN_OR_RETURN(int64_t first, loader.MemberRowId(ids_[1].member_id));
        KZ_RETURN_IF_ERROR(loader.LoadLedger(stores_, first, history_));
        const std::string& ref = ids_[0].member_id;
        const std::string& bulk = ids_[1].member_id;
        KZ_RETURN_IF_ERROR(
            loader.CheckLikeReference("members", "rowid", ref, bulk, {"member_id", "name"}));
        KZ_RETURN_IF_ERROR(
            loader.CheckLikeReference("cards", "rowid", ref, bulk, {"card_number", "member_id"}));
        KZ_RETURN_IF_ERROR(loader.CheckLikeReference(
            "ledger_entries", "entry_id", ref, bulk,
            {"entry_id", "member_id", "program_id", "store_id", "delta"}));
        KZ_RETURN_IF_ERROR(loader.CheckLikeReference(
            "lots", "lot_id", ref, bulk,
            {"lot_id", "member_id", "program_id", "store_id", "earned", "remaining"}));
        return loader.CheckLikeReference("balances", "program_id", ref, bulk,
                                         {"member_id", "program_id", "points"});
    }

    std::filesystem::path dir_;
    std::filesystem::path db_;
    hub::HubOptions options_;
    std::vector<BulkStore> stores_;
    std::string hub_schema_;
    std::vector<SeedMember> ids_ = Ids(250);
    History history_{4, core::FromUnixSeconds(1790000000)};
    BulkMembers members_;
};

TEST_F(BulkLoaderTest, LoadsWhatTheHubWritesAndKeepsItsSchema) {
    {
        auto loader = BulkLoader::Open(db_.string());
        ASSERT_TRUE(loader) << loader.error().message;
        auto status = Load(**loader);
        ASSERT_TRUE(status.ok()) << status.error().message;
        status = (*loader)->Finish();
        ASSERT_TRUE(status.ok()) << status.error().message;
    }
    EXPECT_EQ(Schema(db_), hub_schema_);

    auto hub = hub::Hub::Open(options_);
    ASSERT_TRUE(hub) << hub.error().message;
    auto status = (*hub)->storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto violations, txn.CheckLedgerInvariants());
        EXPECT_TRUE(violations.empty()) << violations.front();
        for (size_t i : {size_t{1}, size_t{2}, ids_.size() - 1}) {
            KZ_ASSIGN_OR_RETURN(auto member, txn.FindMember(ids_[i].member_id));
            EXPECT_TRUE(member.has_value());
            if (member) {
                EXPECT_EQ(member->profile.name, "Member " + std::to_string(i + 1));
            }
            KZ_ASSIGN_OR_RETURN(auto card, txn.FindCard(ids_[i].card_number));
            EXPECT_TRUE(card.has_value());
            if (card) {
                EXPECT_EQ(card->member_id, ids_[i].member_id);
            }
            KZ_ASSIGN_OR_RETURN(auto entries,
                                txn.EntriesOf(ids_[i].member_id, std::nullopt, storage::Page{}));
            EXPECT_EQ(entries.size(), static_cast<size_t>(history_.entries));
            KZ_ASSIGN_OR_RETURN(auto balances, txn.BalancesOf(ids_[i].member_id));
            EXPECT_EQ(balances.size(), 1u);
        }
        return core::Status::Ok();
    });
    ASSERT_TRUE(status.ok()) << status.error().message;
}

TEST_F(BulkLoaderTest, ReportsAColumnThatDiffersFromTheHubs) {
    members_.card_like.issued_by_store = stores_[1].store_id;  // the hub's card has NULL
    auto loader = BulkLoader::Open(db_.string());
    ASSERT_TRUE(loader) << loader.error().message;
    auto status = Load(**loader);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("cards.issued_by_store differs"), std::string::npos)
        << status.error().message;
}

TEST_F(BulkLoaderTest, RefusesAFileAHubHasOpen) {
    auto hub = hub::Hub::Open(options_);
    ASSERT_TRUE(hub) << hub.error().message;
    auto loader = BulkLoader::Open(db_.string());
    EXPECT_FALSE(loader);
}

}  // namespace
}  // namespace kizuna::bench
