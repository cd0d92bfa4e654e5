#pragma once
// CardImage: the contents of one write-once Kizuna chip card — the application id it answers
// to, and an append-only linear record file with a fixed number of record slots. The card
// simulator (tools/card_sim) and FileCardReader both keep a card as a CardImage in a file, so a
// card behaves the same through pcscd+vpcd and through a plain file.
//
// File form (text, one item per line, so a test or a person can inspect and alter a card):
//   kizuna-card-image 1
//   aid F04B495A554E4101
//   capacity 4
//   record <hex bytes>      (zero or more, oldest first)
// Thread-safety: a plain value; Save is atomic (write to a temporary file, then rename).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "card/apdu.hpp"
#include "core/result.hpp"

namespace kizuna::card {

class CardImage {
  public:
    static constexpr std::size_t kDefaultCapacity = 4;
    static constexpr std::size_t kMaxRecordLength = 200;  // a signed record is at most 129 bytes

    // A blank card: no records. `aid` other than kKizunaAid makes a foreign card (tests).
    static CardImage Blank(std::size_t capacity = kDefaultCapacity,
                           std::string_view aid = kKizunaAid);

    // Errors: kNotFound when the file does not exist; kInvalidArgument when it is not a card image.
    static core::Result<CardImage> Load(const std::string& path);
    // Writes atomically. Errors: kUnavailable when the file cannot be written.
    core::Status Save(const std::string& path) const;

    std::string Serialize() const;
    static core::Result<CardImage> Parse(std::string_view text);

    const std::string& aid() const { return aid_; }
    std::size_t capacity() const { return capacity_; }
    const std::vector<std::string>& records() const { return records_; }
    bool full() const { return records_.size() >= capacity_; }

    // Appends one record. The only mutation a card allows. Errors: kRuleViolation when full,
    // kInvalidArgument for an empty or over-long record.
    core::Status Append(std::string record);

  private:
    CardImage(std::string aid, std::size_t capacity) : aid_(std::move(aid)), capacity_(capacity) {}

    std::string aid_;
    std::size_t capacity_;
    std::vector<std::string> records_;
};

}  // namespace kizuna::card
