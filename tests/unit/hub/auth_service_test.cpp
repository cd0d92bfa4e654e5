#include <thread>

#include "crypto/crypto.hpp"
#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

using core::ErrorCode;
using AuthTest = HubTest;

TEST_F(AuthTest, LogsInByMemberIdCardNumberOrEmail) {
    TestMember m = MakeMember("aki");
    for (const std::string& login :
         {m.member_id, m.card_number, std::string("AKI@Example.JP"), "  " + m.member_id + " "}) {
        auto session = hub_->auth().Login({login, m.password, "10.0.0.1"});
        ASSERT_TRUE(session.has_value()) << login << ": " << session.error().message;
        EXPECT_EQ(session->member_id, m.member_id);
        EXPECT_EQ(session->expires_at, clock_.Now() + std::chrono::hours(1));
        auto caller = hub_->auth().Authenticate(session->token);
        ASSERT_TRUE(caller.has_value());
        EXPECT_EQ(caller->role, Role::kMember);
        EXPECT_EQ(caller->member_id, m.member_id);
    }
}

TEST_F(AuthTest, WrongPasswordAndUnknownLoginGiveTheSameError) {
    TestMember m = MakeMember("aki");
    auto wrong = hub_->auth().Login({m.member_id, "not the password", ""});
    auto unknown_email = hub_->auth().Login({"nobody@example.jp", "not the password", ""});
    auto unknown_id = hub_->auth().Login({"1234567890", "not the password", ""});
    ASSERT_FALSE(wrong.has_value());
    ASSERT_FALSE(unknown_email.has_value());
    ASSERT_FALSE(unknown_id.has_value());
    EXPECT_EQ(wrong.error(), unknown_email.error());
    EXPECT_EQ(wrong.error(), unknown_id.error());
    EXPECT_EQ(wrong.error().code, ErrorCode::kWrongPassword);
}

TEST_F(AuthTest, EmptyLoginOrPasswordIsBadInput) {
    auto no_login = hub_->auth().Login({"", "x", ""});
    ASSERT_FALSE(no_login.has_value());
    EXPECT_EQ(no_login.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(no_login.error().field, "login");
    auto no_password = hub_->auth().Login({"a@example.jp", "", ""});
    ASSERT_FALSE(no_password.has_value());
    EXPECT_EQ(no_password.error().field, "password");
}

TEST_F(AuthTest, FiveFailuresLockTheLoginUntilFifteenMinutesAfterTheLast) {
    TestMember m = MakeMember("aki");
    for (int i = 0; i < AuthService::kMaxFailures; ++i) {
        auto r = hub_->auth().Login({m.email, "wrong password", ""});
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code, ErrorCode::kWrongPassword) << "attempt " << i;
        clock_.Advance(std::chrono::seconds(10));
    }
    // Locked: even the right password, by any login naming the member, is refused.
    for (const std::string& login : {m.email, m.member_id, m.card_number}) {
        auto locked = hub_->auth().Login({login, m.password, ""});
        ASSERT_FALSE(locked.has_value());
        EXPECT_EQ(locked.error().code, ErrorCode::kTooManyRequests) << login;
    }
    // Reissue shares the count (seed [0023]: the same password check).
    auto reissue =
        hub_->members().ReissueCard(m.caller, m.member_id, m.password, core::CardMedium::kVirtual);
    ASSERT_FALSE(reissue.has_value());
    EXPECT_EQ(reissue.error().code, ErrorCode::kTooManyRequests);

    // The last failure was 10 s ago; 15 minutes after it the lock is gone.
    clock_.Advance(AuthService::kLockout - std::chrono::seconds(11));
    auto still = hub_->auth().Login({m.email, m.password, ""});
    ASSERT_FALSE(still.has_value());
    EXPECT_EQ(still.error().code, ErrorCode::kTooManyRequests);
    clock_.Advance(std::chrono::seconds(1));
    auto ok = hub_->auth().Login({m.email, m.password, ""});
    EXPECT_TRUE(ok.has_value()) << ok.error().message;
}

TEST_F(AuthTest, GuessesStartedAtOnceGetNoMoreTriesThanTheLimit) {
    TestMember m = MakeMember("aki");
    std::atomic<int> checked{0};
    std::atomic<int> throttled{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&, t] {
            auto r = hub_->auth().Login({m.member_id, "guess " + std::to_string(t), ""});
            ASSERT_FALSE(r.has_value());
            if (r.error().code == ErrorCode::kWrongPassword) ++checked;
            if (r.error().code == ErrorCode::kTooManyRequests) ++throttled;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(checked.load(), AuthService::kMaxFailures);
    EXPECT_EQ(checked.load() + throttled.load(), 16);
    auto locked = hub_->auth().Login({m.member_id, m.password, ""});
    ASSERT_FALSE(locked.has_value());
    EXPECT_EQ(locked.error().code, ErrorCode::kTooManyRequests);
}

TEST_F(AuthTest, FailuresOutsideTheWindowDoNotAddUp) {
    TestMember m = MakeMember("aki");
    for (int i = 0; i < AuthService::kMaxFailures - 1; ++i) {
        ASSERT_FALSE(hub_->auth().Login({m.member_id, "wrong password", ""}).has_value());
    }
    clock_.Advance(AuthService::kFailureWindow + std::chrono::seconds(1));
    // A new window: four more failures still leave the member able to log in.
    for (int i = 0; i < AuthService::kMaxFailures - 1; ++i) {
        auto r = hub_->auth().Login({m.member_id, "wrong password", ""});
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code, ErrorCode::kWrongPassword);
    }
    EXPECT_TRUE(hub_->auth().Login({m.member_id, m.password, ""}).has_value());
}

