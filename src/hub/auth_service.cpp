#include "hub/auth_service.hpp"

#include <algorithm>
#include <optional>
#include <thread>

#include "core/card.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "crypto/crypto.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {
namespace {

using core::ErrorCode;
using core::MakeError;

// Bound on cached live sessions (~200 bytes each, so ~20 MB at most).
constexpr std::size_t kMaxCachedSessions = 100000;
// Staff PINs verified lately (see IdentifyStaff): how many, and for how long.
constexpr std::size_t kMaxCachedPins = 10000;
constexpr std::chrono::minutes kPinMemory{10};

std::ptrdiff_t HashingSlots() {
    unsigned cores = std::thread::hardware_concurrency();
    return static_cast<std::ptrdiff_t>(std::max(2u, cores));
}

bool AllDigits(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

core::Error WrongPassword() {
    return MakeError(ErrorCode::kWrongPassword, "wrong login or password");
}

}  // namespace

AuthService::AuthService(HubContext& context, int session_ttl_seconds)
    : context_(context),
      session_ttl_seconds_(session_ttl_seconds),
      hashing_slots_(HashingSlots()) {}

core::Result<Caller> AuthService::Authenticate(std::string_view bearer_token) {
    if (auto known = AuthenticateFromMemory(bearer_token)) return std::move(*known);
    // A store's API key, or a member session not seen yet: storage answers.
    const std::string digest = crypto::Digest(bearer_token);
    if (bearer_token.starts_with(kStoreKeyPrefix)) {
        KZ_ASSIGN_OR_RETURN(auto store, context_.StoreRefByKeyHash(digest));
        if (!store) return MakeError(ErrorCode::kUnauthenticated, "unknown store API key");
        Caller caller;
        caller.role = Role::kStore;
        caller.store_id = store->store_id;
        caller.program_id = store->program_id;
        return caller;
    }
    if (bearer_token.starts_with(kTerminalKeyPrefix)) {
        std::optional<core::Terminal> terminal;
        KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(terminal, txn.FindTerminalByKeyHash(digest));
            return core::Status::Ok();
        }));
        if (!terminal) return MakeError(ErrorCode::kUnauthenticated, "unknown terminal key");
        if (terminal->revoked_at) {
            return MakeError(ErrorCode::kUnauthenticated,
                             "terminal " + terminal->terminal_id + " was revoked");
        }
        KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(terminal->store_id));
        if (!store) return MakeError(ErrorCode::kUnauthenticated, "the terminal's store is gone");
        Caller caller;
        caller.role = Role::kStore;
        caller.store_id = store->store_id;
        caller.program_id = store->program_id;
        caller.terminal_id = terminal->terminal_id;
        return caller;
    }
    const core::Timestamp now = context_.Now();
    const uint64_t generation = SessionsGeneration();
    std::optional<storage::MemberSession> session;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(session, txn.FindSession(digest));
        return core::Status::Ok();
    }));
    if (!session) return MakeError(ErrorCode::kUnauthenticated, "unknown session token");
    if (session->expires_at <= now) {
        return MakeError(ErrorCode::kUnauthenticated, "the session has expired; log in again");
    }
    CacheSession(digest, *session, now, generation);
    Caller caller;
    caller.role = Role::kMember;
    caller.member_id = session->member_id;
    return caller;
}

std::optional<core::Result<Caller>> AuthService::AuthenticateFromMemory(
    std::string_view bearer_token) {
    if (bearer_token.empty()) return core::Result<Caller>(Caller::Anonymous());
    if (bearer_token.starts_with(kStoreKeyPrefix) || bearer_token.starts_with(kTerminalKeyPrefix)) {
        return std::nullopt;
    }
    const std::string digest = crypto::Digest(bearer_token);
    if (bearer_token.starts_with(kSessionTokenPrefix)) {
        auto member_id = CachedSessionMember(digest, context_.Now());
        if (!member_id) return std::nullopt;
        Caller caller;
        caller.role = Role::kMember;
        caller.member_id = std::move(*member_id);
        return core::Result<Caller>(std::move(caller));
    }
    // Digests have a fixed length, so the comparison takes the same time for every token.
    if (crypto::ConstantTimeEquals(digest, context_.operator_token_digest())) {
        return core::Result<Caller>(Caller::Operator());
    }
    return core::Result<Caller>(MakeError(ErrorCode::kUnauthenticated, "unknown token"));
}

std::optional<std::string> AuthService::CachedSessionMember(const std::string& digest,
                                                            core::Timestamp now) {
    std::lock_guard lock(sessions_mutex_);
    auto it = sessions_.find(digest);
    if (it == sessions_.end()) return std::nullopt;
    if (it->second.expires_at <= now) {
        // Expired: the caller looks it up in storage, which answers "expired" (or "unknown" once
        // it is deleted there).
        sessions_.erase(it);
        return std::nullopt;
    }
    return it->second.member_id;
}

