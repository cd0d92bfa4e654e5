#include "hub/member_service.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "core/ids.hpp"
#include "hub/access.hpp"
#include "hub/auth_service.hpp"
#include "hub/event_log.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {
namespace {

using core::ErrorCode;
using core::MakeError;

// Random ids collide only by bad luck (1 in 10^9 per member id, 10^11 per card number); a few
// retries make a failure practically impossible while still ending if the space is exhausted.
constexpr int kIdAttempts = 16;

// A fresh id from `generate` that `find` (id -> Result<optional<...>>) does not know.
template <typename Generate, typename Find>
core::Result<std::string> UnusedId(Generate generate, Find find, std::string_view what) {
    for (int i = 0; i < kIdAttempts; ++i) {
        std::string id = generate();
        KZ_ASSIGN_OR_RETURN(auto existing, find(id));
        if (!existing) return id;
    }
    return MakeError(ErrorCode::kInternal, "could not find an unused " + std::string(what));
}

core::Result<std::string> UnusedMemberId(HubContext& context, storage::WriteTxn& txn) {
    return UnusedId([&] { return context.NewMemberId(); },
                    [&](const std::string& id) { return txn.FindMember(id); }, "member id");
}

core::Result<std::string> UnusedCardNumber(HubContext& context, storage::WriteTxn& txn) {
    return UnusedId([&] { return context.NewCardNumber(); },
                    [&](const std::string& number) { return txn.FindCard(number); }, "card number");
}

core::Error EmailTaken() {
    return MakeError(ErrorCode::kAlreadyExists,
                     "this email is already registered; log in or reissue the card",
                     "profile.email");
}

core::Error NoMember(const std::string& member_id) {
    return MakeError(ErrorCode::kNotFound, "no member " + member_id);
}

}  // namespace

core::Result<Enrollment> MemberService::Enroll(const Caller& caller, const NewMember& request) {
    // Anyone may enroll (self-service at the portal, seed [0022]); a store that does is
    // recorded as the card's issuer.
    const core::Timestamp now = context_.Now();
    KZ_ASSIGN_OR_RETURN(core::Profile profile, core::ValidateProfile(request.profile, now));
    KZ_RETURN_IF_ERROR(core::ValidatePassword(request.password, profile));

    // A cheap look first, so a registered email is refused before the costly hashing; the
    // check inside the write below is the one that counts.
    if (!profile.email.empty()) {
        KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(auto existing, txn.FindMemberByEmail(profile.email));
            return existing ? EmailTaken() : core::Status::Ok();
        }));
    }

    core::Member member;
    member.password_hash = auth_.HashPassword(request.password);
    member.profile = std::move(profile);
    member.consents = request.consents;
    member.created_at = now;

    core::Card card;
    card.generation = 1;
    card.medium = request.medium;
    card.issued_by_store = caller.role == Role::kStore ? caller.store_id : std::string();
    card.issued_at = now;

    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        if (!member.profile.email.empty()) {
            KZ_ASSIGN_OR_RETURN(auto existing, txn.FindMemberByEmail(member.profile.email));
            if (existing) return EmailTaken();
        }
        KZ_ASSIGN_OR_RETURN(member.member_id, UnusedMemberId(context_, txn));
        KZ_ASSIGN_OR_RETURN(card.card_number, UnusedCardNumber(context_, txn));
        card.member_id = member.member_id;
        KZ_RETURN_IF_ERROR(txn.InsertMember(member));
        KZ_RETURN_IF_ERROR(txn.InsertCard(card));
        // The mall tells every shop of the program (seed 2); the profile stays with the hub.
        EventData data = {{"member_id", member.member_id},
                          {"store_id", card.issued_by_store},
                          {"program_id", caller.program_id},
                          {"card_generation", card.generation},
                          {"enrolled_at", EventTime(now)}};
        return RecordEvent(txn, "member.enrolled", caller.program_id, member.member_id, now, data);
    }));

    Enrollment enrollment;
    enrollment.member_id = member.member_id;
    enrollment.card.card = card;
    KZ_ASSIGN_OR_RETURN(enrollment.card.record, context_.SignCardRecord(card));
    return enrollment;
}

core::Result<std::vector<MemberMatch>> MemberService::Search(const Caller& caller,
                                                             const MemberQuery& query) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "search members"));
    const std::string email = core::NormalizeEmail(query.email);
    const std::string phone = core::NormalizePhone(query.phone);
    if (email.empty() && phone.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "give an email or a phone number to search",
                         "email");
    }
    std::vector<core::Member> found;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        if (!email.empty()) {
            KZ_ASSIGN_OR_RETURN(auto by_email, txn.FindMemberByEmail(email));
            if (by_email) found.push_back(std::move(*by_email));
        }
        if (!phone.empty()) {
            KZ_ASSIGN_OR_RETURN(auto by_phone, txn.FindMembersByPhone(phone));
            for (auto& m : by_phone) found.push_back(std::move(m));
        }
        return core::Status::Ok();
    }));

    std::vector<MemberMatch> matches;
    std::set<std::string> seen;
    std::vector<storage::AuditRecord> audits;
    const core::Timestamp now = context_.Now();
    for (const auto& m : found) {
        if (!seen.insert(m.member_id).second) continue;
        MemberMatch match{m.member_id, {}};
        if (m.consents.share_profile) {
            match.name = m.profile.name;
            audits.push_back({caller.Describe(), "profile_search", m.member_id, now});
        }
        matches.push_back(std::move(match));
    }
    if (!audits.empty()) {
        // A name is part of the profile: it is shown only after its read is on record.
        KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
            for (const auto& a : audits) KZ_RETURN_IF_ERROR(txn.InsertAudit(a));
            return core::Status::Ok();
        }));
    }
    return matches;
}

