#pragma once
// Mail the hub sends to members (enrollment confirmations), queued as files: one RFC 5322
// message per file (`<time>-<sequence>-<random>.eml`, names sorting in queue order, UTF-8, mode
// 0600) in the spool directory, for the mail sender to deliver (SMTP arrives with the dispatch
// feature; until then an operator, or a test, reads the files). A message is queued when its file
// is durable. Thread-safety: Queue may be called from any thread.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::hub {

struct OutgoingMail {
    std::string to;  // an address checked by core::ValidateProfile
    std::string subject;
    std::string body;  // plain text
};

class MailSpool {
  public:
    // `directory` is created (mode 0700) on the first message.
    explicit MailSpool(std::filesystem::path directory) : directory_(std::move(directory)) {}

    // Errors: kUnavailable (the file system).
    core::Status Queue(const OutgoingMail& mail, core::Timestamp now);

    const std::filesystem::path& directory() const { return directory_; }

  private:
    std::filesystem::path directory_;
    std::atomic<uint64_t> queued_{0};
};

}  // namespace kizuna::hub
