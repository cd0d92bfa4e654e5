#include "hub/dispatch_content.hpp"

#include <charconv>
#include <chrono>

#include <nlohmann/json.hpp>

#include "core/json_string.hpp"

namespace kizuna::hub {

using nlohmann::json;

namespace {

constexpr std::string_view kReasonKinds[] = {"category_bought", "store_visited", "program_visited",
                                             "general_offer", "points_expiring"};

std::string ReasonKindName(core::ReasonKind kind) {
    return std::string(kReasonKinds[static_cast<int>(kind)]);
}

std::optional<core::ReasonKind> ParseReasonKind(const std::string& text) {
    for (std::size_t i = 0; i < std::size(kReasonKinds); ++i) {
        if (kReasonKinds[i] == text) return static_cast<core::ReasonKind>(i);
    }
    return std::nullopt;
}

std::string HtmlEscape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string OfferBody(const DispatchItem& item, const std::map<std::string, core::Offer>& offers) {
    auto it = offers.find(item.offer_id);
    return it == offers.end() ? std::string() : it->second.body;
}

// The last day an offer is valid ("…まで"), valid_to being exclusive.
std::string ValidUntil(const DispatchItem& item) {
    if (item.valid_to == core::Timestamp{}) return {};
    return JapaneseDate(item.valid_to - std::chrono::seconds(1)) + "まで";
}

std::string NoticeText(const DispatchItem& item) {
    return item.program_name + "の" + std::to_string(item.points) + "ポイントが" +
           JapaneseDate(item.expires_at) + "に失効します。お早めにご利用ください。";
}

}  // namespace

std::string DispatchNames::StoreName(const std::string& id) const {
    auto it = stores.find(id);
    return it == stores.end() ? id : it->second;
}

std::string DispatchNames::ProgramName(const std::string& id) const {
    auto it = programs.find(id);
    return it == programs.end() ? id : it->second;
}

DispatchItem MakeDispatchItem(const core::ChosenItem& chosen, const DispatchNames& names,
                              const std::map<std::string, core::Offer>& offers) {
    DispatchItem item;
    item.kind = chosen.kind == core::ItemKind::kOffer ? "offer" : "expiry_notice";
    item.offer_id = chosen.offer_id;
    item.program_id = chosen.program_id;
    item.program_name = names.ProgramName(chosen.program_id);
    item.score = chosen.score;
    item.points = chosen.points;
    item.expires_at = chosen.expires_at;
    item.reasons = chosen.reasons;
    if (auto it = offers.find(chosen.offer_id); it != offers.end()) {
        item.title = it->second.title;
        item.store_id = it->second.store_id;
        item.store_name = names.StoreName(it->second.store_id);
        item.valid_to = it->second.valid_to;
    }
    for (const core::Reason& reason : chosen.reasons) {
        core::Reason worded = reason;
        if (reason.kind == core::ReasonKind::kStoreVisited) {
            worded.subject = "「" + names.StoreName(reason.subject) + "」";
        } else if (reason.kind == core::ReasonKind::kProgramVisited ||
                   reason.kind == core::ReasonKind::kGeneralOffer) {
            worded.subject = "「" + names.ProgramName(reason.subject) + "」";
        }
        const std::string en = core::DescribeReason(worded, core::ReasonLanguage::kEnglish);
        const std::string ja = core::DescribeReason(worded, core::ReasonLanguage::kJapanese);
        item.explanation_en += (item.explanation_en.empty() ? "" : "; ") + en;
        item.explanation_ja += (item.explanation_ja.empty() ? "" : "、") + ja;
    }
    return item;
}

namespace {

// The items' JSON written straight into one string: the selection writes one array per member
// and channel, and building nlohmann values for it took a fifth of the selection's CPU
// (bench/README.md, "Offer dispatch at scale"). The text is what nlohmann's dump() makes of the
// same values (keys in sorted order, the same escapes and number format), so rows written
// before and after read alike; dispatch_service_test compares the two.
class ItemsWriter {
  public:
    void String(std::string_view text) {
        if (!core::AppendJsonString(out_, text)) {  // nlohmann's replacement of bad bytes
            out_ += json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
        }
    }
    void Int(int64_t value) {
        char text[24];
        out_.append(text, std::to_chars(text, text + sizeof text, value).ptr);
    }
    void Double(double value) { out_ += json(value).dump(); }  // nlohmann's number format
    // `"key":` after a comma unless it is the object's first key.
    void Key(std::string_view key, bool first = false) {
        if (!first) out_ += ',';
        out_ += '"';
        out_ += key;
        out_ += "\":";
    }
    void Raw(char c) { out_ += c; }
    std::string Take() { return std::move(out_); }

