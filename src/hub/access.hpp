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

// Ok for a store caller with manager rights (Caller::HasManagerRights) to do `what`; else
// kForbidden saying a manager's PIN is needed.
inline core::Status RequireManager(const Caller& caller, std::string_view what) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, what));
    if (caller.HasManagerRights()) return core::Status::Ok();
    return core::MakeError(core::ErrorCode::kForbidden,
                           "only a manager may " + std::string(what) +
                               "; send the manager's id and PIN as Kizuna-Staff: STAFF_ID:PIN");
}

}  // namespace kizuna::hub
