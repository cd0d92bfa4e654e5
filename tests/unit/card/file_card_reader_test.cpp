// FileCardReader through CardProtocol: the card semantics the chip card has, on a file.
#include "card/file_card_reader.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "card/card_protocol.hpp"
#include "card/card_verifier.hpp"
#include "test_records.hpp"

namespace kizuna::card {
namespace {

using namespace std::chrono_literals;

class FileCardReaderTest : public ::testing::Test {
  protected:
    testing::TempDir dir_;
    testing::TestHub hub_;
    std::string path_ = dir_.Path("card.img");
    FileCardReader reader_{path_};
    CardProtocol protocol_{reader_};

    void InsertBlank(std::size_t capacity = CardImage::kDefaultCapacity,
                     std::string_view aid = kKizunaAid) {
        ASSERT_TRUE(CardImage::Blank(capacity, aid).Save(path_));
    }
};

TEST_F(FileCardReaderTest, NoCardIsAClearError) {
    auto read = protocol_.ReadCard();
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, core::ErrorCode::kUnavailable);
    EXPECT_NE(read.error().message.find("no card in file:"), std::string::npos)
        << read.error().message;
}

TEST_F(FileCardReaderTest, WaitTimesOutWithoutACardAndSeesOneInserted) {
    auto waited = reader_.WaitFor(CardPresence::kPresent, 100ms);
    ASSERT_FALSE(waited);
    EXPECT_NE(waited.error().message.find("timed out"), std::string::npos);
    EXPECT_TRUE(reader_.WaitFor(CardPresence::kAbsent, 0ms));
    InsertBlank();
    EXPECT_TRUE(reader_.WaitFor(CardPresence::kPresent, 100ms));
}

TEST_F(FileCardReaderTest, IssuedRecordReadsBackAndVerifies) {
    InsertBlank();
    const core::CardRecord record = hub_.SignedRecord();
    ASSERT_TRUE(protocol_.IssueCard(record));
    // A new reader object, as another process would see the card.
    FileCardReader again(path_);
    auto read = CardProtocol(again).ReadCard();
    ASSERT_TRUE(read) << read.error().message;
    EXPECT_EQ(*read, record);
    auto verifier = CardVerifier::Create(hub_.keys.public_key);
    ASSERT_TRUE(verifier);
    EXPECT_TRUE(verifier->Verify(*read));
}

TEST_F(FileCardReaderTest, AnIssuedCardIsNeverIssuedAgain) {
    InsertBlank();
    ASSERT_TRUE(protocol_.IssueCard(hub_.SignedRecord(testing::CardNumber(1))));
    auto second = protocol_.IssueCard(hub_.SignedRecord(testing::CardNumber(2), 2));
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, core::ErrorCode::kAlreadyExists);
    EXPECT_NE(second.error().message.find("write-once"), std::string::npos);
    auto read = protocol_.ReadCard();
    ASSERT_TRUE(read);
    EXPECT_EQ(read->card_number, testing::CardNumber(1));
}

TEST_F(FileCardReaderTest, CheckBlankTellsABlankCardFromAnIssuedOne) {
    InsertBlank();
    EXPECT_TRUE(protocol_.CheckBlank());
    ASSERT_TRUE(protocol_.IssueCard(hub_.SignedRecord()));
    auto issued = protocol_.CheckBlank();
    ASSERT_FALSE(issued);
    EXPECT_EQ(issued.error().code, core::ErrorCode::kAlreadyExists);
}

