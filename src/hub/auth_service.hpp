#pragma once
// Authentication: bearer tokens to a Caller, and member log-in with throttling.

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.hpp"
#include "core/time.hpp"
#include "hub/caller.hpp"

namespace kizuna::hub {

class HubContext;

struct LoginRequest {
    std::string login;     // member id, card number or email
    std::string password;
    std::string client;    // remote address, for throttling per (login, client)
};

struct SessionIssued {
    std::string token;  // shown once; only its digest is stored
    std::string member_id;
    core::Timestamp expires_at{};
};

class AuthService {
public:
    AuthService(HubContext& context, int session_ttl_seconds);

    // Empty token: Anonymous. Operator token, a store's API key or a live member session:
    // that Caller. Anything else: kUnauthenticated.
    core::Result<Caller> Authenticate(std::string_view bearer_token);

    // Checks the password (Argon2id). Throttling per login: after 5 failures within 15 minutes
    // each further attempt waits (returned as delay, the caller sleeps off its I/O thread);
    // after 10, kTooManyRequests for 15 minutes. Errors: kWrongPassword (unknown login looks
    // the same), kTooManyRequests, kCardRevoked for a revoked card number.
    core::Result<SessionIssued> Login(const LoginRequest& request);

    // The password check shared by login and reissue; counts failures against the member.
    core::Status CheckMemberPassword(std::string_view member_id, std::string_view password);

private:
    struct Attempts {
        int failures = 0;
        core::Timestamp first_failure{};
        core::Timestamp locked_until{};
    };
    core::Status CheckThrottle(const std::string& key);
    void RecordFailure(const std::string& key);
    void RecordSuccess(const std::string& key);

    HubContext& context_;
    int session_ttl_seconds_;
    std::mutex attempts_mutex_;
    std::unordered_map<std::string, Attempts> attempts_;
};

}  // namespace kizuna::hub
