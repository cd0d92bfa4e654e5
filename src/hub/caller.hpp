#pragma once
// Who is calling: established once per request by AuthService::Authenticate and passed to every
// service method, which checks entitlement itself (a member sees only themself; a store only
// its program; the operator manages stores and programs).

#include <string>

namespace kizuna::hub {

enum class Role { kAnonymous, kOperator, kStore, kMember };

struct Caller {
    Role role = Role::kAnonymous;
    std::string store_id;    // kStore
    std::string program_id;  // kStore: the store's program
    std::string member_id;   // kMember
    // Where the request came from: the TCP peer's address (a reverse proxy's forwarded header
    // is not trusted), for throttling password checks; empty when unknown.
    std::string address{};

    static Caller Anonymous() { return {}; }
    static Caller Operator() { return Caller{Role::kOperator, {}, {}, {}, {}}; }
    std::string Describe() const;  // "operator", "store:<id>", "member:<id>", "anonymous"
};

}  // namespace kizuna::hub
