#include "card/qr_code.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>

#include "card/card_pdf.hpp"
#include "test_records.hpp"

namespace kizuna::card {
namespace {

std::string RunCommand(const std::string& command) {
    std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), &pclose);
    if (!pipe) return {};
    std::string out;
    std::array<char, 512> buffer{};
    while (std::fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) out += buffer.data();
    return out;
}

TEST(QrCode, PngDecodesBackToTheSameRecordText) {
    testing::TempDir dir;
    testing::TestHub hub;
    auto text = core::CardRecordToText(hub.SignedRecord());
    ASSERT_TRUE(text);
    auto qr = QrCode::Encode(*text);
    ASSERT_TRUE(qr);
    const std::string png = dir.Path("card.png");
    ASSERT_TRUE(qr->WritePng(png, 4));
    // zbarimg (Debian zbar-tools) is an independent decoder: what a phone or scanner reads.
    const std::string decoded = RunCommand("zbarimg --quiet --raw '" + png + "' 2>/dev/null");
    EXPECT_EQ(decoded, *text + "\n");
    auto back = core::CardRecordFromText(decoded.substr(0, decoded.size() - 1));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, hub.SignedRecord());
}

TEST(QrCode, SvgDrawsEveryDarkModule) {
    auto qr = QrCode::Encode("KZ1.AAAA");
    ASSERT_TRUE(qr);
    const std::string svg = qr->ToSvg(4);
    EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
    EXPECT_NE(svg.find("<path fill=\"#000\" d=\"M"), std::string::npos);
    int dark = 0;
    for (int y = 0; y < qr->size(); ++y) {
        for (int x = 0; x < qr->size(); ++x) dark += qr->IsDark(x, y) ? 1 : 0;
    }
    // Each run "h<n>" covers n modules; their sum is the dark module count.
    int covered = 0;
    for (std::size_t at = svg.find('h'); at != std::string::npos; at = svg.find('h', at + 1)) {
        if (svg[at + 1] >= '0' && svg[at + 1] <= '9') covered += std::stoi(svg.substr(at + 1));
    }
    EXPECT_EQ(covered, dark);
}

TEST(QrCode, RefusesEmptyText) { EXPECT_FALSE(QrCode::Encode("")); }

TEST(CardPdf, PrintsAJapaneseNameWithACjkFont) {
    testing::TempDir dir;
    testing::TestHub hub;
    auto text = core::CardRecordToText(hub.SignedRecord());
    ASSERT_TRUE(text);
    const std::string pdf = dir.Path("card.pdf");
    ASSERT_TRUE(WriteCardPdf(pdf, CardFace{"山田 花子", testing::CardNumber(1), *text}));
    const std::string bytes = testing::ReadText(pdf);
    EXPECT_EQ(bytes.rfind("%PDF-", 0), 0u);
    // The name's glyphs come from an embedded Noto Sans CJK subset, not a fallback box font.
    EXPECT_NE(bytes.find("NotoSansCJK"), std::string::npos);
}

TEST(CardPdf, RefusesAFaceWithoutCardNumber) {
    testing::TempDir dir;
    EXPECT_FALSE(WriteCardPdf(dir.Path("x.pdf"), CardFace{"x", "", "KZ1.AAAA"}));
}

}  // namespace
}  // namespace kizuna::card
