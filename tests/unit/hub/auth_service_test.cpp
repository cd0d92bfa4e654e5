#include <thread>

#include "crypto/crypto.hpp"
#include "hub/login_throttle.hpp"
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

// Issue 15 defect 4: five wrong passwords from anywhere used to lock the member out for 15
// minutes, the right password and a store's counter reissue included.
TEST_F(AuthTest, WrongPasswordsSlowDownOnlyTheClientThatSentThem) {
    TestMember m = MakeMember("aki");
    const std::string attacker = "203.0.113.7";
    for (int i = 0; i < LoginThrottle::kFreeFailures; ++i) {
        auto r = hub_->auth().Login({m.email, "wrong password", attacker});
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code, ErrorCode::kWrongPassword) << "attempt " << i;
    }
    // The attacker waits 1 s, then 2, then 4: slowed down, not locked out for good.
    for (int wait : {1, 2, 4}) {
        auto refused = hub_->auth().Login({m.email, m.password, attacker});
        ASSERT_FALSE(refused.has_value());
        EXPECT_EQ(refused.error().code, ErrorCode::kTooManyRequests);
        EXPECT_EQ(refused.error().retry_after, std::chrono::seconds(wait));
        clock_.Advance(std::chrono::seconds(wait));
        auto r = hub_->auth().Login({m.email, "wrong password", attacker});
        EXPECT_EQ(r.error().code, ErrorCode::kWrongPassword) << "after " << wait << " s";
    }
    // Meanwhile the member, from their own address, logs in by any login.
    for (const std::string& login : {m.email, m.member_id, m.card_number}) {
        auto ok = hub_->auth().Login({login, m.password, "198.51.100.2"});
        EXPECT_TRUE(ok.has_value()) << login << ": " << ok.error().message;
    }
    // And a store reissues the card at its counter.
    TestStore store = MakeStore("Shibuya Books");
    auto reissued = hub_->members().ReissueCard(store.caller, m.member_id, m.password,
                                                core::CardMedium::kVirtual);
    EXPECT_TRUE(reissued.has_value()) << reissued.error().message;
}

TEST_F(AuthTest, TheWaitDoublesUpToFifteenMinutes) {
    TestMember m = MakeMember("aki");
    const std::string client = "203.0.113.7";
    std::chrono::seconds last{0};
    for (int i = 0; i < 40; ++i) {
        auto r = hub_->auth().Login({m.member_id, "wrong password", client});
        if (r.error().code == ErrorCode::kTooManyRequests) {
            last = r.error().retry_after;
            clock_.Advance(last);
        }
    }
    EXPECT_EQ(last, LoginThrottle::kMaxDelay);
    // The right password, once the wait is over, still works.
    clock_.Advance(LoginThrottle::kMaxDelay);
    EXPECT_TRUE(hub_->auth().Login({m.member_id, m.password, client}).has_value());
}

TEST_F(AuthTest, ThrottledAnswerNamesTheEndInLocalTimeAndUtc) {
    TestMember m = MakeMember("aki");
    for (int i = 0; i < LoginThrottle::kFreeFailures; ++i) {
        (void)hub_->auth().Login({m.member_id, "wrong password", "c"});
    }
    auto refused = hub_->auth().Login({m.member_id, m.password, "c"});
    ASSERT_EQ(refused.error().code, ErrorCode::kTooManyRequests);
    const std::string utc = core::FormatRfc3339(clock_.Now() + std::chrono::seconds(1));
    EXPECT_NE(refused.error().message.find("(" + utc + ")"), std::string::npos)
        << refused.error().message;
}

