#include "core/member_merge.hpp"

#include <map>

#include "core/limits.hpp"

namespace kizuna::core {

Result<MergePlan> PlanMerge(const MemberHoldings& survivor, const MemberHoldings& from) {
    if (survivor.member_id == from.member_id) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "a member cannot be merged into itself; name another member",
                         "from_member_id");
    }
    if (!survivor.active) {
        return MakeError(ErrorCode::kRuleViolation,
                         "member " + survivor.member_id + " is closed and cannot survive a merge");
    }
    if (!from.active) {
        return MakeError(
            ErrorCode::kRuleViolation,
            "member " + from.member_id + " is closed (merged before?); nothing to merge",
            "from_member_id");
    }
    std::map<std::string, BalanceMove> moves;
    for (const ProgramPoints& b : survivor.balances) {
        BalanceMove& move = moves[b.program_id];
        move.program_id = b.program_id;
        move.survivor_before = b.points;
    }
    for (const ProgramPoints& b : from.balances) {
        BalanceMove& move = moves[b.program_id];
        move.program_id = b.program_id;
        move.from_points = b.points;
    }
    MergePlan plan;
    plan.survivor_id = survivor.member_id;
    plan.from_id = from.member_id;
    for (auto& [program_id, move] : moves) {
        if (move.survivor_before > kMaxBalance - move.from_points) {
            return MakeError(ErrorCode::kRuleViolation,
                             "the merged balance in program " + program_id +
                                 " would pass the limit of " + std::to_string(kMaxBalance) +
                                 " points");
        }
        move.survivor_after = move.survivor_before + move.from_points;
        plan.points_moved += move.from_points;
        plan.balances.push_back(move);
    }
    plan.cards_revoked = from.active_cards;
    plan.cards = from.cards;
    plan.purchases = from.purchases;
    plan.redemptions = from.redemptions;
    plan.entries = from.entries;
    plan.open_lots = from.open_lots;
    plan.reservations = from.reservations;
    plan.offers_sent = from.offers_sent;
    plan.dispatch_skipped = from.dispatch_pending;
    plan.sessions_ended = from.sessions;
    plan.password_resets_ended = from.password_resets_open;
    return plan;
}

}  // namespace kizuna::core
