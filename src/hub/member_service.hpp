#pragma once
// Member use cases: enrollment (seed function 1), reissue (2), member usage (4), store lookup
// (5), and "is this person already registered?".

#include <optional>
#include <string>
#include <vector>

#include "core/card.hpp"
#include "core/ledger.hpp"
#include "core/member.hpp"
#include "core/purchase.hpp"
#include "core/result.hpp"
#include "hub/caller.hpp"
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

struct Usage {
    std::vector<storage::Balance> balances;
    std::vector<core::Purchase> purchases;
    std::vector<core::LedgerEntry> entries;
};

struct MemberView {
    std::string member_id;
    std::optional<core::Profile> profile;  // only with the member's consent
    core::Consents consents;
    std::vector<core::Purchase> purchases;   // the store's program only
    std::vector<storage::Balance> balances;  // the store's program only
};

class MemberService {
  public:
    MemberService(HubContext& context, AuthService& auth) : context_(context), auth_(auth) {}

    // A store or anyone (self-service). Validates everything before storage; an email already
    // registered is kAlreadyExists (field "profile.email").
    core::Result<Enrollment> Enroll(const Caller& caller, const NewMember& request);
    // Stores only: members whose email or phone matches. Errors: kInvalidArgument if neither.
    core::Result<std::vector<MemberMatch>> Search(const Caller& caller, const MemberQuery& query);
    // A store, or the member themself, with the member's password (seed [0023]). Revokes every
    // active card and issues generation + 1. Errors: kWrongPassword, kNotFound.
    core::Result<IssuedCard> ReissueCard(const Caller& caller, const std::string& member_id,
                                         const std::string& password, core::CardMedium medium);
    // The member themself (or the operator). Balances in every program, newest purchases and
    // entries first, at most `limit` of each.
    core::Result<Usage> GetUsage(const Caller& caller, const std::string& member_id, int limit);
    // A store: purchases and balance of its program only; the profile only with consent, and
    // each profile read is written to the audit table.
    core::Result<MemberView> Lookup(const Caller& caller, const std::string& member_id);
    // Resolves a card number to its member; kCardRevoked for a revoked card, kNotFound.
    core::Result<std::string> MemberOfCard(const std::string& card_number);

  private:
    HubContext& context_;
    AuthService& auth_;
};

}  // namespace kizuna::hub
