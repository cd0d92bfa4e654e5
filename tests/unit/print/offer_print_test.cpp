// Letters and labels: long Japanese addresses fit inside their label (Pango's measured extents),
// and the PDFs hold one page per letter / per sheet of labels, with the text extractable
// (poppler's pdfinfo and pdftotext read them back).
#include "print/offer_print.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <string>

namespace kizuna::print {
namespace {

// 60 characters.
const std::string kLongAddress =
    "北海道札幌市中央区北一条西二丁目一番地札幌中央ビルディング第三別館十二階一二〇五号室経理部気付"
    "御中様方第二経理課会計係長";

std::size_t CodePoints(const std::string& text) {
    std::size_t n = 0;
    for (unsigned char c : text) n += (c & 0xC0) != 0x80;
    return n;
}

std::string Shell(const std::string& command) {
    std::string out;
    std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), &pclose);
    if (!pipe) return out;
    char buffer[4096];
    while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe.get())) out.append(buffer, n);
    return out;
}

std::string WriteTemp(const std::string& bytes) {
    char name[] = "/tmp/kizuna-print-XXXXXX";
    const int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    close(fd);
    return name;
}

int Pages(const std::string& path) {
    std::smatch match;
    const std::string info = Shell("pdfinfo " + path);
    if (!std::regex_search(info, match, std::regex("Pages:\\s+(\\d+)"))) return -1;
    return std::stoi(match[1]);
}

TEST(OfferPrint, SixtyCharacterAddressFitsInsideItsLabelAtBothSizes) {
    ASSERT_EQ(CodePoints(kLongAddress), 60u);
    const PostalAddress label{"060-0001", kLongAddress, "伊藤 長住所"};
    for (int per_page : {12, 24}) {
        auto fit = FitLabel(label, per_page);
        ASSERT_TRUE(fit.has_value()) << fit.error().message;
        EXPECT_TRUE(fit->fits) << per_page;
        EXPECT_GT(fit->text_width, 0);
        EXPECT_LE(fit->text_width, fit->box_width) << per_page;
        EXPECT_LE(fit->text_height, fit->box_height) << per_page;
        EXPECT_GE(fit->font_size, 5.0);
    }
}

TEST(OfferPrint, ShortAddressKeepsTheNormalSize) {
    auto fit = FitLabel(PostalAddress{"150-0043", "東京都渋谷区道玄坂1-2-3", "山田 花子"}, 12);
    ASSERT_TRUE(fit.has_value());
    EXPECT_TRUE(fit->fits);
    EXPECT_EQ(fit->font_size, 11.0);
}

TEST(OfferPrint, AnAbsurdAddressIsCutAtTheBoxNeverPastIt) {
    std::string huge;
    for (int i = 0; i < 40; ++i) huge += kLongAddress;
    auto fit = FitLabel(PostalAddress{"060-0001", huge, "伊藤"}, 24);
    ASSERT_TRUE(fit.has_value());
    EXPECT_LE(fit->text_height, fit->box_height);
    EXPECT_LE(fit->text_width, fit->box_width);
}

TEST(OfferPrint, LettersOnePagePerMemberWithAddressBlockAndOffers) {
    std::vector<Letter> letters;
    for (int i = 0; i < 3; ++i) {
        Letter letter;
        letter.to = {"150-004" + std::to_string(i), "東京都渋谷区道玄坂1-2-" + std::to_string(i),
                     "会員 " + std::to_string(i)};
        letter.date = "2026年12月7日";
        letter.items.push_back({"本の秋フェア", "全品20%オフ", "本の森", "2026年12月31日まで",
                                "90日間に「books」を4回購入"});
        letters.push_back(letter);
    }
    auto pdf = RenderLetters(letters, {"Kizuna 会員サービス", "郵送停止は support@example.jp へ"});
    ASSERT_TRUE(pdf.has_value()) << pdf.error().message;
    const std::string path = WriteTemp(*pdf);
    EXPECT_EQ(Pages(path), 3);
    const std::string text = Shell("pdftotext " + path + " -");
    for (int i = 0; i < 3; ++i) {
        EXPECT_NE(text.find("〒150-004" + std::to_string(i)), std::string::npos) << text;
        EXPECT_NE(text.find("会員 " + std::to_string(i) + " 様"), std::string::npos) << text;
    }
    EXPECT_NE(text.find("本の秋フェア"), std::string::npos);
    EXPECT_NE(text.find("2026年12月7日"), std::string::npos);
    EXPECT_NE(text.find("support@example.jp"), std::string::npos);
    unlink(path.c_str());
}

TEST(OfferPrint, LabelsFillSheetsInOrder) {
    std::vector<PostalAddress> labels;
    for (int i = 0; i < 25; ++i) {
        labels.push_back(
            {"100-00" + std::to_string(10 + i), "東京都千代田区", "宛名" + std::to_string(i)});
    }
    auto twelve = RenderLabels(labels, 12);
    auto twenty_four = RenderLabels(labels, 24);
    ASSERT_TRUE(twelve.has_value() && twenty_four.has_value());
    const std::string a = WriteTemp(*twelve), b = WriteTemp(*twenty_four);
    EXPECT_EQ(Pages(a), 3);  // 12 + 12 + 1
    EXPECT_EQ(Pages(b), 2);  // 24 + 1
    const std::string text = Shell("pdftotext " + a + " -");
    EXPECT_LT(text.find("宛名0 様"), text.find("宛名1 様"));
    EXPECT_NE(text.find("〒100-0034"), std::string::npos);
    unlink(a.c_str());
    unlink(b.c_str());
    EXPECT_FALSE(RenderLabels(labels, 10).has_value());
    EXPECT_FALSE(RenderLabels({}, 12).has_value());
}

}  // namespace
}  // namespace kizuna::print