TEST_F(AuthTest, GuessesStartedAtOnceGetNoMoreTriesThanTheLimit) {
    TestMember m = MakeMember("aki");
    std::atomic<int> checked{0};
    std::atomic<int> throttled{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&, t] {
            auto r = hub_->auth().Login({m.member_id, "guess " + std::to_string(t), "c"});
            ASSERT_FALSE(r.has_value());
            if (r.error().code == ErrorCode::kWrongPassword) ++checked;
            if (r.error().code == ErrorCode::kTooManyRequests) ++throttled;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(checked.load(), LoginThrottle::kFreeFailures);
    EXPECT_EQ(checked.load() + throttled.load(), 16);
    auto slowed = hub_->auth().Login({m.member_id, m.password, "c"});
    ASSERT_FALSE(slowed.has_value());
    EXPECT_EQ(slowed.error().code, ErrorCode::kTooManyRequests);
}

TEST_F(AuthTest, FailuresAreForgottenAnHourAfterTheLast) {
    TestMember m = MakeMember("aki");
    for (int i = 0; i < LoginThrottle::kFreeFailures; ++i) {
        ASSERT_FALSE(hub_->auth().Login({m.member_id, "wrong password", "c"}).has_value());
    }
    clock_.Advance(LoginThrottle::kForgetAfter + std::chrono::seconds(1));
    // Counting starts over: the free failures again.
    for (int i = 0; i < LoginThrottle::kFreeFailures; ++i) {
        auto r = hub_->auth().Login({m.member_id, "wrong password", "c"});
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code, ErrorCode::kWrongPassword) << i;
    }
}

TEST_F(AuthTest, SuccessClearsEarlierFailures) {
    TestMember m = MakeMember("aki");
    for (int i = 0; i < LoginThrottle::kFreeFailures - 1; ++i) {
        ASSERT_FALSE(hub_->auth().Login({m.member_id, "wrong password", "c"}).has_value());
    }
    ASSERT_TRUE(hub_->auth().Login({m.member_id, m.password, "c"}).has_value());
    for (int i = 0; i < LoginThrottle::kFreeFailures - 1; ++i) {
        auto r = hub_->auth().Login({m.member_id, "wrong password", "c"});
        EXPECT_EQ(r.error().code, ErrorCode::kWrongPassword);
    }
    EXPECT_TRUE(hub_->auth().Login({m.member_id, m.password, "c"}).has_value());
}

TEST_F(AuthTest, UnknownLoginsAreThrottledLikeKnownOnes) {
    for (int i = 0; i < LoginThrottle::kFreeFailures; ++i) {
        auto r = hub_->auth().Login({"ghost@example.jp", "guess", "c"});
        EXPECT_EQ(r.error().code, ErrorCode::kWrongPassword);
    }
    auto r = hub_->auth().Login({"ghost@example.jp", "guess", "c"});
    EXPECT_EQ(r.error().code, ErrorCode::kTooManyRequests);
}

// Issue 15 defect 4: one password tried across many accounts was limited only by hashing.
TEST_F(AuthTest, OnePasswordAcrossManyAccountsIsThrottledPerClient) {
    const std::string sprayer = "203.0.113.9";
    int refused_at = -1;
    for (int i = 0; i < 2 * LoginThrottle::kClientBurst && refused_at < 0; ++i) {
        auto r = hub_->auth().Login(
            {"user" + std::to_string(i) + "@example.jp", "Summer2026!", sprayer});
        if (r.error().code == ErrorCode::kTooManyRequests) refused_at = i;
    }
    EXPECT_EQ(refused_at, LoginThrottle::kClientBurst);
    // Another client is not affected; the sprayer gets one more try per refill period.
    TestMember m = MakeMember("aki");
    EXPECT_TRUE(hub_->auth().Login({m.member_id, m.password, "198.51.100.2"}).has_value());
    clock_.Advance(LoginThrottle::kClientRefill);
    auto again = hub_->auth().Login({"someone@example.jp", "Summer2026!", sprayer});
    EXPECT_EQ(again.error().code, ErrorCode::kWrongPassword);
}

TEST_F(AuthTest, FailedLoginsNeverHoldUpAStoresCounterReissue) {
    TestMember m = MakeMember("aki");
    // Failures from many addresses, well past every per-address limit.
    for (int c = 0; c < 3; ++c) {
        for (int i = 0; i < 3 * LoginThrottle::kFreeFailures; ++i) {
            (void)hub_->auth().Login({m.member_id, "wrong", "203.0.113." + std::to_string(c)});
        }
    }
    TestStore store = MakeStore("Shibuya Books");
    auto reissued = hub_->members().ReissueCard(store.caller, m.member_id, m.password,
                                                core::CardMedium::kVirtual);
    EXPECT_TRUE(reissued.has_value()) << reissued.error().message;
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
