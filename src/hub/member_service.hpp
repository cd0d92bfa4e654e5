#pragma once
// Member use cases: enrollment (seed function 1), reissue (2), member usage (4), store lookup
// (5), and "is this person already registered?".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/card.hpp"
#include "core/ledger.hpp"
#include "core/member.hpp"
#include "core/purchase.hpp"
#include "core/result.hpp"
#include "hub/caller.hpp"
#include "hub/login_throttle.hpp"
#include "hub/mail_spool.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext;
class AuthService;

// The most purchases (and ledger entries) one usage or lookup answer carries; the HTTP API
// refuses a larger `limit`, naming this bound.
inline constexpr int kMaxHistoryLimit = 500;

struct NewMember {
    std::string password;
    core::Profile profile;
    core::Consents consents;
    core::CardMedium medium = core::CardMedium::kVirtual;
};

struct IssuedCard {
    core::Card card;
    std::string record;  // signed card record, text form ("KZ1....")
};

struct Enrollment {
    std::string member_id;
    IssuedCard card;
};

struct MemberQuery {
    std::string email;  // one of the two
    std::string phone;
};

struct MemberMatch {
    std::string member_id;
    std::string name;  // only if the member consented to share the profile
};

// A page of a member's usage: every balance, and the next purchases and ledger entries, newest
// first. Each list pages on its own; one opaque cursor carries both positions.
inline constexpr int kDefaultUsageLimit = 50;
inline constexpr int kMaxUsageLimit = 100;
// Bounds on one page's purchases beside the count: its lines and the bytes of their text. A
// purchase larger than either alone still makes a page of its own.
inline constexpr std::size_t kMaxUsageLines = 1000;
inline constexpr std::size_t kMaxUsageTextBytes = 256 * 1024;

struct UsageQuery {
    int limit = kDefaultUsageLimit;  // purchases and entries each, 1..kMaxUsageLimit
    std::string cursor{};            // empty: the first page; else a previous page's next_cursor
};

struct Usage {
    std::vector<storage::Balance> balances;
    std::vector<core::Purchase> purchases;
    std::vector<core::LedgerEntry> entries;
    std::string next_cursor;  // empty on the last page
};

struct MemberView {
    std::string member_id;
    std::optional<core::Profile> profile;  // only with the member's consent
    core::Consents consents;
    std::vector<core::Purchase> purchases;   // the store's program only
    std::vector<storage::Balance> balances;  // the store's program only
};

// How long a self-service enrollment waits for its email to be confirmed.
inline constexpr std::chrono::hours kEnrollmentConfirmationLifetime{48};

class MemberService {
  public:
    MemberService(HubContext& context, AuthService& auth, MailSpool& mail)
        : context_(context), auth_(auth), mail_(mail) {}

    // A store, the operator, or anyone (self-service) without an email. Validates everything
    // before storage; an email already registered is kAlreadyExists (field "profile.email").
    // Anonymous callers with an email go through RequestEnrollment (kForbidden here), so that
    // enrolling never tells a stranger whether an address belongs to a member.
    core::Result<Enrollment> Enroll(const Caller& caller, const NewMember& request);
    // Self-service enrollment with an email: validates as Enroll does (kInvalidArgument), then
    // mails the address either a confirmation token (kEnrollmentConfirmationLifetime; the
    // member and card are made by ConfirmEnrollment) or, when the address already has a
    // membership, a note saying so. The caller learns neither which nor the token; both cost
    // the same (one password hash, one lookup, one mail). Requests are throttled like failed
    // log-ins (LoginThrottle) per (email, client address) and per client address, so that
    // nobody floods a mailbox. Errors: kUnavailable, kTooManyRequests.
    core::Status RequestEnrollment(const NewMember& request, const std::string& client);
    // Makes the member and card a confirmation token from RequestEnrollment describes.
    // Errors: kInvalidArgument (field "token": not one this hub made, or expired),
    // kAlreadyExists (the address was registered since, or the token was used already).
    core::Result<Enrollment> ConfirmEnrollment(std::string_view token);
    // Stores only: members whose email or phone matches. Errors: kInvalidArgument if neither.
    core::Result<std::vector<MemberMatch>> Search(const Caller& caller, const MemberQuery& query);
    // A store, or the member themself, with the member's password (seed [0023]). Revokes every
    // active card and issues generation + 1. Errors: kWrongPassword, kNotFound.
    core::Result<IssuedCard> ReissueCard(const Caller& caller, const std::string& member_id,
                                         const std::string& password, core::CardMedium medium);
    // The member themself (or the operator). Balances in every program, and one page of
    // purchases and of entries, newest first (see Usage). Errors: kForbidden, kNotFound,
    // kInvalidArgument (field "limit" out of range, or "cursor" not one this hub gave).
    core::Result<Usage> GetUsage(const Caller& caller, const std::string& member_id,
                                 const UsageQuery& query);
    // GetUsage only if a read connection is free at once; none (nothing done) when it would
    // have to wait: for an event loop, which then hands the request to a worker.
    std::optional<core::Result<Usage>> TryGetUsage(const Caller& caller,
                                                   const std::string& member_id,
                                                   const UsageQuery& query);
    // A store: purchases and balance of its program only; the profile only with consent, and
    // each profile read is written to the audit table.
    core::Result<MemberView> Lookup(const Caller& caller, const std::string& member_id);
    // Resolves a card number to its member; kCardRevoked for a revoked card, kNotFound.
    core::Result<std::string> MemberOfCard(const std::string& card_number);

  private:
    // GetUsage, waiting for a read connection when `wait`; none when it would have waited.
    std::optional<core::Result<Usage>> ReadUsage(const Caller& caller, const std::string& member_id,
                                                 const UsageQuery& query, bool wait);

    // Stores the member and its first card, and signs the card; `program_id` (empty for
    // self-service) is told of the enrollment by a `member.enrolled` event.
    core::Result<Enrollment> Create(core::Member member, core::Card card,
                                    const std::string& program_id);

    HubContext& context_;
    AuthService& auth_;
    MailSpool& mail_;
    LoginThrottle enrollment_requests_;
};

}  // namespace kizuna::hub
