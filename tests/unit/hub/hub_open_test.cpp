#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "core/card_record.hpp"
#include "crypto/crypto.hpp"
#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

namespace fs = std::filesystem;

mode_t ModeOf(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

std::string ReadFile(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

class HubOpenTest : public HubTest {
  protected:
    HubOptions OptionsFor(const fs::path& dir) {
        HubOptions options;
        options.data_dir = dir;
        options.clock = &clock_;
        return options;
    }
};

TEST_F(HubOpenTest, FirstStartCreatesPrivateDirectoryAndSecretFiles) {
    EXPECT_EQ(ModeOf(dir_), 0700u);
    EXPECT_EQ(hub_->operator_token_path(), dir_ / "operator.token");
    EXPECT_EQ(ModeOf(dir_ / "operator.token"), 0600u);
    EXPECT_EQ(ModeOf(dir_ / "card_signing.key"), 0600u);
    EXPECT_TRUE(fs::exists(dir_ / "kizuna.db"));
    EXPECT_EQ(hub_->card_public_key().size(), 32u);
    // No temporary file is left behind.
    for (const auto& entry : fs::directory_iterator(dir_)) {
        EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos);
    }
}

TEST_F(HubOpenTest, OperatorTokenFromTheFileAuthenticatesAsOperator) {
    std::string token = ReadFile(hub_->operator_token_path());
    ASSERT_FALSE(token.empty());
    ASSERT_EQ(token.back(), '\n');
    token.pop_back();
    auto caller = hub_->auth().Authenticate(token);
    ASSERT_TRUE(caller.has_value()) << caller.error().message;
    EXPECT_EQ(caller->role, Role::kOperator);

    std::string wrong = token;
    wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
    auto refused = hub_->auth().Authenticate(wrong);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, core::ErrorCode::kUnauthenticated);
    EXPECT_EQ(hub_->auth().Authenticate("")->role, Role::kAnonymous);
}

TEST_F(HubOpenTest, RestartKeepsTheSecretsAndTheData) {
    const std::string token = ReadFile(hub_->operator_token_path());
    const std::string key = hub_->card_public_key();
    TestStore store = MakeStore("Shibuya Books");
    OpenHub();
    EXPECT_EQ(ReadFile(hub_->operator_token_path()), token);
    EXPECT_EQ(hub_->card_public_key(), key);
    auto caller = hub_->auth().Authenticate(store.api_key);
    ASSERT_TRUE(caller.has_value());
    EXPECT_EQ(caller->store_id, store.store.store_id);
}

TEST_F(HubOpenTest, HubsStartingAtOnceOnANewDirectoryAgreeOnTheSecrets) {
    const fs::path fresh = dir_.parent_path() / "fresh";
    constexpr int kHubs = 4;
    std::vector<std::unique_ptr<Hub>> hubs(kHubs);
    std::vector<std::thread> threads;
    for (int i = 0; i < kHubs; ++i) {
        threads.emplace_back([&, i] {
            auto hub = Hub::Open(OptionsFor(fresh));
            ASSERT_TRUE(hub.has_value()) << hub.error().message;
            hubs[i] = std::move(*hub);
        });
    }
    for (auto& t : threads) t.join();
    std::string token = ReadFile(fresh / "operator.token");
    token.pop_back();
    for (auto& hub : hubs) {
        ASSERT_NE(hub, nullptr);
        EXPECT_EQ(hub->card_public_key(), hubs[0]->card_public_key());
        auto caller = hub->auth().Authenticate(token);
        ASSERT_TRUE(caller.has_value()) << caller.error().message;
        EXPECT_EQ(caller->role, Role::kOperator);
    }
}

TEST_F(HubOpenTest, RefusesToStartWithAMalformedCardKey) {
    hub_.reset();
    {
        std::ofstream out(dir_ / "card_signing.key", std::ios::trunc);
        out << "kizuna-card-signing-key-v1\nnot-a-key\n";
    }
    auto hub = Hub::Open(OptionsFor(dir_));
    ASSERT_FALSE(hub.has_value());
    EXPECT_EQ(hub.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(hub.error().message.find("card_signing.key"), std::string::npos);
}

TEST_F(HubOpenTest, RefusesToStartWithAnEmptyOperatorToken) {
    hub_.reset();
    { std::ofstream out(dir_ / "operator.token", std::ios::trunc); }
    auto hub = Hub::Open(OptionsFor(dir_));
    ASSERT_FALSE(hub.has_value());
    EXPECT_EQ(hub.error().code, core::ErrorCode::kInvalidArgument);
}

TEST_F(HubOpenTest, IssuedCardRecordVerifiesWithTheHubKey) {
    TestStore store = MakeStore("Shibuya Books");
    NewMember request;
    request.password = "a long passphrase";
    request.profile.name = "山田 花子";
    request.profile.email = "hanako@example.jp";
    auto enrolled = hub_->members().Enroll(store.caller, request);
    ASSERT_TRUE(enrolled.has_value()) << enrolled.error().message;
    auto record = core::CardRecordFromText(enrolled->card.record);
    ASSERT_TRUE(record.has_value()) << record.error().message;
    EXPECT_EQ(record->card_number, enrolled->card.card.card_number);
    EXPECT_EQ(record->member_id, enrolled->member_id);
    EXPECT_EQ(record->generation, 1);
    EXPECT_EQ(record->issuing_store, store.store.store_id);
    auto portion = core::SignedPortion(*record);
    ASSERT_TRUE(portion.has_value());
    EXPECT_TRUE(crypto::VerifySignature(*portion, record->signature, hub_->card_public_key()));
    // A record signed by another key does not verify.
    auto other = crypto::NewSigningKeyPair();
    EXPECT_FALSE(crypto::VerifySignature(*portion, record->signature, other.public_key));
}

}  // namespace
}  // namespace kizuna::hub::testing
