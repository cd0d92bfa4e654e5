#include "hub/dispatch_service.hpp"

#include <algorithm>
#include <set>

#include "crypto/crypto.hpp"
#include "hub/access.hpp"
#include "hub/hub_context.hpp"
#include "hub/merge_service.hpp"

namespace kizuna::hub {

using core::ErrorCode;
using core::MakeError;

namespace {

constexpr int kMaxOffersPerMember = 10;
constexpr std::string_view kTokenPrefix = "u1";

void AddTo(DispatchCounts& counts, const std::string& state, int64_t n) {
    counts.selected += n;
    if (state == "pending" || state == "sending") counts.pending += n;
    if (state == "sent") counts.sent += n;
    if (state == "ready") counts.ready += n;
    if (state == "planned") counts.planned += n;
    if (state == "skipped") counts.skipped += n;
    if (state == "failed") counts.failed += n;
    if (state == "unknown") counts.unknown += n;
}

bool IsDigits(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

DispatchService::DispatchService(HubContext& context, DispatchOptions options,
                                 std::string dispatch_key)
    : context_(context),
      options_(std::move(options)),
      dispatch_key_(std::move(dispatch_key)),
      public_url_(options_.public_url) {}

void DispatchService::SetPublicUrl(std::string url) {
    std::lock_guard lock(public_url_mutex_);
    public_url_ = std::move(url);
}

core::Result<storage::DispatchRun> DispatchService::Create(const Caller& caller,
                                                           const NewDispatch& request) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "start offer dispatches"));
    if (request.channels.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "name at least one channel", "channels");
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < request.channels.size(); ++i) {
        const std::string& channel = request.channels[i];
        const std::string field = "channels[" + std::to_string(i) + "]";
        if (channel != "email" && channel != "print") {
            return MakeError(ErrorCode::kInvalidArgument,
                             "a channel is \"email\" or \"print\", not \"" + channel + "\"", field);
        }
        if (!seen.insert(channel).second) {
            return MakeError(ErrorCode::kInvalidArgument, channel + " is named twice", field);
        }
    }
    if (request.max_per_member < 1 || request.max_per_member > kMaxOffersPerMember) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "max_per_member must be 1 to " + std::to_string(kMaxOffersPerMember),
                         "max_per_member");
    }
    if (!request.dry_run && seen.contains("email") && options_.smtp.url.empty()) {
        return MakeError(ErrorCode::kRuleViolation,
                         "this hub has no SMTP server: start it with --smtp and --mail-from to "
                         "send email, or ask for a dry run or the print channel",
                         "channels");
    }
    storage::DispatchRun run;
    run.dispatch_id = context_.NewOpaqueId("dsp");
    run.status = "selecting";
    run.dry_run = request.dry_run;
    run.channels = request.channels;
    run.program_id = request.program_id;
    run.max_per_member = request.max_per_member;
    run.include_general = request.include_general;
    run.created_by = caller.Describe();
    run.created_at = run.updated_at = context_.Now();
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        if (!run.program_id.empty()) {
            KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram(run.program_id));
            if (!program) {
                return MakeError(ErrorCode::kNotFound, "no program " + run.program_id,
                                 "program_id");
            }
        }
        if (!run.dry_run) {
            KZ_ASSIGN_OR_RETURN(auto unfinished, txn.UnfinishedDispatches());
            for (const storage::DispatchRun& other : unfinished) {
                if (!other.dry_run) {
                    return MakeError(ErrorCode::kAlreadyExists,
                                     "dispatch " + other.dispatch_id + " is still " + other.status +
                                         "; a new run starts once it is done (a dry run may "
                                         "start at any time)");
                }
            }
        }
        return txn.InsertDispatch(run);
    }));
    if (wake_up_) wake_up_();
    return run;
}

core::Result<DispatchView> DispatchService::ViewOf(storage::ReadTxn& txn,
                                                   storage::DispatchRun run) {
    DispatchView view;
    KZ_ASSIGN_OR_RETURN(auto counts, txn.DispatchStateCounts(run.dispatch_id));
    for (const std::string& channel : run.channels) {
        view.by_channel.emplace_back(channel, DispatchCounts{});
    }
    for (const storage::DispatchStateCount& count : counts) {
        AddTo(view.counts, count.state, count.count);
        for (auto& [channel, channel_counts] : view.by_channel) {
            if (channel == count.channel) AddTo(channel_counts, count.state, count.count);
        }
    }
    view.run = std::move(run);
    return view;
}

