#include "card/card_applet.hpp"

#include <gtest/gtest.h>

namespace kizuna::card {
namespace {

core::Status AcceptWrite(const CardImage&) { return core::Status::Ok(); }

class CardAppletTest : public ::testing::Test {
  protected:
    CardApplet applet_{CardImage::Blank(2), AcceptWrite};

    uint16_t Sw(const CommandApdu& command) { return applet_.Process(command).sw; }
    void Select() { ASSERT_EQ(Sw(SelectByAid(kKizunaAid)), sw::kOk); }
};

TEST_F(CardAppletTest, SelectReturnsFciWithRecordCountAndSlots) {
    const ResponseApdu response = applet_.Process(SelectByAid(kKizunaAid));
    ASSERT_EQ(response.sw, sw::kOk);
    // 6F { 84 <aid> A5 { 80 01 00  81 01 02  82 01 C8 } }
    EXPECT_EQ(ToHex(response.data),
              "6F1584"
              "08F04B495A554E4101"
              "A50980010081010282"
              "01C8");
}

TEST_F(CardAppletTest, SelectOfAnotherApplicationAnswers6A82) {
    EXPECT_EQ(Sw(SelectByAid(std::string("\xA0\x00\x00\x00\x03", 5))), sw::kFileNotFound);
    // The failed SELECT leaves nothing selected.
    EXPECT_EQ(Sw(ReadRecord(1, kRecordFileSfi)), sw::kNoCurrentEf);
}

TEST_F(CardAppletTest, SelectWithUnsupportedParametersAnswers6A86) {
    CommandApdu by_file_id = SelectByAid(kKizunaAid);
    by_file_id.p1 = 0x00;
    EXPECT_EQ(Sw(by_file_id), sw::kIncorrectP1P2);
    CommandApdu empty_name = SelectByAid("");
    EXPECT_EQ(Sw(empty_name), sw::kWrongLength);
}

TEST_F(CardAppletTest, CommandsBeforeSelectAnswer6986) {
    EXPECT_EQ(Sw(ReadRecord(1, kRecordFileSfi)), sw::kNoCurrentEf);
    EXPECT_EQ(Sw(AppendRecord("x", kRecordFileSfi)), sw::kNoCurrentEf);
}

TEST_F(CardAppletTest, AppendedRecordsReadBackInOrder) {
    Select();
    EXPECT_EQ(Sw(AppendRecord("first", kRecordFileSfi)), sw::kOk);
    EXPECT_EQ(Sw(AppendRecord("second", 0)), sw::kOk);  // SFI 0: the current file
    EXPECT_EQ(applet_.Process(ReadRecord(1, kRecordFileSfi)).data, "first");
    EXPECT_EQ(applet_.Process(ReadRecord(2, kRecordFileSfi)).data, "second");
    EXPECT_EQ(Sw(ReadRecord(3, kRecordFileSfi)), sw::kRecordNotFound);
}

TEST_F(CardAppletTest, FullCardAnswers6A84AndKeepsItsRecords) {
    Select();
    ASSERT_EQ(Sw(AppendRecord("one", kRecordFileSfi)), sw::kOk);
    ASSERT_EQ(Sw(AppendRecord("two", kRecordFileSfi)), sw::kOk);
    EXPECT_EQ(Sw(AppendRecord("three", kRecordFileSfi)), sw::kNotEnoughMemory);
    EXPECT_EQ(applet_.image().records().size(), 2u);
}

TEST_F(CardAppletTest, RecordsCannotBeUpdatedWrittenOrErased) {
    Select();
    ASSERT_EQ(Sw(AppendRecord("original", kRecordFileSfi)), sw::kOk);
    for (uint8_t ins : {ins::kUpdateRecord, ins::kWriteRecord, ins::kEraseRecord}) {
        CommandApdu command{0x00, ins, 0x01, 0x0C, "forged", std::nullopt};
        EXPECT_EQ(Sw(command), sw::kConditionsNotSatisfied) << int{ins};
    }
    for (uint8_t ins : {ins::kUpdateBinary, ins::kWriteBinary, ins::kEraseBinary}) {
        CommandApdu command{0x00, ins, 0x00, 0x00, "forged", std::nullopt};
        EXPECT_EQ(Sw(command), sw::kIncompatibleFileStructure) << int{ins};
    }
    EXPECT_EQ(applet_.Process(ReadRecord(1, kRecordFileSfi)).data, "original");
}

TEST_F(CardAppletTest, WrongLengthsAnswer6700) {
    Select();
    EXPECT_EQ(Sw(AppendRecord("", kRecordFileSfi)), sw::kWrongLength);
    EXPECT_EQ(Sw(AppendRecord(std::string(CardImage::kMaxRecordLength + 1, 'x'), kRecordFileSfi)),
              sw::kWrongLength);
    CommandApdu read_without_le = ReadRecord(1, kRecordFileSfi);
    read_without_le.le.reset();
    EXPECT_EQ(Sw(read_without_le), sw::kWrongLength);
    // A malformed APDU on the wire.
    EXPECT_EQ(ToHex(applet_.ProcessBytes(std::string("\x00\xE2\x00\x08\x05\x01", 6))), "6700");
}

TEST_F(CardAppletTest, ShortLeAnswers6CWithTheExactLength) {
    Select();
    ASSERT_EQ(Sw(AppendRecord("0123456789", kRecordFileSfi)), sw::kOk);
    CommandApdu read = ReadRecord(1, kRecordFileSfi);
    read.le = 4;
    EXPECT_EQ(Sw(read), sw::WrongLe(10));
    read.le = 10;
    EXPECT_EQ(applet_.Process(read).data, "0123456789");
}

TEST_F(CardAppletTest, BadParametersAnswer6A86AndUnknownFilesAnswer6A82) {
    Select();
    CommandApdu read_first = ReadRecord(1, kRecordFileSfi);
    read_first.p2 = (kRecordFileSfi << 3) | 0x00;  // "first record" addressing: unsupported
    EXPECT_EQ(Sw(read_first), sw::kIncorrectP1P2);
    EXPECT_EQ(Sw(ReadRecord(0, kRecordFileSfi)), sw::kIncorrectP1P2);
    EXPECT_EQ(Sw(ReadRecord(1, 7)), sw::kFileNotFound);
    EXPECT_EQ(Sw(AppendRecord("x", 7)), sw::kFileNotFound);
}

TEST_F(CardAppletTest, UnknownInstructionAndClassAreRefused) {
    EXPECT_EQ(Sw(CommandApdu{0x00, 0x84, 0x00, 0x00, {}, uint8_t{8}}), sw::kInsNotSupported);
    EXPECT_EQ(Sw(CommandApdu{0x80, ins::kSelect, 0x04, 0x00, std::string(kKizunaAid), {}}),
              sw::kClaNotSupported);
}

TEST_F(CardAppletTest, ResetForgetsTheSelection) {
    Select();
    applet_.Reset();
    EXPECT_EQ(Sw(ReadRecord(1, kRecordFileSfi)), sw::kNoCurrentEf);
}

TEST(CardApplet, FailedPersistAnswers6581AndKeepsTheImage) {
    CardApplet applet(CardImage::Blank(), [](const CardImage&) -> core::Status {
        return core::MakeError(core::ErrorCode::kUnavailable, "disk full");
    });
    ASSERT_EQ(applet.Process(SelectByAid(kKizunaAid)).sw, sw::kOk);
    EXPECT_EQ(applet.Process(AppendRecord("x", kRecordFileSfi)).sw, 0x6581);
    EXPECT_TRUE(applet.image().records().empty());
}

TEST(CardApplet, AtrCarriesAValidCheckByte) {
    const std::string atr = CardApplet::Atr();
    ASSERT_GE(atr.size(), 4u);
    EXPECT_EQ(static_cast<uint8_t>(atr[0]), 0x3B);
    uint8_t x = 0;
    for (std::size_t i = 1; i < atr.size(); ++i) x ^= static_cast<uint8_t>(atr[i]);
    EXPECT_EQ(x, 0) << "T0 through TCK must XOR to zero";
}

}  // namespace
}  // namespace kizuna::card
