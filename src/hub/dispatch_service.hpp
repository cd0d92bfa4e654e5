#pragma once
// Offer dispatch (seed function 8, issue 18): the operator starts a run that picks offers for
// every consenting member from their purchase history (core/offer_selection) and sends them by
// email or prints them as letters and labels.
//
// A run is an outbox. Create stores the run ("selecting"); the DispatchRunner (run by the
// DispatchWorker thread) then selects a page of members at a time and, in one write per page,
// adds one recipient row per (run, member, channel) that got something and moves the run's
// member cursor, so a crash resumes the selection at the page it was on. Email rows are then
// sent (dispatch_runner.hpp says how each row is claimed, and why no member is mailed twice by
// one run); print rows are "ready" at once and make the run's letters and labels. A dry run
// writes "planned" rows and sends nothing. Offers that reach a member are recorded
// (offers_sent) and never chosen for them again.
//
// Unsubscribe links: "<public_url>/v1/unsubscribe?token=u1.<member>.<channel>.<mac>", the mac
// being HMAC-SHA256 under the hub's dispatch key (DIR/dispatch.key, made on first start). The
// token needs no login and does not expire: a List-Unsubscribe link must keep working.
//
// Thread-safety: every method may be called from any thread.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "hub/caller.hpp"
#include "hub/dispatch_content.hpp"
#include "mail/smtp_sender.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext;

struct DispatchOptions {
    // Start the dispatch worker with the hub (`kizuna hub serve`); off, runs are only stored
    // and advanced by whoever drives a DispatchRunner (tests).
    bool run_worker = false;
    // SMTP for email runs; an empty URL refuses runs that would send email.
    mail::SmtpConfig smtp;
    // Makes the worker's sender instead of an SmtpSender for `smtp` (tests script the server).
    std::function<std::unique_ptr<mail::MailSender>()> make_sender;
    DispatchSender sender;   // From:, the sender's name and the opt-out contact
    std::string public_url;  // "https://hub.example.jp": the base of unsubscribe links
    double per_second = 50;  // messages per second at most (--dispatch-rate)
    int breaker_limit = 5;   // consecutive failures that pause a run ...
    std::chrono::seconds breaker_pause{60};  // ... for this long
    std::chrono::seconds retry_base{5};      // first wait after a 4xx, doubling per attempt
    std::chrono::seconds retry_cap{600};
    int max_attempts = 8;  // a recipient deferred this many times has failed
    int page_size = 500;   // members selected per write
    std::chrono::milliseconds poll_interval{500};
    // The dispatch worker thread's nice value (0..19, Linux: per thread). A run is background
    // work: when the machine's cores are busy with purchases, it gets what they leave
    // (bench/README.md, "Offer dispatch at scale", measured what it costs purchases).
    int worker_nice = 19;
    // While the hub's writer runs other work (purchases) beside a step of a run, the worker
    // pauses after the step so that its steps take at most this share of the time (1: never
    // pause). Unlike a lower nice value this shortens nothing the worker holds: it pauses with
    // no read transaction open, so it never keeps the log from restarting.
    double busy_share = 0.5;
};

struct NewDispatch {
    std::vector<std::string> channels;  // "email", "print"; at least one, no repeats
    bool dry_run = false;
    std::string program_id;  // empty: every program
    int max_per_member = 3;  // 1..10
    bool include_general = false;
};

// Rows in each state; `selected` is every row.
struct DispatchCounts {
    int64_t selected = 0;
    int64_t pending = 0;  // pending + sending
    int64_t sent = 0;
    int64_t ready = 0;    // print rows
    int64_t planned = 0;  // dry run rows
    int64_t skipped = 0;
    int64_t failed = 0;
    int64_t unknown = 0;
};

struct DispatchView {
    storage::DispatchRun run;
    DispatchCounts counts;                                           // all channels
    std::vector<std::pair<std::string, DispatchCounts>> by_channel;  // in run.channels order
};

struct RecipientView {
    storage::DispatchRecipient row;
    std::vector<DispatchItem> items;
};

struct RecipientPage {
    std::vector<RecipientView> recipients;
    std::string next_cursor;  // empty at the end
};

inline constexpr int kMaxDispatchList = 200;
inline constexpr int kMaxRecipientPage = 500;

class DispatchService {
  public:
    // `dispatch_key` is the HMAC key of unsubscribe tokens.
    DispatchService(HubContext& context, DispatchOptions options, std::string dispatch_key);

    // Operator only. Errors: kInvalidArgument naming the field; kNotFound (program_id);
    // kRuleViolation ("channels") when a real email run is asked of a hub without SMTP;
    // kAlreadyExists when another run that sends is not finished yet (runs one at a time, so
    // two runs never pick the same offer for one member).
    core::Result<storage::DispatchRun> Create(const Caller& caller, const NewDispatch& request);
    core::Result<DispatchView> Get(const Caller& caller, const std::string& dispatch_id);
    // Newest first.
    core::Result<std::vector<DispatchView>> List(const Caller& caller, int limit);
    // By member id; `cursor` is a page's next_cursor. Errors: kNotFound, kInvalidArgument.
    core::Result<RecipientPage> Recipients(const Caller& caller, const std::string& dispatch_id,
                                           const std::string& cursor, int limit);
    // PDF bytes: one A4 letter per print recipient / labels, in member id order.
    // Errors: kNotFound; kRuleViolation when the run has no print recipients (yet).
    core::Result<std::string> Letters(const Caller& caller, const std::string& dispatch_id);
    core::Result<std::string> Labels(const Caller& caller, const std::string& dispatch_id,
                                     int per_page);

    // Anyone holding the token: turns the member's consent for the token's channel off at
    // once (of the member it was merged into, for a member merged away). Returns the channel.
    // Errors: kNotFound for a token this hub did not make or a member that no longer exists.
    core::Result<std::string> Unsubscribe(const std::string& token);
    std::string UnsubscribeToken(const std::string& member_id, const std::string& channel) const;
    std::string UnsubscribeUrl(const std::string& member_id, const std::string& channel) const;

    const DispatchOptions& options() const { return options_; }
    // The base of unsubscribe links, when it is known only once the server listens.
    void SetPublicUrl(std::string url);
    // Called after Create stored a run (the worker wakes up); set once, before serving.
    void SetWakeUp(std::function<void()> wake_up) { wake_up_ = std::move(wake_up); }

  private:
    core::Result<DispatchView> ViewOf(storage::ReadTxn& txn, storage::DispatchRun run);
    core::Result<std::vector<std::pair<print::PostalAddress, std::vector<DispatchItem>>>>
    PrintRecipients(const std::string& dispatch_id, std::map<std::string, core::Offer>& offers);

    HubContext& context_;
    DispatchOptions options_;
    std::string dispatch_key_;
    mutable std::mutex public_url_mutex_;
    std::string public_url_;  // options_.public_url until SetPublicUrl
    std::function<void()> wake_up_;
};

}  // namespace kizuna::hub
