#pragma once
// Member merge (issue 19; core/member_merge.hpp), operator only: POST /v1/members/{id}/merge.
// Without confirmation it only says what it would move; with it, everything of the other member
// moves to the survivor in one unit of work (storage::WriteTxn::MergeMembers), the other
// member's cards are revoked and point to the survivor, the merge is audited for both
// members, and store nodes hear of it (a `member.merged` sync pull event). Irreversible.

#include <string>

#include "core/member_merge.hpp"
#include "core/result.hpp"
#include "hub/caller.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

// Whom `member_id` now is, when it was merged away: the end of its chain of merges (a survivor
// may be merged into another member later); none if it never was. Errors: kInternal on a chain
// that does not end (the merge refuses closed members, so none can form).
core::Result<std::optional<std::string>> SurvivorOf(storage::ReadTxn& txn,
                                                    const std::string& member_id);

class AuthService;
class HubContext;

struct MergeOutcome {
    core::MergePlan plan;
    bool merged = false;  // false: a dry run, nothing changed
};

class MergeService {
  public:
    MergeService(HubContext& context, AuthService& auth) : context_(context), auth_(auth) {}

    // Errors: kForbidden, kNotFound (either member), kInvalidArgument (the same member),
    // kRuleViolation (a closed member; a merged balance past the limit).
    core::Result<MergeOutcome> Merge(const Caller& caller, const std::string& survivor_id,
                                     const std::string& from_id, bool confirm);

  private:
    HubContext& context_;
    AuthService& auth_;
};

}  // namespace kizuna::hub
