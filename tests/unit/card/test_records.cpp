#include "test_records.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/ids.hpp"

namespace kizuna::card::testing {

std::string CardNumber(int n) {
    std::string digits = std::to_string(n);
    digits = std::string(core::kCardPrefix) + std::string(11 - digits.size(), '0') + digits;
    return digits + core::LuhnCheckDigit(digits);
}

TestHub::TestHub() {
    crypto::InitCrypto();
    keys = crypto::NewSigningKeyPair();
}

core::CardRecord TestHub::SignedRecord(const std::string& card_number, int generation) const {
    core::CardRecord record;
    record.card_number = card_number;
    record.member_id = "1234567890";
    record.generation = generation;
    record.issued_at = core::FromUnixSeconds(1795000000);
    record.issuing_store = "st_shibuyabooks0001";
    auto portion = core::SignedPortion(record);
    if (!portion) throw std::runtime_error(portion.error().message);
    record.signature = crypto::Sign(*portion, keys.secret_key);
    return record;
}

std::string AlterGeneration(std::string image_text) {
    const auto record = image_text.find("record ");
    if (record == std::string::npos) return {};
    const auto at = record + 7 + 2 * 14;
    if (image_text.compare(at, 4, "0001") != 0) return {};
    image_text.replace(at, 4, "0002");
    return image_text;
}

std::string ReadText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kizuna-card-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

}  // namespace kizuna::card::testing
