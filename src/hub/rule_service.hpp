#pragma once
// A store's earning rule (PUT/GET /v1/stores/{id}/rule).

#include <string>

#include "core/earning_rule.hpp"
#include "core/result.hpp"
#include "hub/caller.hpp"

namespace kizuna::hub {

class HubContext;

class RuleService {
  public:
    explicit RuleService(HubContext& context) : context_(context) {}

    // The store itself or the operator. Stores a new version effective now.
    // Errors: kForbidden, kNotFound, kInvalidArgument.
    core::Result<core::EarningRule> SetRule(const Caller& caller, const std::string& store_id,
                                            core::EarningRule rule);
    // The rule in effect now. Any authenticated caller (rules are public to members too).
    core::Result<core::EarningRule> GetRule(const Caller& caller, const std::string& store_id);

  private:
    HubContext& context_;
};

}  // namespace kizuna::hub
