#include "core/member.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace kizuna::core {
namespace {

namespace chr = std::chrono;
const Timestamp kNow = chr::sys_days{chr::year{2026} / 11 / 22} + chr::hours{15};

Profile GoodProfile() {
    Profile p;
    p.name = "山田 太郎";
    p.name_kana = "ヤマダ タロウ";
    p.postal_code = "150-0002";
    p.address = "東京都渋谷区渋谷2-21-1";
    p.phone = "+81 90-1234-5678";
    p.birth_date = "1990-04-01";
    p.occupation = "会社員";
    p.email = "Taro.Yamada@Example.co.jp";
    return p;
}

TEST(Profile, AcceptsAJapaneseProfileAndLowerCasesEmail) {
    auto p = ValidateProfile(GoodProfile(), kNow);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    EXPECT_EQ(p->name, "山田 太郎");
    EXPECT_EQ(p->email, "taro.yamada@example.co.jp");
    EXPECT_EQ(p->phone, "+81 90-1234-5678");
    EXPECT_EQ(p->birth_date, "1990-04-01");
}

TEST(Profile, OnlyNameIsRequired) {
    Profile p;
    p.name = "Ann";
    auto v = ValidateProfile(p, kNow);
    ASSERT_TRUE(v.has_value()) << v.error().message;
    EXPECT_EQ(v->email, "");
}

TEST(Profile, TrimsAsciiAndIdeographicSpaces) {
    Profile p = GoodProfile();
    p.name = "\xE3\x80\x80山田 太郎 ";
    p.email = "  taro@example.com\t";
    p.phone = " 03-1234-5678 ";
    auto v = ValidateProfile(p, kNow);
    ASSERT_TRUE(v.has_value()) << v.error().message;
    EXPECT_EQ(v->name, "山田 太郎");
    EXPECT_EQ(v->email, "taro@example.com");
    EXPECT_EQ(v->phone, "03-1234-5678");
}

struct BadField {
    std::string field;
    std::function<void(Profile&)> change;
};

TEST(Profile, EachBadFieldIsNamedInTheError) {
    const std::vector<BadField> cases = {
        {"profile.name", [](Profile& p) { p.name = ""; }},
        {"profile.name", [](Profile& p) { p.name = "\xE3\x80\x80"; }},
        {"profile.name", [](Profile& p) { p.name = std::string(101, 'a'); }},
        {"profile.name", [](Profile& p) { p.name = "Taro\nYamada"; }},
        {"profile.name", [](Profile& p) { p.name = "\xC0\xAF"; }},
        {"profile.name_kana", [](Profile& p) { p.name_kana = std::string(101, 'k'); }},
        {"profile.name_kana", [](Profile& p) { p.name_kana = "a\x1b"; }},
        {"profile.postal_code", [](Profile& p) { p.postal_code = "150_0002"; }},
        {"profile.postal_code", [](Profile& p) { p.postal_code = "１５０-０００２"; }},
        {"profile.postal_code", [](Profile& p) { p.postal_code = std::string(17, '1'); }},
        {"profile.postal_code", [](Profile& p) { p.postal_code = "--"; }},
        {"profile.address", [](Profile& p) { p.address = std::string(301, 'x'); }},
        {"profile.address", [](Profile& p) { p.address = "a\x7f"; }},
        {"profile.phone", [](Profile& p) { p.phone = "090-1234-567a"; }},
        {"profile.phone", [](Profile& p) { p.phone = "123456"; }},
        {"profile.phone", [](Profile& p) { p.phone = "1234567890123456"; }},
        {"profile.phone", [](Profile& p) { p.phone = "81+9012345678"; }},
        {"profile.birth_date", [](Profile& p) { p.birth_date = "1990-02-30"; }},
        {"profile.birth_date", [](Profile& p) { p.birth_date = "1990/04/01"; }},
        {"profile.birth_date", [](Profile& p) { p.birth_date = "1899-12-31"; }},
        {"profile.birth_date", [](Profile& p) { p.birth_date = "2026-11-23"; }},
        {"profile.occupation", [](Profile& p) { p.occupation = std::string(101, 'o'); }},
        {"profile.email", [](Profile& p) { p.email = "taro"; }},
        {"profile.email", [](Profile& p) { p.email = "taro@example"; }},
        {"profile.email", [](Profile& p) { p.email = "taro@@example.com"; }},
        {"profile.email", [](Profile& p) { p.email = "ta ro@example.com"; }},
        {"profile.email", [](Profile& p) { p.email = "taro@-example.com"; }},
        {"profile.email", [](Profile& p) { p.email = ".taro@example.com"; }},
        {"profile.email", [](Profile& p) { p.email = "taro@example..com"; }},
        {"profile.email", [](Profile& p) { p.email = "taro@example.c"; }},
        {"profile.email", [](Profile& p) { p.email = "@example.com"; }},
        {"profile.email",
         [](Profile& p) { p.email = std::string(64, 'a') + "@" + std::string(190, 'b') + ".com"; }},
    };
    for (const BadField& c : cases) {
        Profile p = GoodProfile();
        c.change(p);
        auto v = ValidateProfile(p, kNow);
        ASSERT_FALSE(v.has_value()) << c.field;
        EXPECT_EQ(v.error().code, ErrorCode::kInvalidArgument);
        EXPECT_EQ(v.error().field, c.field);
        EXPECT_NE(v.error().message.find(c.field), std::string::npos) << v.error().message;
    }
}

TEST(Profile, BirthDateBoundaries) {
    Profile p = GoodProfile();
    p.birth_date = "1900-01-01";
    EXPECT_TRUE(ValidateProfile(p, kNow).has_value());
    p.birth_date = "2026-11-22";  // today is not the future
    EXPECT_TRUE(ValidateProfile(p, kNow).has_value());
    p.birth_date = "2024-02-29";
    EXPECT_TRUE(ValidateProfile(p, kNow).has_value());
}

TEST(Profile, AcceptsPlausibleEmailsAndPhones) {
    for (const char* email : {"a@b.co", "first.last+tag@sub.example.org", "x_y@xn--wgv71a.jp"}) {
        Profile p = GoodProfile();
        p.email = email;
        EXPECT_TRUE(ValidateProfile(p, kNow).has_value()) << email;
    }
    for (const char* phone : {"0312345678", "(03) 1234-5678", "+1 415 555 0100", "1234567"}) {
        Profile p = GoodProfile();
        p.phone = phone;
        EXPECT_TRUE(ValidateProfile(p, kNow).has_value()) << phone;
    }
}

TEST(Password, PolicyNamesPasswordField) {
    const Profile p = *ValidateProfile(GoodProfile(), kNow);
    EXPECT_TRUE(ValidatePassword("correct horse", p).ok());
    EXPECT_TRUE(ValidatePassword("パスワード八文字", p).ok());
    for (const std::string& bad :
         {std::string("short1"), std::string("12345678901"), std::string("aaaaaaaaaa"),
          std::string("ああああああああ"), std::string(129, 'x') + "y",
          std::string("TARO.yamada@example.co.jp"), std::string("+81 90-1234-5678"),
          std::string("\xC0\xAF\xC0\xAF"
                      "abcdefgh")}) {
        const Status s = ValidatePassword(bad, p);
        ASSERT_FALSE(s.ok()) << bad;
        EXPECT_EQ(s.error().field, "password");
    }
}

TEST(Password, ContainingPhoneDigitsAmongLettersIsAllowed) {
    const Profile p = *ValidateProfile(GoodProfile(), kNow);
    EXPECT_TRUE(ValidatePassword("a+819012345678b", p).ok());
}

TEST(Normalize, EmailIsTrimmedAndLowerCased) {
    EXPECT_EQ(NormalizeEmail("  Taro@Example.COM "), "taro@example.com");
}

TEST(Normalize, PhoneKeepsDigitsAndLeadingPlus) {
    EXPECT_EQ(NormalizePhone(" +81 (90) 1234-5678 "), "+819012345678");
    EXPECT_EQ(NormalizePhone("03-1234-5678"), "0312345678");
    EXPECT_EQ(NormalizePhone("03+1234"), "031234");
    EXPECT_EQ(NormalizePhone(""), "");
}

TEST(Member, OffersAreMailedOnlyToAConfirmedConsentingActiveMember) {
    Member m;
    m.profile.email = "hanako@example.jp";
    m.consents.email_offers = true;
    EXPECT_FALSE(MayMailOffers(m));  // an address nobody confirmed may be someone else's
    m.email_confirmed = true;
    EXPECT_TRUE(MayMailOffers(m));
    m.status = MemberStatus::kClosed;
    EXPECT_FALSE(MayMailOffers(m));
}

}  // namespace
}  // namespace kizuna::core
