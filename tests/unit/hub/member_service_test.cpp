#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "core/ids.hpp"
#include "hub/login_throttle.hpp"
#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

using core::ErrorCode;
using MemberTest = HubTest;

NewMember ValidRequest() {
    NewMember request;
    request.password = "a long passphrase";
    request.profile.name = "山田 花子";
    request.profile.name_kana = "ヤマダ ハナコ";
    request.profile.postal_code = "150-0002";
    request.profile.address = "東京都渋谷区渋谷 1-2-3";
    request.profile.phone = "03-1234-5678";
    request.profile.birth_date = "1990-04-01";
    request.profile.occupation = "会社員";
    request.profile.email = "Hanako@Example.JP";
    return request;
}

// Seed function (1), [0022] S100-S110.
TEST_F(MemberTest, EnrollRegistersTheMemberAndIssuesGenerationOne) {
    TestStore store = MakeStore("Shibuya Books");
    auto enrolled = hub_->members().Enroll(store.caller, ValidRequest());
    ASSERT_TRUE(enrolled.has_value()) << enrolled.error().message;
    EXPECT_TRUE(core::IsValidMemberId(enrolled->member_id));
    const core::Card& card = enrolled->card.card;
    EXPECT_TRUE(core::IsValidCardNumber(card.card_number));
    EXPECT_EQ(card.member_id, enrolled->member_id);
    EXPECT_EQ(card.generation, 1);
    EXPECT_EQ(card.status, core::CardStatus::kActive);
    EXPECT_EQ(card.issued_by_store, store.store.store_id);
    EXPECT_EQ(enrolled->card.record.rfind("KZ1.", 0), 0u);
    // The password registered is the one that logs in, by the normalized email too.
    EXPECT_TRUE(hub_->auth().Login({"hanako@example.jp", "a long passphrase", ""}).has_value());
    EXPECT_EQ(hub_->members().MemberOfCard(card.card_number).value(), enrolled->member_id);
}