void AuthService::ForgetSessionsOf(std::string_view member_id) {
    std::lock_guard lock(sessions_mutex_);
    ++sessions_generation_;
    std::erase_if(sessions_,
                  [&](const auto& entry) { return entry.second.member_id == member_id; });
}

uint64_t AuthService::SessionsGeneration() {
    std::lock_guard lock(sessions_mutex_);
    return sessions_generation_;
}

void AuthService::CacheSession(const std::string& digest, const storage::MemberSession& session,
                               core::Timestamp now, uint64_t generation) {
    std::lock_guard lock(sessions_mutex_);
    if (generation != sessions_generation_) return;
    if (sessions_.size() >= kMaxCachedSessions) {
        std::erase_if(sessions_, [&](const auto& entry) { return entry.second.expires_at <= now; });
        // Still full of live sessions: start over rather than grow; they are reloaded on use.
        if (sessions_.size() >= kMaxCachedSessions) sessions_.clear();
    }
    sessions_.insert_or_assign(digest, CachedSession{session.member_id, session.expires_at});
}

core::Result<SessionIssued> AuthService::Login(const LoginRequest& request) {
    const std::string login = core::Trim(request.login);
    if (login.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "give a member id, card number or email to log in", "login");
    }
    if (request.password.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "the password is missing", "password");
    }
    if (request.password.size() > kMaxPasswordBytes) {
        return MakeError(ErrorCode::kInvalidArgument, "the password is too long", "password");
    }

    std::optional<core::Member> member;
    std::optional<core::Card> card;
    std::string normalized = login;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        if (login.size() == 16 && AllDigits(login)) {
            // A mistyped card number is said so, not "wrong password": it names no member.
            if (!core::IsValidCardNumber(login)) {
                return MakeError(ErrorCode::kInvalidArgument, core::CardNumberProblem(login),
                                 "login");
            }
            KZ_ASSIGN_OR_RETURN(card, txn.FindCard(login));
            if (!card) return core::Status::Ok();
            KZ_ASSIGN_OR_RETURN(member, txn.FindMember(card->member_id));
        } else if (login.find('@') != std::string::npos) {
            normalized = core::NormalizeEmail(login);
            KZ_ASSIGN_OR_RETURN(member, txn.FindMemberByEmail(normalized));
        } else if (core::IsValidMemberId(login)) {
            KZ_ASSIGN_OR_RETURN(member, txn.FindMember(login));
        }
        return core::Status::Ok();
    }));

    const std::string key = member ? "member:" + member->member_id : "login:" + normalized;
    KZ_RETURN_IF_ERROR(throttle_.Begin(key, request.client, context_.Now()));
    bool right = member ? VerifyPassword(member->password_hash, request.password)
                        : (VerifyPassword(DummyHash(), request.password), false);
    if (!right) {
        throttle_.Failed(key, request.client, context_.Now());
        return WrongPassword();
    }
    throttle_.Succeeded(key, request.client);
    if (card && card->status == core::CardStatus::kRevoked) {
        return MakeError(ErrorCode::kCardRevoked,
                         "this card was replaced by a newer one; log in with the new card, your "
                         "member id or your email");
    }
    if (member->status != core::MemberStatus::kActive) {
        return MakeError(ErrorCode::kForbidden, "this membership is closed");
    }

    SessionIssued issued;
    issued.token = std::string(kSessionTokenPrefix) + crypto::NewSecretToken();
    issued.member_id = member->member_id;
    const core::Timestamp now = context_.Now();
    issued.expires_at = now + std::chrono::seconds(session_ttl_seconds_);
    storage::MemberSession session{crypto::Digest(issued.token), member->member_id, now,
                                   issued.expires_at};
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        // Log-ins are rare next to requests, so they are a fine moment to sweep.
        KZ_RETURN_IF_ERROR(txn.DeleteExpiredSessions(now));
        return txn.InsertSession(session);
    }));
    return issued;
}

core::Status AuthService::CheckMemberPassword(std::string_view member_id, std::string_view password,
                                              const std::string& client) {
    if (password.empty() || password.size() > kMaxPasswordBytes) return WrongPassword();
    std::optional<core::Member> member;
    if (core::IsValidMemberId(member_id)) {
        KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(member, txn.FindMember(member_id));
            return core::Status::Ok();
        }));
    }
    if (!member) {
        return MakeError(ErrorCode::kNotFound, "no member " + std::string(member_id));
    }
    const std::string key = "member:" + member->member_id;
    KZ_RETURN_IF_ERROR(throttle_.Begin(key, client, context_.Now()));
    if (!VerifyPassword(member->password_hash, password)) {
        throttle_.Failed(key, client, context_.Now());
        return WrongPassword();
    }
    throttle_.Succeeded(key, client);
    return core::Status::Ok();
}

