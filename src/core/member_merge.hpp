#pragma once
// Member merge (issue 19): one person with two member records. Everything of the `from` member
// moves to the surviving member: purchases, redemptions, refunds (with their purchases), ledger
// entries, lots (each with its expiry), balances (added per program), reservations, campaign
// grants, held tiers, programs, and the offers a dispatch already sent (so the person is never
// sent one of them again); the from member's cards are revoked and point to the survivor, its
// sessions and unused password-reset links end, its dispatch rows not yet sent are skipped (kept
// under its id with the reason, like the rows already sent: a run's record of whom it mailed),
// and the record is closed. Records of what happened stay under the from id: the audit log, the
// event outbox, store-node sync conflicts. Irreversible. Storage applies the plan in one write;
// this file decides whether a merge may happen and what it moves.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace kizuna::core {

struct ProgramPoints {
    std::string program_id;
    int64_t points = 0;
    friend bool operator==(const ProgramPoints&, const ProgramPoints&) = default;
};

// What a member holds, as storage counts it.
struct MemberHoldings {
    std::string member_id;
    bool active = true;                   // false: closed (e.g. merged away before)
    std::vector<ProgramPoints> balances;  // one per program with entries
    std::vector<std::string> active_cards;
    int64_t cards = 0;
    int64_t purchases = 0;
    int64_t redemptions = 0;
    int64_t entries = 0;
    int64_t open_lots = 0;
    int64_t reservations = 0;
    int64_t offers_sent = 0;           // offers dispatches sent (each offer once per channel)
    int64_t dispatch_pending = 0;      // dispatch rows still to be sent
    int64_t sessions = 0;              // stored sessions
    int64_t password_resets_open = 0;  // reset links not used yet
};

struct BalanceMove {
    std::string program_id;
    int64_t from_points = 0;      // the from member's balance, moved
    int64_t survivor_before = 0;  // the survivor's before
    int64_t survivor_after = 0;   // their sum
    friend bool operator==(const BalanceMove&, const BalanceMove&) = default;
};

struct MergePlan {
    std::string survivor_id;
    std::string from_id;
    std::vector<BalanceMove> balances;       // every program either member has, by program id
    std::vector<std::string> cards_revoked;  // the from member's active cards
    int64_t cards = 0;                       // all the from member's cards, pointed at survivor
    int64_t purchases = 0;                   // moved
    int64_t redemptions = 0;
    int64_t entries = 0;
    int64_t open_lots = 0;
    int64_t reservations = 0;
    int64_t offers_sent = 0;       // moved (the survivor's own row kept where both have one)
    int64_t dispatch_skipped = 0;  // pending dispatch rows of the from member, skipped
    int64_t sessions_ended = 0;
    int64_t password_resets_ended = 0;
    int64_t points_moved = 0;  // sum of from_points
};

// Errors: kInvalidArgument ("from_member_id") when both are the same member; kRuleViolation when
// either is closed (a merged-away member cannot merge again), or when a program's summed balance
// would pass kMaxBalance.
Result<MergePlan> PlanMerge(const MemberHoldings& survivor, const MemberHoldings& from);

}  // namespace kizuna::core
