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
    // kStore, the till (issue 17): the terminal whose key was used (empty: the store's own key,
    // a store-level terminal with manager rights), and the staff member a Kizuna-Staff header
    // identified with their PIN (empty: nobody).
    std::string terminal_id{};
    std::string staff_id{};
    enum class Staff { kNone, kClerk, kManager };
    Staff staff = Staff::kNone;

    static Caller Anonymous() { return {}; }
    static Caller Operator() {
        Caller caller;
        caller.role = Role::kOperator;
        return caller;
    }
    std::string Describe() const;  // "operator", "store:<id>", "member:<id>", "anonymous"
    // A manager's PIN came with the request: what lifts a sale's limits.
    bool ManagerApproved() const { return role == Role::kStore && staff == Staff::kManager; }
    // May void, refund above the store's threshold, change the rule, offers, staff and
    // terminals: a manager's PIN, or the store's own key with nobody else identified.
    bool HasManagerRights() const {
        return role == Role::kStore &&
               (staff == Staff::kManager || (terminal_id.empty() && staff == Staff::kNone));
    }
};

}  // namespace kizuna::hub
