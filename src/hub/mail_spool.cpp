#include "hub/mail_spool.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "hub/private_file.hpp"

namespace kizuna::hub {

core::Status MailSpool::Queue(const OutgoingMail& mail, core::Timestamp now) {
    if (::mkdir(directory_.c_str(), 0700) != 0 && errno != EEXIST) {
        return core::MakeError(
            core::ErrorCode::kUnavailable,
            "cannot create the mail spool " + directory_.string() + ": " + std::strerror(errno));
    }
    const nlohmann::json document = {{"to", mail.to},
                                     {"subject", mail.subject},
                                     {"text", mail.body},
                                     {"created_at", core::ToUnixSeconds(now)}};
    // Names sort in the order the messages were queued: the time, then this process's count.
    char order[48];
    std::snprintf(order, sizeof order, "%012lld-%010llu-",
                  static_cast<long long>(core::ToUnixSeconds(now)),
                  static_cast<unsigned long long>(queued_.fetch_add(1) + 1));
    const std::string name = order + crypto::NewSecretToken(9) + std::string(kSuffix);
    return WritePrivateFile(
        directory_ / name,
        document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

core::Result<SpooledMail> MailSpool::Parse(std::string_view content) {
    const nlohmann::json document = nlohmann::json::parse(content, nullptr, false);
    if (!document.is_object() || !document.contains("to") || !document["to"].is_string() ||
        !document.contains("subject") || !document["subject"].is_string() ||
        !document.contains("text") || !document["text"].is_string() ||
        !document.contains("created_at") || !document["created_at"].is_number_integer()) {
        return core::MakeError(core::ErrorCode::kInvalidArgument,
                               "not a spooled mail: a JSON object with the strings to, subject, "
                               "text and the integer created_at is expected");
    }
    SpooledMail spooled;
    spooled.mail.to = document["to"].get<std::string>();
    spooled.mail.subject = document["subject"].get<std::string>();
    spooled.mail.body = document["text"].get<std::string>();
    spooled.created_at = core::FromUnixSeconds(document["created_at"].get<int64_t>());
    return spooled;
}

}  // namespace kizuna::hub