  private:
    std::string out_;
};

}  // namespace

std::string ItemsToJson(const std::vector<DispatchItem>& items) {
    ItemsWriter w;
    w.Raw('[');
    bool first_item = true;
    for (const DispatchItem& item : items) {
        if (!first_item) w.Raw(',');
        first_item = false;
        const bool offer = item.kind == "offer";
        w.Raw('{');
        // Keys in sorted order, as nlohmann's object (a std::map) writes them.
        if (!offer) {
            w.Key("expires_at", true);
            w.Int(core::ToUnixSeconds(item.expires_at));
        }
        w.Key("explanation", offer);
        w.String(item.explanation_en);
        w.Key("explanation_ja");
        w.String(item.explanation_ja);
        w.Key("kind");
        w.String(item.kind);
        if (offer) {
            w.Key("offer_id");
            w.String(item.offer_id);
        } else {
            w.Key("points");
            w.Int(item.points);
        }
        w.Key("program_id");
        w.String(item.program_id);
        w.Key("program_name");
        w.String(item.program_name);
        w.Key("reasons");
        w.Raw('[');
        bool first_reason = true;
        for (const core::Reason& r : item.reasons) {
            if (!first_reason) w.Raw(',');
            first_reason = false;
            w.Raw('{');
            w.Key("count", true);
            w.Int(r.count);
            w.Key("days");
            w.Int(r.days);
            w.Key("kind");
            w.String(ReasonKindName(r.kind));
            w.Key("points");
            w.Int(r.points);
            w.Key("subject");
            w.String(r.subject);
            w.Raw('}');
        }
        w.Raw(']');
        if (offer) {
            w.Key("score");
            w.Double(item.score);
            w.Key("store_id");
            w.String(item.store_id);
            w.Key("store_name");
            w.String(item.store_name);
            w.Key("title");
            w.String(item.title);
            w.Key("valid_to");
            w.Int(core::ToUnixSeconds(item.valid_to));
        }
        w.Raw('}');
    }
    w.Raw(']');
    return w.Take();
}

// What ItemsToJson wrote with nlohmann's values, kept to test that the text did not change.
std::string ItemsToJsonThroughNlohmann(const std::vector<DispatchItem>& items) {
    json array = json::array();
    for (const DispatchItem& item : items) {
        json reasons = json::array();
        for (const core::Reason& r : item.reasons) {
            reasons.push_back({{"kind", ReasonKindName(r.kind)},
                               {"subject", r.subject},
                               {"count", r.count},
                               {"days", r.days},
                               {"points", r.points}});
        }
        json j = {{"kind", item.kind},
                  {"program_id", item.program_id},
                  {"program_name", item.program_name},
                  {"reasons", std::move(reasons)},
                  {"explanation", item.explanation_en},
                  {"explanation_ja", item.explanation_ja}};
        if (item.kind == "offer") {
            j["offer_id"] = item.offer_id;
            j["title"] = item.title;
            j["store_id"] = item.store_id;
            j["store_name"] = item.store_name;
            j["score"] = item.score;
            j["valid_to"] = core::ToUnixSeconds(item.valid_to);
        } else {
            j["points"] = item.points;
            j["expires_at"] = core::ToUnixSeconds(item.expires_at);
        }
        array.push_back(std::move(j));
    }
    return array.dump(-1, ' ', false, json::error_handler_t::replace);
}

core::Result<std::vector<DispatchItem>> ItemsFromJson(const std::string& text) {
    json array = json::parse(text, nullptr, false);
    if (!array.is_array()) {
        return core::MakeError(core::ErrorCode::kInternal, "a recipient's items are not JSON");
    }
    std::vector<DispatchItem> items;
    try {
        for (const json& j : array) {
            DispatchItem item;
            item.kind = j.at("kind").get<std::string>();
            item.program_id = j.value("program_id", "");
            item.program_name = j.value("program_name", "");
            item.explanation_en = j.value("explanation", "");
            item.explanation_ja = j.value("explanation_ja", "");
            item.offer_id = j.value("offer_id", "");
            item.title = j.value("title", "");
            item.store_id = j.value("store_id", "");
            item.store_name = j.value("store_name", "");
            item.score = j.value("score", 0.0);
            item.valid_to = core::FromUnixSeconds(j.value("valid_to", int64_t{0}));
            item.points = j.value("points", int64_t{0});
            item.expires_at = core::FromUnixSeconds(j.value("expires_at", int64_t{0}));
            for (const json& r : j.value("reasons", json::array())) {
                auto kind = ParseReasonKind(r.value("kind", ""));
                if (!kind) continue;
                item.reasons.push_back(core::Reason{*kind, r.value("subject", ""),
                                                    r.value("count", 0), r.value("days", 0),
                                                    r.value("points", int64_t{0})});
            }
            items.push_back(std::move(item));
        }
    } catch (const json::exception& e) {
        return core::MakeError(core::ErrorCode::kInternal,
                               std::string("a recipient's items are malformed: ") + e.what());
    }
    return items;
}

mail::MailMessage BuildOfferMail(const std::string& member_name, const std::string& to_address,
                                 const std::vector<DispatchItem>& items,
                                 const std::map<std::string, core::Offer>& offers,
                                 const DispatchSender& sender, const std::string& unsubscribe_url) {
    mail::MailMessage message;
    message.from = sender.from;
    message.to.address = to_address;
    message.unsubscribe_url = unsubscribe_url;

    std::string first_title;
    for (const DispatchItem& item : items) {
        if (item.kind == "offer") {
            first_title = item.title;
            break;
        }
    }
    message.subject = first_title.empty() ? "【" + sender.name + "】ポイント失効のお知らせ"
                                          : "【" + sender.name + "】" + member_name +
                                                "様へのおすすめ: " + first_title;

    std::string text = member_name + " 様\n\nいつもご利用いただき、誠にありがとうございます。\n" +
                       "これまでのお買い物をもとに、次のご案内をお選びしました。\n\n";
    std::string html =
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"></head><body "
        "style=\"font-family:sans-serif\"><p>" +
        HtmlEscape(member_name) +
        " 様</p><p>いつもご利用いただき、誠にありがとうございます。<br>"
        "これまでのお買い物をもとに、次のご案内をお選びしました。</p>";
    for (const DispatchItem& item : items) {
        if (item.kind == "offer") {
            const std::string body = OfferBody(item, offers);
            std::string where = item.store_name;
            if (const std::string until = ValidUntil(item); !until.empty()) {
                where += "・" + until;
            }
            text += "■ " + item.title + "（" + where + "）\n";
            if (!body.empty()) text += body + "\n";
            text += "お選びした理由: " + item.explanation_ja + "\n\n";
            html += "<h3>" + HtmlEscape(item.title) + "</h3><p style=\"color:#555\">" +
                    HtmlEscape(where) + "</p>";
            if (!body.empty()) html += "<p>" + HtmlEscape(body) + "</p>";
            html += "<p style=\"color:#777;font-size:small\">お選びした理由: " +
                    HtmlEscape(item.explanation_ja) + "</p>";
        } else {
            text += "■ ポイント失効のお知らせ\n" + NoticeText(item) + "\n\n";
            html += "<h3>ポイント失効のお知らせ</h3><p>" + HtmlEscape(NoticeText(item)) + "</p>";
        }
    }
    // 特定電子メール法 (Act on Regulation of Transmission of Specified Electronic Mail): the
    // sender's name, an address to ask to stop, and how to stop.
    const std::string footer_text =
        "――――――――――――――――――――\n"
        "送信者: " +
        sender.name + " <" + sender.from.address +
        ">\n"
        "このメールは、オファーのメール配信に同意いただいた会員の方にお送りしています。\n"
        "配信の停止: " +
        unsubscribe_url +
        "\n"
        "配信停止・お問い合わせの連絡先: " +
        sender.contact + "\n";
    text += footer_text;
    html +=
        "<hr><p style=\"color:#555;font-size:small\">送信者: " + HtmlEscape(sender.name) + " &lt;" +
        HtmlEscape(sender.from.address) +
        "&gt;<br>このメールは、オファーのメール配信に同意いただいた会員の方にお送りしています。"
        "<br><a href=\"" +
        HtmlEscape(unsubscribe_url) +
        "\">配信を停止する</a><br>配信停止・お問い合わせの連絡先: " + HtmlEscape(sender.contact) +
        "</p></body></html>";
    message.text = std::move(text);
    message.html = std::move(html);
    return message;
}

print::Letter BuildOfferLetter(const print::PostalAddress& to,
                               const std::vector<DispatchItem>& items,
                               const std::map<std::string, core::Offer>& offers,
                               core::Timestamp date) {
    print::Letter letter;
    letter.to = to;
    letter.date = JapaneseDate(date);
    for (const DispatchItem& item : items) {
        print::LetterItem printed;
        if (item.kind == "offer") {
            printed.title = item.title;
            printed.body = OfferBody(item, offers);
            printed.store_name = item.store_name;
            printed.valid_until = ValidUntil(item);
            printed.reason = item.explanation_ja;
        } else {
            printed.title = "ポイント失効のお知らせ";
            printed.body = NoticeText(item);
            printed.store_name = item.program_name;
        }
        letter.items.push_back(std::move(printed));
    }
    return letter;
}

std::string JapaneseDate(core::Timestamp t) {
    const auto local = std::chrono::floor<std::chrono::days>(t + std::chrono::hours(9));
    const std::chrono::year_month_day ymd{local};
    return std::to_string(static_cast<int>(ymd.year())) + "年" +
           std::to_string(static_cast<unsigned>(ymd.month())) + "月" +
           std::to_string(static_cast<unsigned>(ymd.day())) + "日";
}

}  // namespace kizuna::hub