core::Result<DispatchView> DispatchService::Get(const Caller& caller,
                                                const std::string& dispatch_id) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "read offer dispatches"));
    DispatchView view;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto run, txn.FindDispatch(dispatch_id));
        if (!run) return MakeError(ErrorCode::kNotFound, "no dispatch " + dispatch_id);
        KZ_ASSIGN_OR_RETURN(view, ViewOf(txn, std::move(*run)));
        return core::Status::Ok();
    }));
    return view;
}

core::Result<std::vector<DispatchView>> DispatchService::List(const Caller& caller, int limit) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "read offer dispatches"));
    std::vector<DispatchView> views;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        views.clear();
        KZ_ASSIGN_OR_RETURN(auto runs, txn.ListDispatches(limit));
        for (storage::DispatchRun& run : runs) {
            KZ_ASSIGN_OR_RETURN(DispatchView view, ViewOf(txn, std::move(run)));
            views.push_back(std::move(view));
        }
        return core::Status::Ok();
    }));
    return views;
}

core::Result<RecipientPage> DispatchService::Recipients(const Caller& caller,
                                                        const std::string& dispatch_id,
                                                        const std::string& cursor, int limit) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "read offer dispatches"));
    std::optional<std::pair<std::string, std::string>> after;
    if (!cursor.empty()) {
        const auto dot = cursor.find('.');
        if (dot == std::string::npos || !IsDigits(cursor.substr(0, dot)) ||
            (cursor.substr(dot + 1) != "email" && cursor.substr(dot + 1) != "print")) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "cursor must be the next_cursor of a previous page", "cursor");
        }
        after.emplace(cursor.substr(0, dot), cursor.substr(dot + 1));
    }
    RecipientPage page;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        page = {};
        KZ_ASSIGN_OR_RETURN(auto run, txn.FindDispatch(dispatch_id));
        if (!run) return MakeError(ErrorCode::kNotFound, "no dispatch " + dispatch_id);
        KZ_ASSIGN_OR_RETURN(auto rows, txn.DispatchRecipients(dispatch_id, "", after, limit + 1));
        for (storage::DispatchRecipient& row : rows) {
            if (static_cast<int>(page.recipients.size()) == limit) {
                const auto& last = page.recipients.back().row;
                page.next_cursor = last.member_id + "." + last.channel;
                break;
            }
            KZ_ASSIGN_OR_RETURN(auto items, ItemsFromJson(row.items));
            page.recipients.push_back(RecipientView{std::move(row), std::move(items)});
        }
        return core::Status::Ok();
    }));
    return page;
}

core::Result<std::vector<std::pair<print::PostalAddress, std::vector<DispatchItem>>>>
DispatchService::PrintRecipients(const std::string& dispatch_id,
                                 std::map<std::string, core::Offer>& offers) {
    std::vector<std::pair<print::PostalAddress, std::vector<DispatchItem>>> out;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        out.clear();
        KZ_ASSIGN_OR_RETURN(auto run, txn.FindDispatch(dispatch_id));
        if (!run) return MakeError(ErrorCode::kNotFound, "no dispatch " + dispatch_id);
        std::optional<std::pair<std::string, std::string>> after;
        constexpr int kPage = 1000;
        while (true) {
            KZ_ASSIGN_OR_RETURN(auto rows,
                                txn.DispatchRecipients(dispatch_id, "print", after, kPage));
            for (const storage::DispatchRecipient& row : rows) {
                if (row.state != "ready" && row.state != "planned") continue;
                KZ_ASSIGN_OR_RETURN(auto member, txn.FindMember(row.member_id));
                if (!member) continue;
                KZ_ASSIGN_OR_RETURN(auto items, ItemsFromJson(row.items));
                for (const DispatchItem& item : items) {
                    if (item.offer_id.empty() || offers.contains(item.offer_id)) continue;
                    KZ_ASSIGN_OR_RETURN(auto offer, txn.FindOffer(item.offer_id));
                    if (offer) offers.emplace(item.offer_id, std::move(*offer));
                }
                out.emplace_back(
                    print::PostalAddress{member->profile.postal_code, member->profile.address,
                                         member->profile.name},
                    std::move(items));
            }
            if (static_cast<int>(rows.size()) < kPage) break;
            after.emplace(rows.back().member_id, rows.back().channel);
        }
        if (out.empty()) {
            return MakeError(ErrorCode::kRuleViolation,
                             "dispatch " + dispatch_id + " has no print recipients" +
                                 (run->status == "selecting" ? " yet (still selecting)" : ""));
        }
        return core::Status::Ok();
    }));
    return out;
}

