#pragma once
// Member use cases: enrollment (seed function 1), reissue (2), member usage (4), store lookup
// (5), and "is this person already registered?".

#include <chrono>
#include <map>
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
    // The household shares this phone with a member already registered: enroll anyway. Without
    // it a phone already registered is kAlreadyExists, like an email.
    bool shared_phone = false;
    // The operator only (never from HTTP): the address was confirmed elsewhere, e.g. members
    // imported from a system that confirmed them, or the demo's portal members. No mail is sent.
    bool email_confirmed_elsewhere = false;
};

// A change of profile or consents (PATCH): only the fields set change. A new email is not
// applied at once: it is mailed a confirmation link and replaces the old one when confirmed.
struct MemberUpdate {
    std::optional<std::string> name, name_kana, postal_code, address, phone, birth_date, occupation,
        email;
    std::optional<bool> email_offers, postal_offers, share_profile;
    bool shared_phone = false;  // as NewMember::shared_phone, for a new phone
};

struct MemberUpdated {
    std::vector<std::string> changed;  // field names, "profile.phone", "consents.email_offers"
    std::string email_pending;         // a new email waiting for its confirmation
};

// The member's own record (the member, or the operator).
struct MemberSelf {
    core::Member member;             // password_hash cleared
    std::optional<core::Card> card;  // the current (active) card
};

// What leaving the program did.
struct MemberLeft {
    std::string member_id;
    int cards_revoked = 0;
    int sessions_ended = 0;
    std::vector<storage::Balance> points_forfeited;  // per program, before forfeiture
};

// Names of the stores and programs an answer refers to, id -> name, read in bulk.
struct Names {
    std::map<std::string, std::string> stores;
    std::map<std::string, std::string> programs;
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
    std::string next_cursor;                       // empty on the last page
    std::vector<storage::PurchaseRefund> refunds;  // of the page's purchases
    Names names;                                   // of every store and program the page names
};

struct MemberView {
    std::string member_id;
    std::optional<core::Profile> profile;  // only with the member's consent
    core::Consents consents;
    std::vector<core::Purchase> purchases;   // the store's program only
    std::vector<storage::Balance> balances;  // the store's program only
    std::optional<core::Card> card;          // the current card (none once every card is revoked)
    std::vector<storage::PurchaseRefund> refunds;  // of those purchases
    Names names;
};

// How long a password reset link works, and an email confirmation link.
inline constexpr std::chrono::minutes kPasswordResetLifetime{30};
inline constexpr std::chrono::hours kEmailConfirmationLifetime{48};

// How long a self-service enrollment waits for its email to be confirmed.
inline constexpr std::chrono::hours kEnrollmentConfirmationLifetime{48};

class MemberService {
  public:
    // `links_base`: the hub's URL as members reach it ("https://hub.example.jp"), for the links
    // in mail.
    MemberService(HubContext& context, AuthService& auth, MailSpool& mail, std::string links_base)
        : context_(context), auth_(auth), mail_(mail), links_base_(std::move(links_base)) {}

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

    // ---- Self-care (issue 17) -----------------------------------------------------------------
    // The member themself or the operator: profile, consents, whether the email is confirmed,
    // the current card. Errors: kForbidden, kNotFound.
    core::Result<MemberSelf> GetSelf(const Caller& caller, const std::string& member_id);
    // The member themself, the operator, or a store (only when the member shares the profile
    // with stores; audited). Validated like enrollment; a phone of another member needs
    // shared_phone; a new email is mailed a confirmation. Writes a `member.updated` event (field
    // names only). Errors: kInvalidArgument naming the field, kAlreadyExists, kForbidden,
    // kNotFound.
    core::Result<MemberUpdated> Update(const Caller& caller, const std::string& member_id,
                                       const MemberUpdate& update);
    // A link from a confirmation mail (enrollment by a store, or a change of email): the address
    // becomes the member's, confirmed. An unconfirmed holder of the same address loses it (the
    // mailbox's owner wins); a confirmed one keeps it (kAlreadyExists). The old address of a
    // change is told. Errors: kInvalidArgument (field "token"), kAlreadyExists, kNotFound.
    core::Result<std::string> ConfirmEmail(std::string_view token);
    // Anyone: mails a single-use reset link (kPasswordResetLifetime) when `email` is a member's
    // confirmed address; the answer is the same either way. Throttled like enrollment requests.
    core::Status RequestPasswordReset(std::string_view email, const std::string& client);
    // Sets the password a reset link was for and ends every session of the member; the link,
    // and any other open one, is used up. Errors: kInvalidArgument (field "token": unknown,
    // used or expired; field "password": too weak).
    core::Result<std::string> ResetPassword(std::string_view token, std::string_view password);
    // Leaving the program: the member (with their password) or the operator. The profile is
    // erased, every card revoked, every session ended, every balance forfeited by an
    // `adjustment` entry (so balances still equal their entries); purchases, redemptions,
    // refunds and ledger entries stay (accounting records, by member id only). Errors:
    // kWrongPassword, kForbidden, kNotFound (also for a member who already left).
    core::Result<MemberLeft> Leave(const Caller& caller, const std::string& member_id,
                                   const std::string& password);

  private:
    // The confirmation link mail for `email` of `member_id` (a store's enrollment, a change).
    core::Status QueueEmailConfirmation(const std::string& member_id, const std::string& email,
                                        bool change);
    // GetUsage, waiting for a read connection when `wait`; none when it would have waited.
    std::optional<core::Result<Usage>> ReadUsage(const Caller& caller, const std::string& member_id,
                                                 const UsageQuery& query, bool wait);

    // Stores the member and its first card, and signs the card; `program_id` (empty for
    // self-service) is told of the enrollment by a `member.enrolled` event.
    core::Result<Enrollment> Create(core::Member member, core::Card card,
                                    const std::string& program_id, bool shared_phone);

    HubContext& context_;
    AuthService& auth_;
    MailSpool& mail_;
    std::string links_base_;
    LoginThrottle enrollment_requests_;
    LoginThrottle reset_requests_;
};

}  // namespace kizuna::hub