// The mails in the hub's spool, oldest first (file names start with the time).
std::vector<OutgoingMail> SpooledMails(Hub& hub) {
    std::vector<std::filesystem::path> files;
    if (std::filesystem::exists(hub.mail().directory())) {
        for (const auto& entry : std::filesystem::directory_iterator(hub.mail().directory())) {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    std::vector<OutgoingMail> mails;
    for (const auto& file : files) {
        std::ifstream in(file);
        const std::string content{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
        auto spooled = MailSpool::Parse(content);
        EXPECT_TRUE(spooled.has_value()) << file << ": " << content;
        if (spooled) mails.push_back(spooled->mail);
    }
    return mails;
}

std::string TokenIn(const OutgoingMail& mail) {
    const std::string marker = "--token ";
    std::size_t at = mail.body.find(marker);
    if (at == std::string::npos) return "";
    at += marker.size();
    return mail.body.substr(at, mail.body.find_first_of(" \r\n", at) - at);
}

// Issue 15 defect 8: an anonymous enrollment with a registered email answered "409 this email
// is already registered", telling anyone who is a member.
TEST_F(MemberTest, SelfServiceEnrollmentAnswersAlikeForMembersAndStrangers) {
    TestMember member = MakeMember("aki");
    // The member's address confirmed with the link mailed at enrollment: an unconfirmed one
    // would be taken over by its mailbox's owner instead (SelfCare e2e).
    std::vector<OutgoingMail> enrollment_mails = SpooledMails(*hub_);
    ASSERT_EQ(enrollment_mails.size(), 1u);
    const std::string& link = enrollment_mails[0].body;
    const std::string marker = "/v1/email-confirmations/";
    const std::size_t at = link.find(marker) + marker.size();
    ASSERT_TRUE(
        hub_->members().ConfirmEmail(link.substr(at, link.find_first_of(" \r\n", at) - at)));
    NewMember taken = ValidRequest();
    taken.profile.email = member.email;
    NewMember fresh = ValidRequest();
    // The direct path refuses rather than answer differently.
    EXPECT_EQ(hub_->members().Enroll(Caller::Anonymous(), fresh).error().code,
              ErrorCode::kForbidden);

    core::Status for_member = hub_->members().RequestEnrollment(taken, "c");
    core::Status for_stranger = hub_->members().RequestEnrollment(fresh, "c");
    ASSERT_TRUE(for_member.ok()) << for_member.error().message;
    ASSERT_TRUE(for_stranger.ok()) << for_stranger.error().message;

    // The difference is only in the mailboxes.
    std::vector<OutgoingMail> mails = SpooledMails(*hub_);
    ASSERT_EQ(mails.size(), 3u);
    mails.erase(mails.begin());  // the confirmation link of the enrollment
    const OutgoingMail& to_member = mails[0].to == "aki@example.jp" ? mails[0] : mails[1];
    const OutgoingMail& to_stranger = &to_member == &mails[0] ? mails[1] : mails[0];
    EXPECT_NE(to_member.body.find("already has a membership"), std::string::npos) << to_member.body;
    EXPECT_EQ(TokenIn(to_member), "");
    EXPECT_EQ(to_stranger.to, "hanako@example.jp");
    const std::string token = TokenIn(to_stranger);
    ASSERT_FALSE(token.empty()) << to_stranger.body;

    // Nothing exists until the address is confirmed; then the member and card do.
    EXPECT_FALSE(hub_->auth().Login({"hanako@example.jp", "a long passphrase", "c"}).has_value());
    auto confirmed = hub_->members().ConfirmEnrollment(token);
    ASSERT_TRUE(confirmed.has_value()) << confirmed.error().message;
    EXPECT_TRUE(confirmed->card.card.issued_by_store.empty());
    EXPECT_EQ(confirmed->card.card.generation, 1);
    EXPECT_TRUE(hub_->auth().Login({"hanako@example.jp", "a long passphrase", "c"}).has_value());
    // Once only.
    EXPECT_EQ(hub_->members().ConfirmEnrollment(token).error().code, ErrorCode::kAlreadyExists);
}

TEST_F(MemberTest, EnrollmentRequestsAreThrottledPerAddressAndClient) {
    for (int i = 0; i < LoginThrottle::kFreeFailures; ++i) {
        ASSERT_TRUE(hub_->members().RequestEnrollment(ValidRequest(), "c").ok()) << i;
    }
    auto flooded = hub_->members().RequestEnrollment(ValidRequest(), "c");
    ASSERT_FALSE(flooded.ok());
    EXPECT_EQ(flooded.error().code, ErrorCode::kTooManyRequests);
    EXPECT_EQ(SpooledMails(*hub_).size(), static_cast<std::size_t>(LoginThrottle::kFreeFailures));
    // One client, many addresses: the client's budget.
    int refused_at = -1;
    for (int i = 0; i < 2 * LoginThrottle::kClientBurst && refused_at < 0; ++i) {
        NewMember request = ValidRequest();
        request.profile.email = "someone" + std::to_string(i) + "@example.jp";
        if (!hub_->members().RequestEnrollment(request, "d").ok()) refused_at = i;
    }
    EXPECT_EQ(refused_at, LoginThrottle::kClientBurst);
}

TEST_F(MemberTest, ConfirmationsExpireAndCannotBeForged) {
    ASSERT_TRUE(hub_->members().RequestEnrollment(ValidRequest(), "c").ok());
    const std::string token = TokenIn(SpooledMails(*hub_).at(0));
    ASSERT_FALSE(token.empty());
    std::string forged = token;
    forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
    EXPECT_EQ(hub_->members().ConfirmEnrollment(forged).error().field, "token");
    EXPECT_EQ(hub_->members().ConfirmEnrollment("not a token").error().field, "token");
    clock_.Advance(kEnrollmentConfirmationLifetime);
    auto expired = hub_->members().ConfirmEnrollment(token);
    ASSERT_FALSE(expired.has_value());
    EXPECT_EQ(expired.error().field, "token");
    EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
}

TEST_F(MemberTest, BadInputNamesTheFieldAndStoresNothing) {
    struct Case {
        void (*mutate)(NewMember&);
        const char* field;
    };
    const Case cases[] = {
        {[](NewMember& r) { r.profile.name = ""; }, "profile.name"},
        {[](NewMember& r) { r.profile.email = "not-an-email"; }, "profile.email"},
        {[](NewMember& r) { r.profile.phone = "12"; }, "profile.phone"},
        {[](NewMember& r) { r.profile.birth_date = "1990-02-30"; }, "profile.birth_date"},
        {[](NewMember& r) { r.profile.name = std::string("bad\x01name"); }, "profile.name"},
        {[](NewMember& r) { r.password = "short"; }, "password"},
        {[](NewMember& r) { r.password = "12345678901"; }, "password"},
    };
    for (const auto& c : cases) {
        NewMember request = ValidRequest();
        c.mutate(request);
        auto r = hub_->members().Enroll(operator_, request);
        ASSERT_FALSE(r.has_value()) << c.field;
        EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.field;
        EXPECT_EQ(r.error().field, c.field);
    }
    // Nothing was stored: the valid request still enrolls with that email.
    EXPECT_TRUE(hub_->members().Enroll(operator_, ValidRequest()).has_value());
}

TEST_F(MemberTest, AnEmailRegisteredTwiceIsRefused) {
    ASSERT_TRUE(hub_->members().Enroll(operator_, ValidRequest()).has_value());
    NewMember again = ValidRequest();
    again.profile.email = "HANAKO@example.jp";
    auto r = hub_->members().Enroll(operator_, again);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
    EXPECT_EQ(r.error().field, "profile.email");
}

TEST_F(MemberTest, OneEmailEnrolledFromManyPlacesAtOnceMakesOneMember) {
    constexpr int kTries = 4;
    std::atomic<int> enrolled{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kTries; ++i) {
        threads.emplace_back([&] {
            auto r = hub_->members().Enroll(operator_, ValidRequest());
            if (r.has_value()) {
                ++enrolled;
            } else if (r.error().code == ErrorCode::kAlreadyExists) {
                ++refused;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(enrolled.load(), 1);
    EXPECT_EQ(refused.load(), kTries - 1);
}

// Seed function (2), [0023] S112-S124.
TEST_F(MemberTest, ReissueNeedsThePasswordRevokesTheOldCardAndKeepsTheBalance) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    Buy(store, m, "p-1", 5000);

    auto wrong = hub_->members().ReissueCard(store.caller, m.member_id, "wrong password",
                                             core::CardMedium::kChip);
    ASSERT_FALSE(wrong.has_value());
    EXPECT_EQ(wrong.error().code, ErrorCode::kWrongPassword);

    auto issued =
        hub_->members().ReissueCard(store.caller, m.member_id, m.password, core::CardMedium::kChip);
    ASSERT_TRUE(issued.has_value()) << issued.error().message;
    EXPECT_EQ(issued->card.generation, 2);
    EXPECT_NE(issued->card.card_number, m.card_number);
    EXPECT_EQ(issued->card.issued_by_store, store.store.store_id);

    // The old card is refused everywhere, the new one works, the balance did not move.
    EXPECT_EQ(hub_->members().MemberOfCard(m.card_number).error().code, ErrorCode::kCardRevoked);
    PurchaseRequest by_old;
    by_old.purchase_id = "p-2";
    by_old.member.card_number = m.card_number;
    by_old.lines.push_back({"Pen", "", "", 1, 300});
    auto refused = hub_->points().RecordPurchase(store.caller, by_old);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::kCardRevoked);
    by_old.member.card_number = issued->card.card_number;
    auto accepted = hub_->points().RecordPurchase(store.caller, by_old);
    ASSERT_TRUE(accepted.has_value());
    EXPECT_EQ(accepted->balance, 53);

    // The member may reissue their own card; a third generation follows.
    auto own =
        hub_->members().ReissueCard(m.caller, m.member_id, m.password, core::CardMedium::kQr);
    ASSERT_TRUE(own.has_value());
    EXPECT_EQ(own->card.generation, 3);
    EXPECT_TRUE(own->card.issued_by_store.empty());
}

TEST_F(MemberTest, AMemberCannotReissueAnothersCard) {
    TestMember a = MakeMember("aki");
    TestMember b = MakeMember("ben");
    auto r = hub_->members().ReissueCard(a.caller, b.member_id, b.password, core::CardMedium::kQr);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kForbidden);
    auto missing = hub_->members().ReissueCard(MakeStore("S").caller, "1234567890", "x",
                                               core::CardMedium::kQr);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

// Seed function (4), [0025] S214-S226.
TEST_F(MemberTest, UsageIsForTheMemberThemselfOrTheOperatorOnly) {
    TestStore a = MakeStore("A");
    TestStore b = MakeStore("B");
    TestMember m = MakeMember("aki");
    TestMember other = MakeMember("ben");
    Buy(a, m, "p-1", 1000);
    clock_.Advance(std::chrono::seconds(1));
    Buy(b, m, "p-2", 2500);

    auto usage = hub_->members().GetUsage(m.caller, m.member_id, {});
    ASSERT_TRUE(usage.has_value()) << usage.error().message;
    EXPECT_EQ(usage->balances.size(), 2u);
    ASSERT_EQ(usage->purchases.size(), 2u);
    EXPECT_EQ(usage->purchases.front().purchase_id, "p-2");  // newest first
    ASSERT_EQ(usage->entries.size(), 2u);
    EXPECT_EQ(usage->entries.front().note,
              "Purchase 2,500 JPY at B (1 point per 100 JPY, rule v1)");
    EXPECT_TRUE(hub_->members().GetUsage(operator_, m.member_id, {}).has_value());

    EXPECT_EQ(hub_->members().GetUsage(other.caller, m.member_id, {}).error().code,
              ErrorCode::kForbidden);
    EXPECT_EQ(hub_->members().GetUsage(a.caller, m.member_id, {}).error().code,
              ErrorCode::kForbidden);
    EXPECT_EQ(hub_->members().GetUsage(Caller::Anonymous(), m.member_id, {}).error().code,
              ErrorCode::kUnauthenticated);
}

// Issue 15 defect 6: usage answered up to 500 purchases of any size in one answer (62 MB).
TEST_F(MemberTest, UsagePagesFollowTheCursorThroughEveryPurchaseAndEntryOnce) {
    TestStore store = MakeStore("A");
    TestMember m = MakeMember("aki");
    for (int i = 0; i < 7; ++i) {
        Buy(store, m, "p-" + std::to_string(i), 1000 + i);
        if (i % 2 == 0) clock_.Advance(std::chrono::seconds(1));  // some share a time
    }
    // More entries than purchases, so that the purchases end a page before the entries do.
    for (int i = 0; i < 3; ++i) {
        RedemptionRequest redemption;
        redemption.redemption_id = "r-" + std::to_string(i);
        redemption.member.member_id = m.member_id;
        redemption.points = 1;
        auto redeemed = hub_->points().Redeem(store.caller, redemption);
        ASSERT_TRUE(redeemed.has_value()) << redeemed.error().message;
    }
    std::vector<std::string> purchases;
    std::vector<int64_t> entries;
    hub::UsageQuery query{.limit = 3};
    int pages = 0;
    do {
        auto usage = hub_->members().GetUsage(m.caller, m.member_id, query);
        ASSERT_TRUE(usage.has_value()) << usage.error().message;
        EXPECT_LE(usage->purchases.size(), 3u);
        EXPECT_LE(usage->entries.size(), 3u);
        EXPECT_EQ(usage->balances.size(), 1u);
        for (const auto& p : usage->purchases) purchases.push_back(p.purchase_id);
        for (const auto& e : usage->entries) entries.push_back(e.entry_id);
        query.cursor = usage->next_cursor;
        ASSERT_LT(++pages, 10);
    } while (!query.cursor.empty());
    EXPECT_EQ(pages, 4);
    EXPECT_EQ(purchases,
              (std::vector<std::string>{"p-6", "p-5", "p-4", "p-3", "p-2", "p-1", "p-0"}));
    ASSERT_EQ(entries.size(), 10u);
    EXPECT_TRUE(std::is_sorted(entries.rbegin(), entries.rend()));
    EXPECT_EQ(std::set<int64_t>(entries.begin(), entries.end()).size(), 10u);

    auto too_many = hub_->members().GetUsage(m.caller, m.member_id,
                                             hub::UsageQuery{.limit = hub::kMaxUsageLimit + 1});
    EXPECT_EQ(too_many.error().field, "limit");
    auto forged = hub_->members().GetUsage(m.caller, m.member_id,
                                           hub::UsageQuery{.limit = 3, .cursor = "bm90IG1pbmU"});
    EXPECT_EQ(forged.error().field, "cursor");
}

// Seed function (5), [0026] S228-S238, limited by invariant 6.
TEST_F(MemberTest, StoreLookupShowsItsProgramOnlyAndTheProfileOnlyWithConsentAudited) {
    TestStore a = MakeStore("A");
    TestStore b = MakeStore("B");
    TestMember shares = MakeMember("aki", /*share_profile=*/true);
    TestMember keeps = MakeMember("ben", /*share_profile=*/false);
    Buy(a, shares, "p-a", 1000);
    Buy(b, shares, "p-b", 2000);

    auto view = hub_->members().Lookup(a.caller, shares.member_id);
    ASSERT_TRUE(view.has_value()) << view.error().message;
    ASSERT_TRUE(view->profile.has_value());
    EXPECT_EQ(view->profile->name, "Member aki");
    ASSERT_EQ(view->purchases.size(), 1u);
    EXPECT_EQ(view->purchases.front().purchase_id, "p-a");
    ASSERT_EQ(view->balances.size(), 1u);
    EXPECT_EQ(view->balances.front().program_id, a.store.program_id);
    EXPECT_EQ(view->balances.front().points, 10);
    auto audit = AuditOf(shares.member_id);
    ASSERT_EQ(audit.size(), 1u);
    EXPECT_EQ(audit.front().actor, "store:" + a.store.store_id);
    EXPECT_EQ(audit.front().action, "profile_read");
    EXPECT_EQ(audit.front().at, clock_.Now());

    auto hidden = hub_->members().Lookup(a.caller, keeps.member_id);
    ASSERT_TRUE(hidden.has_value());
    EXPECT_FALSE(hidden->profile.has_value());
    EXPECT_TRUE(AuditOf(keeps.member_id).empty());

    EXPECT_EQ(hub_->members().Lookup(keeps.caller, shares.member_id).error().code,
              ErrorCode::kForbidden);
    EXPECT_EQ(hub_->members().Lookup(a.caller, "1234567890").error().code, ErrorCode::kNotFound);
}

TEST_F(MemberTest, SearchFindsByEmailOrPhoneAndShowsNamesOnlyWithConsent) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember shares = MakeMember("aki", true, "090-1111-2222");
    TestMember keeps = MakeMember("ben", false, "090 1111 2222", /*shared_phone=*/true);

    auto by_email = hub_->members().Search(store.caller, {"AKI@example.jp", ""});
    ASSERT_TRUE(by_email.has_value()) << by_email.error().message;
    ASSERT_EQ(by_email->size(), 1u);
    EXPECT_EQ(by_email->front().member_id, shares.member_id);
    EXPECT_EQ(by_email->front().name, "Member aki");

    auto by_phone = hub_->members().Search(store.caller, {"", "09011112222"});
    ASSERT_TRUE(by_phone.has_value());
    ASSERT_EQ(by_phone->size(), 2u);
    for (const auto& match : *by_phone) {
        EXPECT_EQ(match.name.empty(), match.member_id == keeps.member_id);
    }
    EXPECT_FALSE(AuditOf(shares.member_id).empty());
    EXPECT_TRUE(AuditOf(keeps.member_id).empty());

    EXPECT_EQ(hub_->members().Search(store.caller, {"", ""}).error().code,
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(hub_->members().Search(shares.caller, {"aki@example.jp", ""}).error().code,
              ErrorCode::kForbidden);
    EXPECT_TRUE(hub_->members().Search(store.caller, {"nobody@example.jp", ""})->empty());
}

}  // namespace
}  // namespace kizuna::hub::testing
