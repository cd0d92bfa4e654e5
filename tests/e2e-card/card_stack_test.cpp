// The card stack end to end, with no mock: pcscd, the vpcd reader driver, kizuna-card-sim as
// the card, PcscCardReader + CardProtocol + CardVerifier as the store terminal.
#include <gtest/gtest.h>

#include <fstream>

#include "card/card_protocol.hpp"
#include "card/card_verifier.hpp"
#include "card/pcsc_card_reader.hpp"
#include "pcsc_stack.hpp"
#include "test_records.hpp"

namespace kizuna::card {
namespace {

class CardStackTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const std::string unsupported = testing::PcscStack::Unsupported();
        if (!unsupported.empty()) GTEST_SKIP() << unsupported;
        ASSERT_EQ(stack_.Start(), "");
    }
    std::string Image(const std::string& name) { return dir_.Path(name); }

    testing::PcscStack stack_{KIZUNA_CARD_SIM, KIZUNA_CARD_READERS};
    testing::TestHub hub_;
    testing::TempDir dir_;
};

TEST_F(CardStackTest, IssueReadRefuseAndRemovalThroughPcscd) {
    PcscCardReader reader(stack_.reader_name());
    CardProtocol protocol(reader);
    auto verifier = CardVerifier::Create(hub_.keys.public_key);
    ASSERT_TRUE(verifier);

    // Empty reader: a clear error, not a hang.
    auto nothing = protocol.ReadCard();
    ASSERT_FALSE(nothing);
    EXPECT_NE(nothing.error().message.find("no card in"), std::string::npos)
        << nothing.error().message;

    // A blank card is issued, read back and verified; a second issue is refused (write-once).
    ASSERT_EQ(stack_.RunSim({"format", Image("first.img")}), 0);
    ASSERT_EQ(stack_.Insert(Image("first.img")), "");
    const core::CardRecord first = hub_.SignedRecord(testing::CardNumber(1), 1);
    auto issued = protocol.IssueCard(first);
    ASSERT_TRUE(issued) << issued.error().message;
    auto read = protocol.ReadCard();
    ASSERT_TRUE(read) << read.error().message;
    EXPECT_EQ(*read, first);
    EXPECT_TRUE(verifier->Verify(*read));
    auto again = protocol.IssueCard(hub_.SignedRecord(testing::CardNumber(2), 2));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, core::ErrorCode::kAlreadyExists);
    ASSERT_EQ(stack_.Remove(), "");

    // A blank card where an issued one is expected.
    ASSERT_EQ(stack_.RunSim({"format", Image("blank.img")}), 0);
    ASSERT_EQ(stack_.Insert(Image("blank.img")), "");
    auto blank = protocol.ReadCard();
    ASSERT_FALSE(blank);
    EXPECT_NE(blank.error().message.find("blank"), std::string::npos) << blank.error().message;
    ASSERT_EQ(stack_.Remove(), "");

    // A card of some other application.
    ASSERT_EQ(stack_.RunSim({"format", Image("foreign.img"), "--foreign"}), 0);
    ASSERT_EQ(stack_.Insert(Image("foreign.img")), "");
    auto foreign = protocol.ReadCard();
    ASSERT_FALSE(foreign);
    EXPECT_NE(foreign.error().message.find("not a Kizuna card"), std::string::npos)
        << foreign.error().message;
    ASSERT_EQ(stack_.Remove(), "");

    // A card whose record was altered (generation 1 -> 2) reads, and is refused offline.
    const std::string altered = testing::AlterGeneration(testing::ReadText(Image("first.img")));
    ASSERT_FALSE(altered.empty());
    std::ofstream(Image("altered.img")) << altered;
    ASSERT_EQ(stack_.Insert(Image("altered.img")), "");
    auto tampered = protocol.ReadCard();
    ASSERT_TRUE(tampered) << tampered.error().message;
    auto refused = verifier->Verify(*tampered);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, core::ErrorCode::kUnauthenticated);
    ASSERT_EQ(stack_.Remove(), "");

    // Pulled out after SELECT, in the middle of an issue: a clear error and nothing written.
    ASSERT_EQ(stack_.RunSim({"format", Image("second.img")}), 0);
    ASSERT_EQ(stack_.Insert(Image("second.img"), {"--remove-after-apdus", "1"}), "");
    auto pulled = protocol.IssueCard(hub_.SignedRecord(testing::CardNumber(3), 2));
    ASSERT_FALSE(pulled);
    EXPECT_NE(pulled.error().message.find("removed"), std::string::npos) << pulled.error().message;
    ASSERT_EQ(stack_.WaitEmpty(), "");
    EXPECT_EQ(testing::ReadText(Image("second.img")).find("record "), std::string::npos)
        << "half-written card";

    // The same blank card, put back properly, is issued as normal.
    ASSERT_EQ(stack_.Insert(Image("second.img")), "");
    EXPECT_TRUE(protocol.IssueCard(hub_.SignedRecord(testing::CardNumber(3), 2)));
    ASSERT_EQ(stack_.Remove(), "");
}

}  // namespace
}  // namespace kizuna::card
