#include "card/card_image.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kizuna::card {

using core::ErrorCode;
using core::MakeError;

namespace {
constexpr std::string_view kMagic = "kizuna-card-image 1";
constexpr std::size_t kMaxCapacity = 254;  // record numbers are one byte, 1..254
}  // namespace

CardImage CardImage::Blank(std::size_t capacity, std::string_view aid) {
    if (capacity == 0) capacity = 1;
    if (capacity > kMaxCapacity) capacity = kMaxCapacity;
    return CardImage(std::string(aid), capacity);
}

std::string CardImage::Serialize() const {
    std::string out(kMagic);
    out += "\naid " + ToHex(aid_) + "\ncapacity " + std::to_string(capacity_) + "\n";
    for (const auto& record : records_) out += "record " + ToHex(record) + "\n";
    return out;
}

core::Result<CardImage> CardImage::Parse(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::string line;
    if (!std::getline(in, line) || line != kMagic) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "not a Kizuna card image (first line must be '" + std::string(kMagic) + "')");
    }
    std::string aid;
    std::size_t capacity = 0;
    std::vector<std::string> records;
    int line_number = 1;
    while (std::getline(in, line)) {
        ++line_number;
        if (line.empty()) continue;
        const auto space = line.find(' ');
        const std::string key = line.substr(0, space);
        const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
        auto bad = [&](std::string why) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "card image line " + std::to_string(line_number) + ": " + why);
        };
        if (key == "aid") {
            auto bytes = FromHex(value);
            if (!bytes || bytes->size() < 5 || bytes->size() > 16) {
                return bad("aid must be 5 to 16 bytes of hex");
            }
            aid = *bytes;
        } else if (key == "capacity") {
            char* end = nullptr;
            const unsigned long n = std::strtoul(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || n == 0 || n > kMaxCapacity) {
                return bad("capacity must be 1 to " + std::to_string(kMaxCapacity));
            }
            capacity = n;
        } else if (key == "record") {
            auto bytes = FromHex(value);
            if (!bytes || bytes->empty() || bytes->size() > kMaxRecordLength) {
                return bad("record must be 1 to " + std::to_string(kMaxRecordLength) +
                           " bytes of hex");
            }
            records.push_back(std::move(*bytes));
        } else {
            return bad("unknown item '" + key + "'");
        }
    }
    if (aid.empty() || capacity == 0) {
        return MakeError(ErrorCode::kInvalidArgument, "card image lacks its aid or capacity");
    }
    if (records.size() > capacity) {
        return MakeError(ErrorCode::kInvalidArgument, "card image holds more records than slots");
    }
    CardImage image(std::move(aid), capacity);
    image.records_ = std::move(records);
    return image;
}

core::Result<CardImage> CardImage::Load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) return MakeError(ErrorCode::kNotFound, "no card image at " + path);
        return MakeError(ErrorCode::kUnavailable,
                         "cannot read card image " + path + ": " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto image = Parse(text.str());
    if (!image) {
        return MakeError(ErrorCode::kInvalidArgument, path + ": " + image.error().message);
    }
    return image;
}

core::Status CardImage::Save(const std::string& path) const {
    // The card acknowledges a write only once it is durable, like EEPROM: write a temporary
    // file, fsync it, then rename it over the image.
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return MakeError(ErrorCode::kUnavailable,
                         "cannot write card image " + tmp + ": " + std::strerror(errno));
    }
    const std::string text = Serialize();
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
    }
    const bool ok = written == text.size() && ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int rename_err = ok ? errno : err;
        std::remove(tmp.c_str());
        return MakeError(ErrorCode::kUnavailable,
                         "cannot write card image " + path + ": " + std::strerror(rename_err));
    }
    return core::Status::Ok();
}

core::Status CardImage::Append(std::string record) {
    if (record.empty() || record.size() > kMaxRecordLength) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "a card record is 1 to " + std::to_string(kMaxRecordLength) + " bytes");
    }
    if (full()) {
        return MakeError(ErrorCode::kRuleViolation,
                         "the card is full (" + std::to_string(capacity_) + " records)");
    }
    records_.push_back(std::move(record));
    return core::Status::Ok();
}

}  // namespace kizuna::card
