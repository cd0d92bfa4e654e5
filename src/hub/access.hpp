#pragma once
// Entitlement checks shared by the services: who may call what. Internal to src/hub.
// Anonymous callers get kUnauthenticated (they may retry with credentials); authenticated
// callers without the right get kForbidden.

#include <string>
#include <string_view>

#include "core/result.hpp"
#include "hub/caller.hpp"

namespace kizuna::hub {

// Ok when the caller has one of the roles in `allowed`.
inline core::Status RequireRole(const Caller& caller, std::initializer_list<Role> allowed,
                                std::string_view what) {
    for (Role role : allowed) {
        if (caller.role == role) return core::Status::Ok();
    }
    if (caller.role == Role::kAnonymous) {
        return core::MakeError(core::ErrorCode::kUnauthenticated,
                               std::string(what) + " needs credentials (Authorization: Bearer)");
    }
    return core::MakeError(core::ErrorCode::kForbidden,
                           caller.Describe() + " may not " + std::string(what));
}

}  // namespace kizuna::hub