TEST_F(AuthTest, SuccessClearsEarlierFailures) {
    TestMember m = MakeMember("aki");
    for (int i = 0; i < AuthService::kMaxFailures - 1; ++i) {
        ASSERT_FALSE(hub_->auth().Login({m.member_id, "wrong password", ""}).has_value());
    }
    ASSERT_TRUE(hub_->auth().Login({m.member_id, m.password, ""}).has_value());
    for (int i = 0; i < AuthService::kMaxFailures - 1; ++i) {
        auto r = hub_->auth().Login({m.member_id, "wrong password", ""});
        EXPECT_EQ(r.error().code, ErrorCode::kWrongPassword);
    }
    EXPECT_TRUE(hub_->auth().Login({m.member_id, m.password, ""}).has_value());
}

TEST_F(AuthTest, UnknownLoginsAreThrottledLikeKnownOnes) {
    for (int i = 0; i < AuthService::kMaxFailures; ++i) {
        auto r = hub_->auth().Login({"ghost@example.jp", "guess", ""});
        EXPECT_EQ(r.error().code, ErrorCode::kWrongPassword);
    }
    auto r = hub_->auth().Login({"ghost@example.jp", "guess", ""});
    EXPECT_EQ(r.error().code, ErrorCode::kTooManyRequests);
}

TEST_F(AuthTest, SessionExpires) {
    TestMember m = MakeMember("aki");
    auto session = hub_->auth().Login({m.member_id, m.password, ""});
    ASSERT_TRUE(session.has_value());
    // The first use loads the session into AuthService's cache; the later ones are answered
    // from it, and must still see the expiry.
    auto first = hub_->auth().Authenticate(session->token);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->member_id, m.member_id);
    clock_.Advance(std::chrono::hours(1) - std::chrono::seconds(1));
    auto cached = hub_->auth().Authenticate(session->token);
    ASSERT_TRUE(cached.has_value());
    EXPECT_EQ(cached->member_id, m.member_id);
    clock_.Advance(std::chrono::seconds(1));
    for (int attempt = 0; attempt < 2; ++attempt) {
        auto expired = hub_->auth().Authenticate(session->token);
        ASSERT_FALSE(expired.has_value());
        EXPECT_EQ(expired.error().code, ErrorCode::kUnauthenticated);
    }
}

TEST_F(AuthTest, CachedSessionsStayPerToken) {
    TestMember aki = MakeMember("aki");
    TestMember ben = MakeMember("ben");
    auto a = hub_->auth().Login({aki.member_id, aki.password, ""});
    auto b = hub_->auth().Login({ben.member_id, ben.password, ""});
    ASSERT_TRUE(a.has_value());
    ASSERT_TRUE(b.has_value());
    for (int round = 0; round < 2; ++round) {
        EXPECT_EQ(hub_->auth().Authenticate(a->token)->member_id, aki.member_id);
        EXPECT_EQ(hub_->auth().Authenticate(b->token)->member_id, ben.member_id);
        auto forged = hub_->auth().Authenticate(std::string(kSessionTokenPrefix) + "forged");
        ASSERT_FALSE(forged.has_value());
        EXPECT_EQ(forged.error().code, ErrorCode::kUnauthenticated);
    }
}

TEST_F(AuthTest, OnlyDigestsOfTokensAreStored) {
    TestStore store = MakeStore("Shibuya Books");
    EXPECT_EQ(store.store.api_key_hash, crypto::Digest(store.api_key));
    TestMember m = MakeMember("aki");
    auto session = hub_->auth().Login({m.member_id, m.password, ""});
    ASSERT_TRUE(session.has_value());
    std::optional<storage::MemberSession> by_digest, by_token;
    ASSERT_TRUE(hub_->storage()
                    .Read([&](storage::ReadTxn& txn) -> core::Status {
                        KZ_ASSIGN_OR_RETURN(by_digest,
                                            txn.FindSession(crypto::Digest(session->token)));
                        KZ_ASSIGN_OR_RETURN(by_token, txn.FindSession(session->token));
                        return core::Status::Ok();
                    })
                    .ok());
    ASSERT_TRUE(by_digest.has_value());
    EXPECT_EQ(by_digest->member_id, m.member_id);
    EXPECT_FALSE(by_token.has_value());
}

TEST_F(AuthTest, UnknownTokensAreRefused) {
    for (const char* token : {"kzs_nope", "kzm_nope", "whatever"}) {
        auto r = hub_->auth().Authenticate(token);
        ASSERT_FALSE(r.has_value()) << token;
        EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
    }
}

TEST_F(AuthTest, RevokedCardWithTheRightPasswordSaysCardRevoked) {
    TestMember m = MakeMember("aki");
    ASSERT_TRUE(hub_->members()
                    .ReissueCard(m.caller, m.member_id, m.password, core::CardMedium::kQr)
                    .has_value());
    auto old_card = hub_->auth().Login({m.card_number, m.password, ""});
    ASSERT_FALSE(old_card.has_value());
    EXPECT_EQ(old_card.error().code, ErrorCode::kCardRevoked);
    auto wrong = hub_->auth().Login({m.card_number, "wrong password", ""});
    EXPECT_EQ(wrong.error().code, ErrorCode::kWrongPassword);
}

}  // namespace
}  // namespace kizuna::hub::testing
