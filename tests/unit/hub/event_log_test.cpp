#include "hub/event_log.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace kizuna::hub {
namespace {

// EventFields must write exactly what EventData's dump writes (RecordEvent), since stores read
// both kinds of events, and webhook deliveries sign the text.
std::string Dumped(const EventData& data) {
    return data.dump(-1, ' ', false, EventData::error_handler_t::replace);
}

TEST(EventFields, WriteTheSameTextAsEventDataForPlainFields) {
    EventFields fields;
    fields.Add("purchase_id", "till-1:2026.12_07-9")
        .Add("member_id", "1000000001")
        .Add("total", int64_t{1980})
        .Add("points", int64_t{-5})
        .Add("empty", "")
        .Add("big", std::numeric_limits<int64_t>::max())
        .Add("small", std::numeric_limits<int64_t>::min());
    EventData data = {{"purchase_id", "till-1:2026.12_07-9"},
                      {"member_id", "1000000001"},
                      {"total", 1980},
                      {"points", -5},
                      {"empty", ""},
                      {"big", std::numeric_limits<int64_t>::max()},
                      {"small", std::numeric_limits<int64_t>::min()}};
    EXPECT_EQ(fields.Object(), Dumped(data));
}

TEST(EventFields, EscapeAndPassUtf8AsEventDataDoes) {
    const std::string awkward[] = {
        "say \"hi\"",   "back\\slash",  "tab\tnew\nline\r\b\f", std::string("nul\0x", 5),
        "\x01\x1f\x7f", "渋谷ブックス", "bad \xff\xfe utf-8",   "cut \xe3\x81"};
    for (const std::string& text : awkward) {
        EventFields fields;
        fields.Add("name", text);
        EXPECT_EQ(fields.Object(), Dumped({{"name", text}})) << text;
    }
}

TEST(EventFields, AppendJoinsFieldsPreparedApart) {
    EventFields known;
    known.Add("store_id", "st_1").Add("total", int64_t{500});
    EventFields later;
    later.Add("purchase_id", "p1").Append(known).Add("balance", int64_t{5});
    EXPECT_EQ(
        later.Object(),
        Dumped({{"purchase_id", "p1"}, {"store_id", "st_1"}, {"total", 500}, {"balance", 5}}));
    EXPECT_EQ(EventFields().Object(), Dumped(EventData::object()));
    EXPECT_EQ(EventFields().Append(EventFields()).Object(), "{}");
    EXPECT_EQ(EventFields().Append(known).Object(), R"({"store_id":"st_1","total":500})");
}

}  // namespace
}  // namespace kizuna::hub
