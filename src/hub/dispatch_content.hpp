#pragma once
// What a dispatch says to one member: the chosen items as the recipient row keeps them (JSON),
// and the email (plain text + HTML, Japanese, with the sender's identity and the opt-out contact
// that 特定電子メール法 requires) and the printed letter made from them. Pure: no I/O.
// Thread-safety: plain functions.

#include <map>
#include <string>
#include <vector>

#include "core/offer.hpp"
#include "core/offer_selection.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "mail/mail_message.hpp"
#include "print/offer_print.hpp"

namespace kizuna::hub {

// One chosen item as the recipient row stores it, with its reasons already worded (store and
// program names in place of ids).
struct DispatchItem {
    std::string kind;  // "offer" or "expiry_notice"
    std::string offer_id;
    std::string title;  // the offer's title; empty for a notice
    std::string store_id;
    std::string store_name;
    std::string program_id;
    std::string program_name;
    double score = 0;
    int64_t points = 0;            // notice: points expiring
    core::Timestamp expires_at{};  // notice: the soonest expiry
    core::Timestamp valid_to{};    // offer: end of validity (exclusive)
    std::vector<core::Reason> reasons;
    std::string explanation_en;  // every reason, "; "-joined
    std::string explanation_ja;  // every reason, "、"-joined
};

// Names of stores and programs, to word the reasons and the letters.
struct DispatchNames {
    std::map<std::string, std::string> stores;    // store id -> name
    std::map<std::string, std::string> programs;  // program id -> name
    std::string StoreName(const std::string& id) const;
    std::string ProgramName(const std::string& id) const;
};

// The chosen item as stored: names filled in from `names`, the offer's title and validity from
// `offers` (by id), the reasons worded.
DispatchItem MakeDispatchItem(const core::ChosenItem& chosen, const DispatchNames& names,
                              const std::map<std::string, core::Offer>& offers);

// The items <-> the JSON array text in dispatch_recipients.items.
std::string ItemsToJson(const std::vector<DispatchItem>& items);
// The same text built through nlohmann's values, as ItemsToJson was before it wrote the text
// directly (tests compare the two).
std::string ItemsToJsonThroughNlohmann(const std::vector<DispatchItem>& items);
core::Result<std::vector<DispatchItem>> ItemsFromJson(const std::string& text);

// Who sends, for the email's From and the identity every message and letter states.
struct DispatchSender {
    mail::Mailbox from;   // From:, and the reply address
    std::string name;     // the sender's name as printed, e.g. "Kizuna 会員サービス"
    std::string contact;  // where to ask to stop: an address or a phone number
};

// The offer mail to one member. `offers` gives each offer's body; `unsubscribe_url` is the
// member's one-click link. Subject, text and HTML in Japanese.
mail::MailMessage BuildOfferMail(const std::string& member_name, const std::string& to_address,
                                 const std::vector<DispatchItem>& items,
                                 const std::map<std::string, core::Offer>& offers,
                                 const DispatchSender& sender, const std::string& unsubscribe_url);

// The letter to one member, dated `date` (printed in Japan's time zone).
print::Letter BuildOfferLetter(const print::PostalAddress& to,
                               const std::vector<DispatchItem>& items,
                               const std::map<std::string, core::Offer>& offers,
                               core::Timestamp date);

// "2026年12月7日" for `t` in Japan Standard Time (UTC+9, no daylight saving).
std::string JapaneseDate(core::Timestamp t);

}  // namespace kizuna::hub