core::Status AuthService::IdentifyStaff(Caller& caller, std::string_view header) {
    if (caller.role != Role::kStore) {
        return MakeError(ErrorCode::kForbidden, "only a store's till sends Kizuna-Staff");
    }
    const auto colon = header.find(':');
    const std::string staff_id = core::Trim(header.substr(0, colon));
    const std::string pin =
        colon == std::string_view::npos ? std::string() : core::Trim(header.substr(colon + 1));
    if (staff_id.empty() || pin.empty() || staff_id.size() > 64 || pin.size() > 64) {
        return MakeError(ErrorCode::kUnauthenticated,
                         "the Kizuna-Staff header must be \"STAFF_ID:PIN\"");
    }
    std::optional<core::StaffMember> staff;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(staff, txn.FindStaff(staff_id));
        return core::Status::Ok();
    }));
    const std::string key = "staff:" + staff_id;
    KZ_RETURN_IF_ERROR(throttle_.Begin(key, caller.address, context_.Now()));
    const bool known = staff && !staff->removed_at && staff->store_id == caller.store_id;
    // A till sends the same id and PIN with every sale: a PIN verified against this very hash
    // in the last minutes is taken without another Argon2id run (which would hold the event loop
    // ~0.1 s). The entry names the hash, so a changed PIN never matches an old entry.
    const std::string remembered =
        known ? crypto::Digest(staff->staff_id + '\n' + staff->pin_hash + '\n' + pin) : "";
    bool right = known && RecentlyVerified(remembered);
    if (!right) {
        right = known ? VerifyPassword(staff->pin_hash, pin)
                      : (VerifyPassword(DummyHash(), pin), false);
        if (right) RememberVerified(remembered);
    }
    if (!right) {
        throttle_.Failed(key, caller.address, context_.Now());
        return MakeError(ErrorCode::kUnauthenticated,
                         "wrong staff id or PIN (Kizuna-Staff) for this store");
    }
    throttle_.Succeeded(key, caller.address);
    caller.staff_id = staff->staff_id;
    caller.staff =
        staff->role == core::StaffRole::kManager ? Caller::Staff::kManager : Caller::Staff::kClerk;
    return core::Status::Ok();
}

bool AuthService::RecentlyVerified(const std::string& digest) {
    std::lock_guard lock(pins_mutex_);
    auto it = verified_pins_.find(digest);
    return it != verified_pins_.end() && it->second > context_.Now();
}

void AuthService::RememberVerified(const std::string& digest) {
    std::lock_guard lock(pins_mutex_);
    if (verified_pins_.size() >= kMaxCachedPins) verified_pins_.clear();
    verified_pins_.insert_or_assign(digest, context_.Now() + kPinMemory);
}

core::Status AuthService::Logout(std::string_view bearer_token) {
    if (!bearer_token.starts_with(kSessionTokenPrefix)) {
        return MakeError(ErrorCode::kUnauthenticated, "log-out ends a member session");
    }
    const std::string digest = crypto::Digest(bearer_token);
    KZ_RETURN_IF_ERROR(context_.storage().Write(
        [&](storage::WriteTxn& txn) -> core::Status { return txn.DeleteSession(digest); }));
    ForgetSessions({digest});
    return core::Status::Ok();
}

core::Result<int> AuthService::LogoutEverywhere(const std::string& member_id) {
    std::vector<std::string> digests;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(digests, txn.DeleteSessionsOf(member_id));
        return core::Status::Ok();
    }));
    ForgetSessions(digests);
    return static_cast<int>(digests.size());
}

void AuthService::ForgetSessions(const std::vector<std::string>& digests) {
    std::lock_guard lock(sessions_mutex_);
    ++sessions_generation_;
    for (const std::string& digest : digests) sessions_.erase(digest);
}

std::string AuthService::HashPassword(std::string_view password) {
    hashing_slots_.acquire();
    std::string hash = crypto::HashPassword(password);
    hashing_slots_.release();
    return hash;
}

bool AuthService::VerifyPassword(std::string_view hash, std::string_view password) {
    hashing_slots_.acquire();
    bool right = crypto::VerifyPassword(hash, password);
    hashing_slots_.release();
    return right;
}

const std::string& AuthService::DummyHash() {
    std::call_once(dummy_once_, [this] { dummy_hash_ = HashPassword(crypto::NewSecretToken()); });
    return dummy_hash_;
}

}  // namespace kizuna::hub
