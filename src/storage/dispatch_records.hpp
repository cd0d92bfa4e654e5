#pragma once
// The records of offer dispatch (issue 18) as storage keeps them: runs, their outbox of
// recipients (one row per run, member and channel), the offers sent to each member, and the
// bulk reads the selection makes a page of members at a time. Plain values; see storage.hpp for
// the methods that read and write them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/member.hpp"
#include "core/time.hpp"

namespace kizuna::storage {

// A dispatch run. `status`: "selecting" (recipient rows being written), "running" (the worker
// sends), "paused" (the failure breaker tripped; resumes at paused_until), "done", "failed".
struct DispatchRun {
    std::string dispatch_id;
    std::string status;
    bool dry_run = false;
    std::vector<std::string> channels;  // "email", "print"
    std::string program_id;             // empty: every program
    int max_per_member = 3;
    bool include_general = false;
    std::string created_by;  // Caller::Describe()
    core::Timestamp created_at{};
    core::Timestamp updated_at{};
    std::optional<core::Timestamp> finished_at;
    std::optional<core::Timestamp> paused_until;
    std::string select_after;  // the last member id the selection has written rows for
    int64_t members = 0;       // members the selection has examined
    std::string error;         // why the run failed or paused
};

// One (run, member, channel) row of a run's outbox. `state`: "pending" (to send, due at
// next_attempt_at), "sending" (claimed by the worker, SMTP in flight), "sent", "ready" (a
// print recipient: in the run's letters and labels), "planned" (a dry run's recipient),
// "skipped" (consent withdrawn or no address at send time), "failed" (permanent: reason),
// "unknown" (the hub stopped while the message was in flight; never sent again by this run).
struct DispatchRecipient {
    std::string dispatch_id;
    std::string member_id;
    std::string channel;
    std::string state;
    std::string items;  // the chosen offers and notices with their reasons, a JSON array as text
    int attempts = 0;
    core::Timestamp next_attempt_at{};
    core::Timestamp updated_at{};
    std::string reason;  // the failure (server reply) or why skipped; empty otherwise
};

// How many recipient rows of a run are in each state, per channel.
struct DispatchStateCount {
    std::string channel;
    std::string state;
    int64_t count = 0;
};

// An offer that reached a member (or may have: "unknown" rows count too), never sent again.
struct SentOffer {
    std::string member_id;
    std::string offer_id;
    std::string channel;
    std::string dispatch_id;
    core::Timestamp sent_at{};
};

// What the selection needs of a member.
struct DispatchMember {
    std::string member_id;
    std::string name;
    std::string postal_code;
    std::string address;
    std::string email;
    core::Consents consents;
    core::MemberStatus status = core::MemberStatus::kActive;
};

// One purchase line's spend, for the selection: a purchase is the rows with its purchase_no.
struct PurchaseSpend {
    std::string member_id;
    int64_t purchase_no = 0;
    std::string store_id;
    std::string program_id;
    core::Timestamp occurred_at{};
    std::string category;  // empty for an uncategorized line (or a purchase without lines)
    int64_t amount = 0;
};

// An open lot of points, for expiry notices.
struct OpenLotSummary {
    std::string member_id;
    std::string program_id;
    int64_t remaining = 0;
    core::Timestamp expires_at{};
};

struct MemberProgram {
    std::string member_id;
    std::string program_id;
};

}  // namespace kizuna::storage
