// JsonWriter and the Write* mappings against what they replace on the usage path: every
// document must come out byte for byte as DumpJson of the nlohmann DOM built by *ToJson.

#include "http/json_writer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "http/json.hpp"
#include "http/json_mapping.hpp"

namespace kizuna::http {
namespace {

std::string Written(std::string_view text) {
    JsonWriter out;
    out.String(text);
    return out.Take();
}

std::string Dumped(std::string_view text) { return DumpJson(Json(std::string(text))); }

TEST(JsonWriter, EscapesLikeNlohmannForEveryAsciiCharacter) {
    for (int c = 0; c < 0x80; ++c) {
        std::string text = "a" + std::string(1, static_cast<char>(c)) + "b";
        EXPECT_EQ(Written(text), Dumped(text)) << "character " << c;
    }
    EXPECT_EQ(Written("\x01\x1f\"\\/\x7f"), "\"\\u0001\\u001f\\\"\\\\/\x7f\"");
    EXPECT_EQ(Written(""), "\"\"");
}

TEST(JsonWriter, PassesUtf8ThroughAndReplacesInvalidBytesLikeNlohmann) {
    for (std::string text : {
             std::string("山田 太郎 ヤマダ タロウ"),
             std::string("\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf"),
             std::string("\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf 😀 \"引用\" \\ \n"),
             // Not UTF-8: stray continuation, overlong forms, surrogates, above U+10FFFF,
             // truncated sequences at the end and in the middle.
             std::string("a\x80z"),
             std::string("\xc0\xaf"),
             std::string("\xc1\xbf"),
             std::string("\xe0\x80\xaf"),
             std::string("\xed\xa0\x80"),
             std::string("\xf4\x90\x80\x80"),
             std::string("\xf5\x80\x80\x80"),
             std::string("\xff"),
             std::string("ok\xe3\x81"),
             std::string("\xe3\x81 next"),
             std::string("\xf0\x9f\x98 \"q\""),
         }) {
        EXPECT_EQ(Written(text), Dumped(text)) << text;
    }
}

TEST(JsonWriter, MatchesNlohmannOnRandomText) {
    // Bytes drawn to hit every class the escaper and the UTF-8 check tell apart.
    std::mt19937 random(20261122);
    const std::vector<std::string> pieces = {
        "a",    "Z", " ",  "\"", "\\",   "/",    "\n",       "\t",       "\x01",         "\x1f",
        "\x7f", "é", "ー", "😀",  "\x80", "\xc3", "\xe3\x81", "\xf0\x9f", "\xed\xa0\x80", "\xff"};
    for (int round = 0; round < 5000; ++round) {
        std::string text;
        int length = static_cast<int>(random() % 12);
        for (int i = 0; i < length; ++i) text += pieces[random() % pieces.size()];
        ASSERT_EQ(Written(text), Dumped(text)) << "round " << round;
    }
}

TEST(JsonWriter, PlacesCommasAndWritesIntegersLikeNlohmann) {
    JsonWriter out;
    out.BeginObject();
    out.Field("empty", "");
    out.Key("list");
    out.BeginArray();
    out.Int(std::numeric_limits<int64_t>::min());
    out.Int(std::numeric_limits<int64_t>::max());
    out.Int(0);
    out.Int(-7);
    out.BeginObject();
    out.EndObject();
    out.BeginArray();
    out.EndArray();
    out.Bool(true);
    out.Bool(false);
    out.EndArray();
    out.Key("nested");
    out.BeginObject();
    out.Field("n", 42);
    out.Key("none");
    out.BeginArray();
    out.EndArray();
    out.EndObject();
    out.EndObject();

    Json json = Json::object();
    json["empty"] = "";
    json["list"] =
        Json::array({std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 0,
                     -7, Json::object(), Json::array(), true, false});
    json["nested"] = Json::object();
    json["nested"]["n"] = 42;
    json["nested"]["none"] = Json::array();
    EXPECT_EQ(out.Take(), DumpJson(json));
}

core::Purchase Purchase(std::string id, std::vector<core::PurchaseLine> lines) {
    core::Purchase p;
    p.purchase_id = std::move(id);
    p.member_id = "1000000001";
    p.card_number = "9810123456789012";
    p.store_id = "st_shibuya";
    p.program_id = "pg_ekimae";
    p.occurred_at = core::FromUnixSeconds(1795371455);
    p.recorded_at = core::FromUnixSeconds(1795371458);
    p.currency = "JPY";
    p.lines = std::move(lines);
    p.total = core::TotalOf(p.lines);
    p.points_earned = 31;
    p.rule_version = 2;
    p.balance_after = 131;
    p.fingerprint = "sha256:0f1e2d3c";
    return p;
}

core::LedgerEntry Entry(int64_t id, core::EntryKind kind, int64_t delta, std::string note) {
    core::LedgerEntry e;
    e.entry_id = id;
    e.member_id = "1000000001";
    e.program_id = "pg_ekimae";
    e.store_id = "st_shibuya";
    e.delta = delta;
    e.kind = kind;
    e.ref = "pos-1:00042";
    e.occurred_at = core::FromUnixSeconds(1795371455 + id);
    e.note = std::move(note);
    return e;
}

// The usage answer as the handler built it before UsageJsonText.
std::string UsageByDom(const std::string& member_id, const hub::Usage& usage) {
    Json balances = Json::array();
    for (const auto& balance : usage.balances) balances.push_back(BalanceToJson(balance));
    Json purchases = Json::array();
    for (const auto& purchase : usage.purchases) purchases.push_back(PurchaseToJson(purchase));
    Json entries = Json::array();
    for (const auto& entry : usage.entries) entries.push_back(EntryToJson(entry));
    Json json = Json::object();
    json["member_id"] = member_id;
    json["balances"] = std::move(balances);
    json["purchases"] = std::move(purchases);
    json["entries"] = std::move(entries);
    return DumpJson(json);
}

TEST(JsonMappingWriter, UsageDocumentsMatchTheDomVersion) {
    std::vector<hub::Usage> cases;
    cases.push_back({});  // a member with no history at all
    {
        hub::Usage usage;
        usage.balances = {{"pg_ekimae", 0}, {"pg_other", 1234567890123}};
        usage.purchases.push_back(Purchase("pos-1:00042", {}));
        usage.purchases.push_back(Purchase(
            "pos-1:00043",
            {{"新刊 ライトノベル 第3巻", "978-4-04-000001-1", "書籍", 2, 748},
             {"say \"hi\" \\ back\\slash", "", "", 1, 0},
             {"tab\there\nnew line\r\x01\x1f\x7f", "CF-01", "drinks", 100000, 10'000'000'000}}));
        usage.purchases.back().card_number.clear();  // a purchase without a card: no key
        usage.purchases.back().points_earned = -5;
        // Paid partly with points, then voided: the void's block and the net figures.
        usage.purchases.push_back(Purchase("pos-1:00044", {{"緑茶", "", "food", 1, 1000}}));
        usage.purchases.back().points_used = 60;
        usage.purchases.back().points_value = 60;
        usage.purchases.push_back(usage.purchases.back());
        usage.purchases.back().purchase_id = "pos-1:00045";
        usage.purchases.back().voided_at = core::FromUnixSeconds(1795371500);
        usage.entries = {Entry(1, core::EntryKind::kEarn, 31, "1,980 JPY at Shibuya Books"),
                         Entry(2, core::EntryKind::kRedeem, -100, ""),
                         Entry(3, core::EntryKind::kExpire, -7, "期限切れ 😀 \"quoted\"")};
        usage.entries.back().store_id.clear();
        cases.push_back(usage);
    }
    {
        hub::Usage usage;
        usage.balances = {{"pg_ekimae", 5}};
        for (int i = 0; i < 50; ++i) {
            usage.purchases.push_back(Purchase("pos-2:" + std::to_string(i),
                                               {{std::string(static_cast<std::size_t>(i), 'x'),
                                                 std::to_string(i), "", i + 1, i}}));
            usage.entries.push_back(
                Entry(i, core::EntryKind::kEarn, i, "note " + std::to_string(i)));
        }
        cases.push_back(usage);
    }
    for (const hub::Usage& usage : cases) {
        EXPECT_EQ(UsageJsonText("1000000001", usage), UsageByDom("1000000001", usage));
    }
}

TEST(JsonMappingWriter, EveryEntryKindMatchesTheDomVersion) {
    for (auto kind : {core::EntryKind::kEarn, core::EntryKind::kRedeem, core::EntryKind::kExpire,
                      core::EntryKind::kRefundReversal, core::EntryKind::kAdjustment}) {
        core::LedgerEntry entry = Entry(9, kind, -1, "n");
        JsonWriter out;
        WriteEntry(out, entry);
        EXPECT_EQ(out.Take(), DumpJson(EntryToJson(entry)));
    }
}

}  // namespace
}  // namespace kizuna::http
