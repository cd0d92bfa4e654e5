#pragma once
// Authentication: bearer tokens to a Caller, and member log-in with throttling (LoginThrottle).
//
// Tokens carry a prefix naming their kind, so one lookup suffices: "kzs_" a store's API key,
// "kzm_" a member session; anything else is compared (in constant time, by digest) with the
// operator token. Only digests of tokens are stored or kept in memory.
//
// Thread-safety: every method may be called from any thread.

#include <chrono>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/member.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "hub/caller.hpp"
#include "hub/login_throttle.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext;

struct LoginRequest {
    std::string login;  // member id, card number or email
    std::string password;
    std::string client;  // the client's address: throttling is per (member, client) and client
};

struct SessionIssued {
    std::string token;  // shown once; only its digest is stored
    std::string member_id;
    core::Timestamp expires_at{};
};

inline constexpr std::string_view kStoreKeyPrefix = "kzs_";
inline constexpr std::string_view kSessionTokenPrefix = "kzm_";
inline constexpr std::string_view kTerminalKeyPrefix = "kzt_";

class AuthService {
  public:
    // Longest password accepted for checking; longer ones are refused before hashing.
    static constexpr std::size_t kMaxPasswordBytes = 1024;

    AuthService(HubContext& context, int session_ttl_seconds);

    // Empty token: Anonymous. Operator token, a store's API key or a live member session:
    // that Caller. Anything else (including an expired session): kUnauthenticated.
    core::Result<Caller> Authenticate(std::string_view bearer_token);
    // Authenticate from what is in memory only (the operator token, live sessions seen
    // before): none when the answer needs a storage read (a store key, a session not seen yet).
    std::optional<core::Result<Caller>> AuthenticateFromMemory(std::string_view bearer_token);

    // Resolves the login: 16 digits is a card number, text with '@' an email, anything else a
    // member id. Checks the password (Argon2id) and opens a session of session_ttl_seconds.
    // Errors: kInvalidArgument (empty login or password), kWrongPassword (an unknown login looks
    // the same, also in timing), kTooManyRequests (LoginThrottle: per member and client, and
    // per client; an unknown login is throttled like a member), kCardRevoked for a replaced
    // card number with the right password, kForbidden for a closed membership.
    core::Result<SessionIssued> Login(const LoginRequest& request);

    // The password check of a card reissue (seed [0023]), throttled like a log-in per (member,
    // client): `client` is the caller's address, or "store:<id>" for a store at its counter,
    // which failed log-ins from elsewhere never hold up.
    // Errors: kNotFound (no such member), kWrongPassword, kTooManyRequests.
    core::Status CheckMemberPassword(std::string_view member_id, std::string_view password,
                                     const std::string& client);

    // The Kizuna-Staff header ("STAFF_ID:PIN") of a store caller: checks the PIN (Argon2id,
    // throttled per staff member and client like a log-in) and sets caller.staff_id and
    // caller.staff. Errors: kUnauthenticated (malformed, unknown, removed, another store's, wrong
    // PIN), kTooManyRequests, kForbidden for a caller that is not a store.
    core::Status IdentifyStaff(Caller& caller, std::string_view header);
    // Log-out: the session of this bearer token ends at once, on the hub (its row is deleted and
    // this process forgets it). Errors: kUnauthenticated when the token is not a live session.
    core::Status Logout(std::string_view bearer_token);
    // Every session of the member ends. Returns how many there were.
    core::Result<int> LogoutEverywhere(const std::string& member_id);
    // Forgets cached sessions whose rows a write of the caller deleted (their digests).
    void ForgetSessions(const std::vector<std::string>& digests);

    // Argon2id hashing for new passwords, under the same concurrency limit as checks: each
    // hash takes ~64 MiB for ~0.1 s, so at most a few run at once whatever the worker count.
    std::string HashPassword(std::string_view password);

    // Forgets the member's cached sessions, after their stored sessions were deleted before
    // expiry (a member merged away, MergeService): the next request with one reads storage.
    void ForgetSessionsOf(std::string_view member_id);

  private:
    bool VerifyPassword(std::string_view hash, std::string_view password);
    const std::string& DummyHash();

    struct CachedSession {
        std::string member_id;
        core::Timestamp expires_at{};
    };
    // A live session found earlier, if any and still unexpired at `now`; drops an expired one.
    std::optional<std::string> CachedSessionMember(const std::string& digest, core::Timestamp now);
    // Keeps the session unless ForgetSessions ran since `generation` was read (the read may
    // have seen a row deleted meanwhile).
    void CacheSession(const std::string& digest, const storage::MemberSession& session,
                      core::Timestamp now, uint64_t generation);
    uint64_t SessionsGeneration();

    HubContext& context_;
    int session_ttl_seconds_;
    // Token digest -> live member session, so that an authenticated member request costs no
    // storage read of its own. Sound because a stored session never changes, and a session
    // deleted before it expires (log-out, a password reset, leaving) is deleted through this
    // process, which forgets it in the same call; every hit is checked against the clock.
    // Several hub processes on one database would each need to hear of that (a known limit:
    // today's backend is one SQLite file, one process).
    std::mutex sessions_mutex_;
    std::unordered_map<std::string, CachedSession> sessions_;
    uint64_t sessions_generation_ = 0;  // bumped by ForgetSessions
    bool RecentlyVerified(const std::string& digest);
    void RememberVerified(const std::string& digest);
    std::mutex pins_mutex_;
    std::unordered_map<std::string, core::Timestamp> verified_pins_;  // digest -> until
    LoginThrottle throttle_;
    std::counting_semaphore<> hashing_slots_;
    std::once_flag dummy_once_;
    std::string dummy_hash_;  // verified against when the login is unknown, to cost the same
};

}  // namespace kizuna::hub