core::Result<IssuedCard> MemberService::ReissueCard(const Caller& caller,
                                                    const std::string& member_id,
                                                    const std::string& password,
                                                    core::CardMedium medium) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore, Role::kMember}, "reissue cards"));
    if (caller.role == Role::kMember && caller.member_id != member_id) {
        return MakeError(ErrorCode::kForbidden, "a member may reissue only their own card");
    }
    // Seed [0023] S114-S124: the member's password, whoever asks.
    KZ_RETURN_IF_ERROR(auth_.CheckMemberPassword(member_id, password));

    core::Card card;
    card.member_id = member_id;
    card.medium = medium;
    card.issued_by_store = caller.role == Role::kStore ? caller.store_id : std::string();
    card.issued_at = context_.Now();
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto cards, txn.CardsOf(member_id));
        int generation = 0;
        for (const auto& old : cards) {
            generation = std::max(generation, old.generation);
            if (old.status == core::CardStatus::kActive) {
                KZ_RETURN_IF_ERROR(txn.RevokeCard(old.card_number, card.issued_at));
            }
        }
        card.generation = generation + 1;
        KZ_ASSIGN_OR_RETURN(card.card_number, UnusedCardNumber(context_, txn));
        KZ_RETURN_IF_ERROR(txn.InsertCard(card));
        EventData data = {{"member_id", member_id},
                          {"store_id", card.issued_by_store},
                          {"card_generation", card.generation},
                          {"reissued_at", EventTime(card.issued_at)}};
        return RecordMemberEvent(txn, "card.reissued", member_id, card.issued_at, data);
    }));
    IssuedCard issued;
    issued.card = card;
    KZ_ASSIGN_OR_RETURN(issued.record, context_.SignCardRecord(card));
    return issued;
}

core::Result<Usage> MemberService::GetUsage(const Caller& caller, const std::string& member_id,
                                            int limit) {
    KZ_RETURN_IF_ERROR(
        RequireRole(caller, {Role::kMember, Role::kOperator}, "read a member's usage"));
    if (caller.role == Role::kMember && caller.member_id != member_id) {
        return MakeError(ErrorCode::kForbidden, "a member may read only their own usage");
    }
    limit = std::clamp(limit, 1, kMaxHistoryLimit);
    Usage usage;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(usage.balances, txn.BalancesOf(member_id));
        // A balance row belongs to an existing member (a foreign key): only a member without
        // one costs the extra lookup.
        if (usage.balances.empty()) {
            KZ_ASSIGN_OR_RETURN(bool exists, txn.MemberExists(member_id));
            if (!exists) return NoMember(member_id);
        }
        KZ_ASSIGN_OR_RETURN(usage.purchases, txn.PurchasesOf(member_id, std::nullopt, limit));
        storage::Page page;
        page.limit = limit;
        KZ_ASSIGN_OR_RETURN(usage.entries, txn.EntriesOf(member_id, std::nullopt, page));
        return core::Status::Ok();
    }));
    return usage;
}

core::Result<MemberView> MemberService::Lookup(const Caller& caller, const std::string& member_id) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "look up members"));
    MemberView view;
    view.member_id = member_id;
    std::optional<core::Member> member;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(member, txn.FindMember(member_id));
        if (!member) return NoMember(member_id);
        std::string_view program = caller.program_id;
        KZ_ASSIGN_OR_RETURN(view.purchases, txn.PurchasesOf(member_id, program, kMaxHistoryLimit));
        KZ_ASSIGN_OR_RETURN(int64_t points, txn.BalanceOf(member_id, program));
        view.balances.push_back({caller.program_id, points});
        return core::Status::Ok();
    }));
    view.consents = member->consents;
    if (member->consents.share_profile) {
        // Invariant 6: the read is on record before the profile leaves the hub.
        storage::AuditRecord audit{caller.Describe(), "profile_read", member_id, context_.Now()};
        KZ_RETURN_IF_ERROR(context_.storage().Write(
            [&](storage::WriteTxn& txn) { return txn.InsertAudit(audit); }));
        view.profile = member->profile;
    }
    return view;
}

core::Result<std::string> MemberService::MemberOfCard(const std::string& card_number) {
    if (!core::IsValidCardNumber(card_number)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "not a card number (16 digits with a valid check digit)", "card_number");
    }
    std::optional<core::Card> card;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(card, txn.FindCard(card_number));
        return core::Status::Ok();
    }));
    if (!card) return MakeError(ErrorCode::kNotFound, "no card " + card_number, "card_number");
    if (card->status == core::CardStatus::kRevoked) {
        return MakeError(ErrorCode::kCardRevoked,
                         "card " + card_number + " was replaced by a newer card", "card_number");
    }
    return card->member_id;
}

}  // namespace kizuna::hub