TEST_F(FileCardReaderTest, RawAppendsFillTheCardThen6A84) {
    InsertBlank(2);
    ASSERT_TRUE(reader_.Connect());
    ASSERT_EQ(reader_.Transmit(SelectByAid(kKizunaAid))->sw, sw::kOk);
    EXPECT_EQ(reader_.Transmit(AppendRecord("a", kRecordFileSfi))->sw, sw::kOk);
    EXPECT_EQ(reader_.Transmit(AppendRecord("b", kRecordFileSfi))->sw, sw::kOk);
    EXPECT_EQ(reader_.Transmit(AppendRecord("c", kRecordFileSfi))->sw, sw::kNotEnoughMemory);
    CommandApdu update{0x00, ins::kUpdateRecord, 0x01, 0x0C, "z", std::nullopt};
    EXPECT_EQ(reader_.Transmit(update)->sw, sw::kConditionsNotSatisfied);
    reader_.Disconnect();
    auto image = CardImage::Load(path_);
    ASSERT_TRUE(image);
    EXPECT_EQ(image->records(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(FileCardReaderTest, IssueOnAFullCardSaysSo) {
    InsertBlank(1);
    ASSERT_TRUE(reader_.Connect());
    ASSERT_EQ(reader_.Transmit(SelectByAid(kKizunaAid))->sw, sw::kOk);
    ASSERT_EQ(reader_.Transmit(AppendRecord("junk", kRecordFileSfi))->sw, sw::kOk);
    reader_.Disconnect();
    // Holding a record, it counts as issued before it counts as full.
    auto issued = protocol_.IssueCard(hub_.SignedRecord());
    ASSERT_FALSE(issued);
    EXPECT_EQ(issued.error().code, core::ErrorCode::kAlreadyExists);
}

TEST_F(FileCardReaderTest, AForeignCardIsNamedAsSuch) {
    InsertBlank(4, std::string_view("\xA0\x00\x00\x00\x04\x10\x10", 7));
    auto read = protocol_.ReadCard();
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, core::ErrorCode::kNotFound);
    EXPECT_NE(read.error().message.find("not a Kizuna card"), std::string::npos);
    EXPECT_NE(read.error().message.find("6A82"), std::string::npos);
}

TEST_F(FileCardReaderTest, ABlankCardIsNamedAsSuch) {
    InsertBlank();
    auto read = protocol_.ReadCard();
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, core::ErrorCode::kNotFound);
    EXPECT_NE(read.error().message.find("blank"), std::string::npos);
}

TEST_F(FileCardReaderTest, CardRemovedMidSessionEndsIt) {
    InsertBlank();
    ASSERT_TRUE(reader_.Connect());
    ASSERT_EQ(reader_.Transmit(SelectByAid(kKizunaAid))->sw, sw::kOk);
    std::filesystem::rename(path_, dir_.Path("pocket.img"));
    auto append = reader_.Transmit(AppendRecord("x", kRecordFileSfi));
    ASSERT_FALSE(append);
    EXPECT_NE(append.error().message.find("removed"), std::string::npos);
    // Put back, the card was not written.
    std::filesystem::rename(dir_.Path("pocket.img"), path_);
    EXPECT_TRUE(CardImage::Load(path_)->records().empty());
}

TEST_F(FileCardReaderTest, ADifferentCardSwappedInMidSessionCountsAsRemoval) {
    InsertBlank();
    ASSERT_TRUE(reader_.Connect());
    ASSERT_EQ(reader_.Transmit(SelectByAid(kKizunaAid))->sw, sw::kOk);
    ASSERT_TRUE(CardImage::Blank().Save(path_));  // another card in the same slot
    auto read = reader_.Transmit(ReadRecord(1, kRecordFileSfi));
    ASSERT_FALSE(read);
    EXPECT_NE(read.error().message.find("removed"), std::string::npos);
}

TEST_F(FileCardReaderTest, AnAlteredRecordOnTheCardIsRefusedOffline) {
    InsertBlank();
    ASSERT_TRUE(protocol_.IssueCard(hub_.SignedRecord()));
    const std::string altered = testing::AlterGeneration(testing::ReadText(path_));
    ASSERT_FALSE(altered.empty());
    std::ofstream(path_, std::ios::trunc) << altered;

    auto read = protocol_.ReadCard();
    ASSERT_TRUE(read) << read.error().message;
    auto verifier = CardVerifier::Create(hub_.keys.public_key);
    ASSERT_TRUE(verifier);
    auto verified = verifier->Verify(*read);
    ASSERT_FALSE(verified);
    EXPECT_EQ(verified.error().code, core::ErrorCode::kUnauthenticated);
}

TEST(FileCardReader, OpenCardReaderParsesSpellings) {
    EXPECT_TRUE(OpenCardReader("file:/tmp/x.img"));
    EXPECT_TRUE(OpenCardReader("pcsc"));
    EXPECT_TRUE(OpenCardReader("pcsc:Virtual PCD"));
    auto bad = OpenCardReader("usb:1");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().field, "card-reader");
    EXPECT_FALSE(OpenCardReader("file:"));
}

}  // namespace
}  // namespace kizuna::card