core::Result<std::string> DispatchService::Letters(const Caller& caller,
                                                   const std::string& dispatch_id) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "print offer dispatches"));
    std::map<std::string, core::Offer> offers;
    KZ_ASSIGN_OR_RETURN(auto recipients, PrintRecipients(dispatch_id, offers));
    const core::Timestamp now = context_.Now();
    std::vector<print::Letter> letters;
    letters.reserve(recipients.size());
    for (const auto& [address, items] : recipients) {
        letters.push_back(BuildOfferLetter(address, items, offers, now));
    }
    print::LetterOptions options;
    options.sender = options_.sender.name;
    options.opt_out_notice =
        "このご案内は、郵送でのご案内に同意いただいた会員の方にお送りしています。"
        "今後の郵送を希望されない場合は、" +
        options_.sender.contact + " までご連絡ください。送信者: " + options_.sender.name;
    return print::RenderLetters(letters, options);
}

core::Result<std::string> DispatchService::Labels(const Caller& caller,
                                                  const std::string& dispatch_id, int per_page) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "print offer dispatches"));
    if (per_page != 12 && per_page != 24) {
        return MakeError(ErrorCode::kInvalidArgument, "per_page must be 12 or 24", "per_page");
    }
    std::map<std::string, core::Offer> offers;
    KZ_ASSIGN_OR_RETURN(auto recipients, PrintRecipients(dispatch_id, offers));
    std::vector<print::PostalAddress> labels;
    labels.reserve(recipients.size());
    for (auto& [address, items] : recipients) labels.push_back(std::move(address));
    return print::RenderLabels(labels, per_page);
}

std::string DispatchService::UnsubscribeToken(const std::string& member_id,
                                              const std::string& channel) const {
    const std::string payload = std::string(kTokenPrefix) + "." + member_id + "." + channel;
    return payload + "." + crypto::HmacSha256Hex(dispatch_key_, payload);
}

std::string DispatchService::UnsubscribeUrl(const std::string& member_id,
                                            const std::string& channel) const {
    std::string base;
    {
        std::lock_guard lock(public_url_mutex_);
        base = public_url_;
    }
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/v1/unsubscribe?token=" + UnsubscribeToken(member_id, channel);
}

core::Result<std::string> DispatchService::Unsubscribe(const std::string& token) {
    auto refused = [] {
        return MakeError(ErrorCode::kNotFound,
                         "this unsubscribe link is not valid; ask the sender to stop the mail");
    };
    // u1.<member>.<channel>.<mac>
    const auto last_dot = token.rfind('.');
    if (last_dot == std::string::npos) return refused();
    const std::string payload = token.substr(0, last_dot);
    if (!crypto::ConstantTimeEquals(token.substr(last_dot + 1),
                                    crypto::HmacSha256Hex(dispatch_key_, payload))) {
        return refused();
    }
    const auto first_dot = payload.find('.');
    const auto second_dot = payload.rfind('.');
    if (first_dot == std::string::npos || second_dot <= first_dot ||
        payload.substr(0, first_dot) != kTokenPrefix) {
        return refused();
    }
    const std::string member_id = payload.substr(first_dot + 1, second_dot - first_dot - 1);
    const std::string channel = payload.substr(second_dot + 1);
    if (channel != "email" && channel != "print") return refused();
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto member, txn.FindMember(member_id));
        if (!member) return refused();
        // A link mailed to a member merged away since speaks for the person, who now is the
        // member it was merged into (at the end of the chain of merges).
        if (member->status == core::MemberStatus::kClosed) {
            KZ_ASSIGN_OR_RETURN(auto survivor, SurvivorOf(txn, member->member_id));
            if (survivor) {
                KZ_ASSIGN_OR_RETURN(member, txn.FindMember(*survivor));
                if (!member) return refused();
            }
        }
        bool& consent =
            channel == "email" ? member->consents.email_offers : member->consents.postal_offers;
        if (!consent) return core::Status::Ok();  // already off: the same answer
        consent = false;
        KZ_RETURN_IF_ERROR(txn.UpdateMember(*member));
        return txn.InsertAudit(storage::AuditRecord{"member:" + member_id, "unsubscribe_" + channel,
                                                    member->member_id, context_.Now()});
    }));
    return channel;
}

}  // namespace kizuna::hub
