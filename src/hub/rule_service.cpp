#include "hub/rule_service.hpp"

#include <algorithm>
#include <utility>

#include "hub/access.hpp"
#include "hub/event_log.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {

using core::ErrorCode;
using core::MakeError;

core::Result<core::EarningRule> RuleService::SetRule(const Caller& caller,
                                                     const std::string& store_id,
                                                     core::EarningRule rule) {
    KZ_RETURN_IF_ERROR(
        RequireRole(caller, {Role::kOperator, Role::kStore}, "change earning rules"));
    if (caller.role == Role::kStore && caller.store_id != store_id) {
        return MakeError(ErrorCode::kForbidden, "a store may change only its own earning rule");
    }
    if (caller.role == Role::kStore) KZ_RETURN_IF_ERROR(RequireManager(caller, "change the rule"));
    KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(store_id));
    if (!store) return MakeError(ErrorCode::kNotFound, "no store " + store_id);
    rule.store_id = store_id;
    rule.effective_from = context_.Now();
    KZ_RETURN_IF_ERROR(core::ValidateEarningRule(rule));
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto versions, txn.RuleVersions(store_id));
        rule.version = 1;
        for (const auto& v : versions) rule.version = std::max(rule.version, v.version + 1);
        KZ_RETURN_IF_ERROR(txn.InsertRuleVersion(rule));
        // Store nodes of the program hear of it (sync pull); webhooks never see this type.
        return RecordEvent(txn, "rule.changed", store->program_id, "", rule.effective_from,
                           {{"store_id", store_id},
                            {"version", rule.version},
                            {"effective_from", EventTime(rule.effective_from)},
                            {"amount_per_point", rule.amount_per_point},
                            {"validity_days", rule.validity_days}});
    }));
    context_.InvalidateRules(store_id);
    return rule;
}

core::Result<core::EarningRule> RuleService::GetRule(const Caller& caller,
                                                     const std::string& store_id) {
    KZ_RETURN_IF_ERROR(
        RequireRole(caller, {Role::kOperator, Role::kStore, Role::kMember}, "read earning rules"));
    KZ_ASSIGN_OR_RETURN(auto versions, context_.RulesOf(store_id));
    const core::EarningRule* rule = core::RuleInEffect(versions, context_.Now());
    if (rule == nullptr) return MakeError(ErrorCode::kNotFound, "no store " + store_id);
    return *rule;
}

}  // namespace kizuna::hub
