#include "hub_fixture.hpp"

#include <stdlib.h>

namespace kizuna::hub::testing {

void HubTest::SetUp() {
    std::string templ = (std::filesystem::temp_directory_path() / "kizuna-hub-test-XXXXXX");
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = std::filesystem::path(templ) / "data";
    OpenHub();
}

void HubTest::OpenHub() {
    hub_.reset();
    HubOptions options;
    options.data_dir = dir_;
    options.clock = &clock_;
    options.session_ttl_seconds = 3600;
    auto hub = Hub::Open(options);
    ASSERT_TRUE(hub.has_value()) << hub.error().message;
    hub_ = std::move(*hub);
}

void HubTest::TearDown() {
    if (hub_) {
        std::vector<std::string> problems;
        auto status = hub_->storage().Read([&](storage::ReadTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(problems, txn.CheckLedgerInvariants());
            return core::Status::Ok();
        });
        EXPECT_TRUE(status.ok());
        for (const auto& p : problems) ADD_FAILURE() << "ledger invariant broken: " << p;
    }
    hub_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_.parent_path(), ec);
}

TestStore HubTest::MakeStore(const std::string& name, std::optional<std::string> program_id) {
    NewStore request;
    request.name = name;
    request.program_id = std::move(program_id);
    auto created = hub_->admin().CreateStore(operator_, request);
    EXPECT_TRUE(created.has_value()) << created.error().message;
    TestStore store;
    store.api_key = created->api_key;
    store.store = created->store;
    auto caller = hub_->auth().Authenticate(store.api_key);
    EXPECT_TRUE(caller.has_value()) << caller.error().message;
    store.caller = *caller;
    return store;
}

TestMember HubTest::MakeMember(const std::string& tag, bool share_profile, const std::string& phone,
                               bool shared_phone) {
    NewMember request;
    request.password = "correct horse " + tag;
    request.profile.name = "Member " + tag;
    request.profile.email = tag + "@example.jp";
    request.profile.phone = phone;
    request.consents.share_profile = share_profile;
    request.shared_phone = shared_phone;
    auto enrolled = hub_->members().Enroll(operator_, request);
    EXPECT_TRUE(enrolled.has_value()) << enrolled.error().message;
    TestMember member;
    member.member_id = enrolled->member_id;
    member.card_number = enrolled->card.card.card_number;
    member.email = request.profile.email;
    member.password = request.password;
    // The caller a session would give; log-in itself is AuthTest's subject, and each log-in
    // costs an Argon2id check.
    member.caller.role = Role::kMember;
    member.caller.member_id = member.member_id;
    return member;
}

PurchaseReceipt HubTest::Buy(const TestStore& store, const TestMember& member,
                             const std::string& id, int64_t amount, const std::string& category) {
    PurchaseRequest request;
    request.purchase_id = id;
    request.member.member_id = member.member_id;
    request.lines.push_back({"Item", "", category, 1, amount});
    auto receipt = hub_->points().RecordPurchase(store.caller, request);
    EXPECT_TRUE(receipt.has_value()) << receipt.error().message;
    return receipt.has_value() ? *receipt : PurchaseReceipt{};
}

int64_t HubTest::BalanceOf(const std::string& member_id, const std::string& program_id) {
    int64_t points = -1;
    EXPECT_TRUE(hub_->storage()
                    .Read([&](storage::ReadTxn& txn) -> core::Status {
                        KZ_ASSIGN_OR_RETURN(points, txn.BalanceOf(member_id, program_id));
                        return core::Status::Ok();
                    })
                    .ok());
    return points;
}

std::vector<core::LedgerEntry> HubTest::EntriesOf(const std::string& member_id) {
    std::vector<core::LedgerEntry> entries;
    EXPECT_TRUE(
        hub_->storage()
            .Read([&](storage::ReadTxn& txn) -> core::Status {
                KZ_ASSIGN_OR_RETURN(entries, txn.EntriesOf(member_id, std::nullopt, {1000, {}}));
                return core::Status::Ok();
            })
            .ok());
    return entries;
}

std::vector<storage::AuditRecord> HubTest::AuditOf(const std::string& member_id) {
    std::vector<storage::AuditRecord> records;
    EXPECT_TRUE(hub_->storage()
                    .Read([&](storage::ReadTxn& txn) -> core::Status {
                        KZ_ASSIGN_OR_RETURN(records, txn.AuditOf(member_id));
                        return core::Status::Ok();
                    })
                    .ok());
    return records;
}

}  // namespace kizuna::hub::testing
