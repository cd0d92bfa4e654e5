#pragma once
// Mail the hub sends to members (enrollment confirmations), queued as files: one JSON document
// per message (`<time>-<sequence>-<random>.json`, names sorting in queue order, UTF-8, mode 0600)
// in the spool directory: {"to", "subject", "text", "created_at"} (unix seconds). The structured
// mail is kept, not MIME: the delivery worker (mail_delivery.hpp) renders it with src/mail's
// renderer when it sends, so the codebase has one MIME renderer. A message is queued when its
// file is durable. Thread-safety: Queue may be called from any thread.

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

// A message read back from its spool file.
struct SpooledMail {
    OutgoingMail mail;
    core::Timestamp created_at{};
};

class MailSpool {
  public:
    // `directory` is created (mode 0700) on the first message.
    explicit MailSpool(std::filesystem::path directory) : directory_(std::move(directory)) {}

    // Errors: kUnavailable (the file system).
    core::Status Queue(const OutgoingMail& mail, core::Timestamp now);

    const std::filesystem::path& directory() const { return directory_; }

    // The file name suffix of a queued message.
    static constexpr std::string_view kSuffix = ".json";
    // The mail in a spool file's content. Errors: kInvalidArgument (not a spool document).
    static core::Result<SpooledMail> Parse(std::string_view content);

  private:
    std::filesystem::path directory_;
    std::atomic<uint64_t> queued_{0};
};

}  // namespace kizuna::hub
