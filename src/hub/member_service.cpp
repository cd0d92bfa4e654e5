#include "hub/member_service.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

#include "core/card_record.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "crypto/crypto.hpp"
#include "hub/access.hpp"
#include "hub/auth_service.hpp"
#include "hub/event_log.hpp"
#include "hub/hub_context.hpp"
#include "hub/id_lease.hpp"

namespace kizuna::hub {
namespace {

using core::ErrorCode;
using core::MakeError;

core::Error EmailTaken() {
    return MakeError(ErrorCode::kAlreadyExists,
                     "this email is already registered; log in or reissue the card",
                     "profile.email");
}

core::Error PhoneTaken() {
    return MakeError(ErrorCode::kAlreadyExists,
                     "this phone number is already registered (already a member? log in or "
                     "reissue the card); if the household shares it, say so with shared_phone",
                     "profile.phone");
}

// Another member with this phone, unless the phone is shared by the household or empty.
core::Status CheckPhoneFree(storage::ReadTxn& txn, const std::string& phone, bool shared,
                            const std::string& except_member = {}) {
    if (shared || phone.empty()) return core::Status::Ok();
    KZ_ASSIGN_OR_RETURN(auto holders, txn.FindMembersByPhone(core::NormalizePhone(phone)));
    for (const core::Member& holder : holders) {
        if (holder.member_id != except_member && holder.status == core::MemberStatus::kActive) {
            return PhoneTaken();
        }
    }
    return core::Status::Ok();
}

// The member who holds `email`, and whether the address may be given to `member_id`: free,
// held by that member, or held unconfirmed by another (who then loses it: whoever proves to own
// the mailbox wins). A confirmed holder keeps it: kAlreadyExists.
core::Result<std::optional<core::Member>> TakeableEmailHolder(storage::ReadTxn& txn,
                                                              const std::string& email,
                                                              const std::string& member_id) {
    KZ_ASSIGN_OR_RETURN(auto holder, txn.FindMemberByEmail(email));
    if (!holder || holder->member_id == member_id) return std::optional<core::Member>();
    if (holder->email_confirmed) return EmailTaken();
    return holder;
}

// Clears an unconfirmed address from the member who held it, with its event.
core::Status ReleaseEmail(storage::WriteTxn& txn, core::Member holder, core::Timestamp now) {
    holder.profile.email.clear();
    holder.email_confirmed = false;
    holder.consents.email_offers = false;
    KZ_RETURN_IF_ERROR(txn.UpdateMember(holder));
    EventData data = {{"member_id", holder.member_id},
                      {"changed", {"profile.email"}},
                      {"reason", "an unconfirmed email was confirmed by its owner"},
                      {"updated_at", EventTime(now)}};
    return RecordMemberEvent(txn, "member.updated", holder.member_id, now, data);
}

constexpr std::string_view kEmailTokenContext = "kizuna email confirmation v1";

// A self-service enrollment waiting for its email to be confirmed travels in the confirmation
// token itself, sealed by the hub (HubContext::SealToken): the hub keeps nothing until it is
// confirmed. Fields are netstrings ("<length>:<bytes>").
constexpr std::string_view kEnrollmentTokenContext = "kizuna enrollment confirmation v1";

struct PendingEnrollment {
    core::Member member;  // profile, consents, password hash
    core::CardMedium medium = core::CardMedium::kVirtual;
    bool shared_phone = false;
    core::Timestamp expires_at{};
};

void PutField(std::string& out, std::string_view value) {
    out += std::to_string(value.size());
    out += ':';
    out += value;
}

bool TakeField(std::string_view& in, std::string& value) {
    const std::size_t colon = in.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 6) return false;
    std::size_t length = 0;
    auto [end, ec] = std::from_chars(in.data(), in.data() + colon, length);
    if (ec != std::errc() || end != in.data() + colon || in.size() - colon - 1 < length) {
        return false;
    }
    value.assign(in.substr(colon + 1, length));
    in.remove_prefix(colon + 1 + length);
    return true;
}

std::string EncodePendingEnrollment(const core::Member& member, core::CardMedium medium,
                                    bool shared_phone, core::Timestamp expires_at) {
    const core::Profile& p = member.profile;
    const core::Consents& c = member.consents;
    const std::string expires = std::to_string(core::ToUnixSeconds(expires_at));
    std::string out;
    for (const std::string* field : {&expires, &p.name, &p.name_kana, &p.postal_code, &p.address,
                                     &p.phone, &p.birth_date, &p.occupation, &p.email}) {
        PutField(out, *field);
    }
    // The fourth flag (shared phone) is newer: tokens without it still decode.
    const std::string consents = {c.email_offers ? 'y' : 'n', c.postal_offers ? 'y' : 'n',
                                  c.share_profile ? 'y' : 'n', shared_phone ? 'y' : 'n'};
    PutField(out, consents);
    PutField(out, core::CardMediumName(medium));
    PutField(out, member.password_hash);
    return out;
}

core::Result<PendingEnrollment> DecodePendingEnrollment(std::string_view in) {
    auto bad = [] { return core::InvalidField("token", "is damaged"); };
    std::string expires, consents, medium;
    PendingEnrollment pending;
    core::Profile& p = pending.member.profile;
    for (std::string* field :
         {&expires, &p.name, &p.name_kana, &p.postal_code, &p.address, &p.phone, &p.birth_date,
          &p.occupation, &p.email, &consents, &medium, &pending.member.password_hash}) {
        if (!TakeField(in, *field)) return bad();
    }
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(expires.data(), expires.data() + expires.size(), seconds);
    if (!in.empty() || ec != std::errc() || end != expires.data() + expires.size() ||
        (consents.size() != 3 && consents.size() != 4)) {
        return bad();
    }
    pending.shared_phone = consents.size() == 4 && consents[3] == 'y';
    pending.expires_at = core::FromUnixSeconds(seconds);
    pending.member.consents.email_offers = consents[0] == 'y';
    pending.member.consents.postal_offers = consents[1] == 'y';
    pending.member.consents.share_profile = consents[2] == 'y';
    auto parsed = core::ParseCardMedium(medium, "medium");
    if (!parsed) return bad();
    pending.medium = *parsed;
    return pending;
}

// The names of the stores and programs these records name, one read each.
core::Status ReadNames(storage::ReadTxn& txn, std::set<std::string> store_ids,
                       std::set<std::string> program_ids, Names& names) {
    store_ids.erase("");
    program_ids.erase("");
    KZ_ASSIGN_OR_RETURN(auto stores, txn.StoresWithIds(std::vector<std::string>(store_ids.begin(),
                                                                                store_ids.end())));
    for (const core::Store& store : stores) names.stores[store.store_id] = store.name;
    KZ_ASSIGN_OR_RETURN(auto programs, txn.ProgramsWithIds(std::vector<std::string>(
                                           program_ids.begin(), program_ids.end())));
    for (const core::Program& program : programs) names.programs[program.program_id] = program.name;
    return core::Status::Ok();
}

// The refunds of these purchases (one read over their time span).
core::Status ReadRefunds(storage::ReadTxn& txn, const std::string& member_id,
                         const std::vector<core::Purchase>& purchases,
                         std::vector<storage::PurchaseRefund>& out) {
    if (purchases.empty()) return core::Status::Ok();
    core::Timestamp from = purchases.front().occurred_at, to = from;
    std::set<std::pair<std::string, std::string>> keys;
    for (const core::Purchase& p : purchases) {
        from = std::min(from, p.occurred_at);
        to = std::max(to, p.occurred_at);
        keys.emplace(p.store_id, p.purchase_id);
    }
    KZ_ASSIGN_OR_RETURN(auto refunds, txn.RefundsOfPurchasesBetween(member_id, from, to));
    for (auto& refund : refunds) {
        if (keys.count({refund.purchase_store_id, refund.refund.purchase_id})) {
            out.push_back(std::move(refund));
        }
    }
    return core::Status::Ok();
}

// The member's active card of the highest generation, if any.
std::optional<core::Card> CurrentCard(const std::vector<core::Card>& cards) {
    std::optional<core::Card> current;
    for (const core::Card& card : cards) {
        if (card.status == core::CardStatus::kActive &&
            (!current || card.generation > current->generation)) {
            current = card;
        }
    }
    return current;
}

core::Error NoMember(const std::string& member_id) {
    return MakeError(ErrorCode::kNotFound, "no member " + member_id);
}

// Where the next usage page starts, in each list; "done" when a list has no more.
struct UsageCursor {
    std::optional<storage::PurchaseCursor> purchases_after;
    bool purchases_done = false;
    std::optional<int64_t> entries_before;
    bool entries_done = false;
};

constexpr std::string_view kUsageCursorVersion = "u1";

// Opaque to clients: "u1 <occurred_at>:<seq>|- <entry_id>|-" (a "-" list is done), base64url.
std::string FormatUsageCursor(const UsageCursor& cursor) {
    std::string text(kUsageCursorVersion);
    text += ' ';
    if (cursor.purchases_done || !cursor.purchases_after) {
        text += '-';
    } else {
        text += std::to_string(core::ToUnixSeconds(cursor.purchases_after->occurred_at)) + ":" +
                std::to_string(cursor.purchases_after->seq);
    }
    text += ' ';
    text += cursor.entries_done || !cursor.entries_before ? std::string("-")
                                                          : std::to_string(*cursor.entries_before);
    return core::Base64UrlEncode(text);
}

bool ParseInt64(std::string_view text, int64_t& out) {
    if (text.empty() || text.size() > 19) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

core::Result<UsageCursor> ParseUsageCursor(std::string_view cursor) {
    UsageCursor parsed;
    if (cursor.empty()) return parsed;
    auto bad = [] {
        return MakeError(ErrorCode::kInvalidArgument,
                         "cursor is not one this hub gave; pass next_cursor from the previous "
                         "page unchanged, or none for the first page",
                         "cursor");
    };
    if (cursor.size() > 128) return bad();
    auto text = core::Base64UrlDecode(cursor);
    if (!text) return bad();
    std::string_view rest(*text);
    if (!rest.starts_with(kUsageCursorVersion) || rest.size() < 4 || rest[2] != ' ') return bad();
    rest.remove_prefix(3);
    const std::size_t space = rest.find(' ');
    if (space == std::string_view::npos) return bad();
    std::string_view purchases = rest.substr(0, space);
    std::string_view entries = rest.substr(space + 1);
    if (purchases == "-") {
        parsed.purchases_done = true;
    } else {
        const std::size_t colon = purchases.find(':');
        int64_t at = 0, seq = 0;
        if (colon == std::string_view::npos || !ParseInt64(purchases.substr(0, colon), at) ||
            !ParseInt64(purchases.substr(colon + 1), seq)) {
            return bad();
        }
        parsed.purchases_after = storage::PurchaseCursor{core::FromUnixSeconds(at), seq};
    }
    if (entries == "-") {
        parsed.entries_done = true;
    } else {
        int64_t before = 0;
        if (!ParseInt64(entries, before)) return bad();
        parsed.entries_before = before;
    }
    if (parsed.purchases_done && parsed.entries_done) return bad();
    return parsed;
}

}  // namespace

core::Result<Enrollment> MemberService::Enroll(const Caller& caller, const NewMember& request) {
    // Anyone may enroll (self-service at the portal, seed [0022]); a store that does is
    // recorded as the card's issuer.
    if (caller.role == Role::kAnonymous && !core::Trim(request.profile.email).empty()) {
        return MakeError(ErrorCode::kForbidden,
                         "self-service enrollment with an email is confirmed by mail first "
                         "(RequestEnrollment)");
    }
    const core::Timestamp now = context_.Now();
    KZ_ASSIGN_OR_RETURN(core::Profile profile, core::ValidateProfile(request.profile, now));
    KZ_RETURN_IF_ERROR(core::ValidatePassword(request.password, profile));

    // A cheap look first, so a registered email is refused before the costly hashing; the
    // check inside the write below is the one that counts.
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        if (!profile.email.empty()) {
            KZ_ASSIGN_OR_RETURN(auto existing, txn.FindMemberByEmail(profile.email));
            if (existing) return EmailTaken();
        }
        return CheckPhoneFree(txn, profile.phone, request.shared_phone);
    }));

    core::Member member;
    member.password_hash = auth_.HashPassword(request.password);
    member.profile = std::move(profile);
    member.consents = request.consents;
    member.created_at = now;
    if (request.email_confirmed_elsewhere && caller.role != Role::kOperator) {
        return MakeError(ErrorCode::kForbidden, "only the operator vouches for an email");
    }
    member.email_confirmed = request.email_confirmed_elsewhere && !member.profile.email.empty();

    core::Card card;
    card.generation = 1;
    card.medium = request.medium;
    card.issued_by_store = caller.role == Role::kStore ? caller.store_id : std::string();
    card.issued_at = now;
    KZ_ASSIGN_OR_RETURN(Enrollment enrollment, Create(std::move(member), std::move(card),
                                                      caller.program_id, request.shared_phone));
    // Typed at a counter, the address is not proven to be the member's: it gets no offer mail
    // until its owner follows the link (core::MayMailOffers).
    if (!request.profile.email.empty() && !request.email_confirmed_elsewhere) {
        KZ_RETURN_IF_ERROR(QueueEmailConfirmation(enrollment.member_id,
                                                  core::NormalizeEmail(request.profile.email),
                                                  /*change=*/false));
    }
    return enrollment;
}

core::Result<Enrollment> MemberService::Create(core::Member member, core::Card card,
                                               const std::string& program_id, bool shared_phone) {
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        if (!member.profile.email.empty()) {
            if (member.email_confirmed) {
                // The owner of the mailbox: an unconfirmed claim on it gives way.
                KZ_ASSIGN_OR_RETURN(auto holder,
                                    TakeableEmailHolder(txn, member.profile.email, ""));
                if (holder) KZ_RETURN_IF_ERROR(ReleaseEmail(txn, *holder, member.created_at));
            } else {
                KZ_ASSIGN_OR_RETURN(auto existing, txn.FindMemberByEmail(member.profile.email));
                if (existing) return EmailTaken();
            }
        }
        KZ_RETURN_IF_ERROR(CheckPhoneFree(txn, member.profile.phone, shared_phone));
        KZ_ASSIGN_OR_RETURN(member.member_id, UnusedMemberId(context_, txn));
        KZ_ASSIGN_OR_RETURN(card.card_number, UnusedCardNumber(context_, txn));
        card.member_id = member.member_id;
        KZ_RETURN_IF_ERROR(txn.InsertMember(member));
        KZ_RETURN_IF_ERROR(txn.InsertCard(card));
        // The mall tells every shop of the program (seed 2); the profile stays with the hub.
        EventData data = {{"member_id", member.member_id},
                          {"store_id", card.issued_by_store},
                          {"program_id", program_id},
                          {"card_generation", card.generation},
                          {"enrolled_at", EventTime(member.created_at)}};
        return RecordEvent(txn, "member.enrolled", program_id, member.member_id, member.created_at,
                           data);
    }));

    Enrollment enrollment;
    enrollment.member_id = member.member_id;
    enrollment.card.card = card;
    KZ_ASSIGN_OR_RETURN(enrollment.card.record, context_.SignCardRecord(card));
    return enrollment;
}

core::Status MemberService::RequestEnrollment(const NewMember& request, const std::string& client) {
    const core::Timestamp now = context_.Now();
    KZ_ASSIGN_OR_RETURN(core::Profile profile, core::ValidateProfile(request.profile, now));
    KZ_RETURN_IF_ERROR(core::ValidatePassword(request.password, profile));
    if (profile.email.empty()) {
        return core::InvalidField("profile.email", "is required to confirm an enrollment by mail");
    }
    // Every request counts, whatever it finds: a mail goes out for each.
    const std::string account = "email:" + profile.email;
    KZ_RETURN_IF_ERROR(enrollment_requests_.Begin(account, client, now, "enrollment requests"));
    enrollment_requests_.Failed(account, client, now);
    // Hashed whether or not the address is registered: both answers cost the same.
    core::Member member;
    member.password_hash = auth_.HashPassword(request.password);
    member.consents = request.consents;
    member.created_at = now;
    std::optional<core::Member> existing;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(existing, txn.FindMemberByEmail(profile.email));
        return core::Status::Ok();
    }));
    OutgoingMail mail;
    mail.to = profile.email;
    // An address a store typed and nobody confirmed does not stop its owner: the confirmation
    // below takes it over (see ConfirmEnrollment).
    if (existing && existing->email_confirmed) {
        mail.subject = "Your Kizuna membership";
        mail.body =
            "Someone, perhaps you, asked to enroll with this address, which already has a "
            "membership (member " +
            existing->member_id +
            ").\n\nLog in with your member id, card number or this address. If you "
            "forgot your password, ask for a reset link (kizuna member forgot-password --email "
            "this address); if you lost your card, a store can reissue it.\n\nIf it "
            "was not you, nothing has changed and you can ignore this mail.\n";
    } else {
        member.profile = std::move(profile);
        const std::string token =
            context_.SealToken(EncodePendingEnrollment(member, request.medium, request.shared_phone,
                                                       now + kEnrollmentConfirmationLifetime),
                               kEnrollmentTokenContext);
        mail.subject = "Confirm your Kizuna enrollment";
        mail.body = "To finish enrolling and get your card, confirm within " +
                    std::to_string(kEnrollmentConfirmationLifetime.count()) +
                    " hours:\n\n    kizuna member confirm --token " + token +
                    "\n\nor POST {\"token\": \"" + token +
                    "\"} to /v1/members/confirmations.\n\nIf it was not you, ignore this mail: "
                    "nothing is made until it is confirmed.\n";
    }
    return mail_.Queue(mail, now);
}

core::Result<Enrollment> MemberService::ConfirmEnrollment(std::string_view token) {
    auto payload = context_.UnsealToken(token, kEnrollmentTokenContext);
    if (!payload) {
        return core::InvalidField("token", "is not a confirmation this hub sent");
    }
    KZ_ASSIGN_OR_RETURN(PendingEnrollment pending, DecodePendingEnrollment(*payload));
    const core::Timestamp now = context_.Now();
    if (now >= pending.expires_at) {
        return MakeError(ErrorCode::kInvalidArgument, "this confirmation has expired; enroll again",
                         "token");
    }
    core::Card card;
    card.generation = 1;
    card.medium = pending.medium;
    card.issued_at = now;
    pending.member.created_at = now;
    // The token came from the mailbox: the address is proven.
    pending.member.email_confirmed = true;
    // A self-service member belongs to no program until they buy or reserve somewhere.
    return Create(std::move(pending.member), std::move(card), std::string(), pending.shared_phone);
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
    // Seed [0023] S114-S124: the member's password, whoever asks. A store at its counter is
    // throttled as itself, never held up by failed log-ins from elsewhere.
    const std::string client = caller.role == Role::kStore ? caller.Describe() : caller.address;
    KZ_RETURN_IF_ERROR(auth_.CheckMemberPassword(member_id, password, client));

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
                // Store nodes keep a list of revoked cards (sync pull); webhooks never see it.
                KZ_RETURN_IF_ERROR(RecordMemberEvent(txn, "card.revoked", member_id, card.issued_at,
                                                     {{"member_id", member_id},
                                                      {"card_number", old.card_number},
                                                      {"revoked_at", EventTime(card.issued_at)}}));
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
                                            const UsageQuery& query) {
    return *ReadUsage(caller, member_id, query, /*wait=*/true);
}

std::optional<core::Result<Usage>> MemberService::TryGetUsage(const Caller& caller,
                                                              const std::string& member_id,
                                                              const UsageQuery& query) {
    return ReadUsage(caller, member_id, query, /*wait=*/false);
}

std::optional<core::Result<Usage>> MemberService::ReadUsage(const Caller& caller,
                                                            const std::string& member_id,
                                                            const UsageQuery& query, bool wait) {
    using Answer = std::optional<core::Result<Usage>>;
    if (auto denied =
            RequireRole(caller, {Role::kMember, Role::kOperator}, "read a member's usage");
        !denied.ok()) {
        return Answer(denied.error());
    }
    if (caller.role == Role::kMember && caller.member_id != member_id) {
        return Answer(MakeError(ErrorCode::kForbidden, "a member may read only their own usage"));
    }
    if (query.limit < 1 || query.limit > kMaxUsageLimit) {
        return Answer(MakeError(ErrorCode::kInvalidArgument,
                                "limit must be an integer between 1 and " +
                                    std::to_string(kMaxUsageLimit) +
                                    "; follow next_cursor for more",
                                "limit"));
    }
    auto position = ParseUsageCursor(query.cursor);
    if (!position) return Answer(position.error());

    Usage usage;
    auto work = [&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(usage.balances, txn.BalancesOf(member_id));
        // A balance row belongs to an existing member (a foreign key): only a member without
        // one costs the extra lookup.
        if (usage.balances.empty()) {
            KZ_ASSIGN_OR_RETURN(bool exists, txn.MemberExists(member_id));
            if (!exists) return NoMember(member_id);
        }
        // A list done on an earlier page stays done.
        UsageCursor next;
        next.purchases_done = position->purchases_done;
        next.entries_done = position->entries_done;
        if (!position->purchases_done) {
            storage::PurchasePageRequest request;
            request.after = position->purchases_after;
            request.limit = query.limit;
            request.max_lines = kMaxUsageLines;
            request.max_text_bytes = kMaxUsageTextBytes;
            KZ_ASSIGN_OR_RETURN(storage::PurchasePage page, txn.PurchasePageOf(member_id, request));
            usage.purchases = std::move(page.purchases);
            next.purchases_after = page.next;
            next.purchases_done = !page.next.has_value();
        }
        if (!position->entries_done) {
            // One more than the page, to know whether any remain.
            storage::Page page;
            page.limit = query.limit + 1;
            page.before_entry_id = position->entries_before;
            KZ_ASSIGN_OR_RETURN(usage.entries, txn.EntriesOf(member_id, std::nullopt, page));
            next.entries_done = usage.entries.size() <= static_cast<std::size_t>(query.limit);
            if (!next.entries_done) {
                usage.entries.pop_back();
                next.entries_before = usage.entries.back().entry_id;
            }
        }
        if (!next.purchases_done || !next.entries_done) usage.next_cursor = FormatUsageCursor(next);
        KZ_RETURN_IF_ERROR(ReadRefunds(txn, member_id, usage.purchases, usage.refunds));
        std::set<std::string> stores, programs;
        for (const auto& b : usage.balances) programs.insert(b.program_id);
        for (const auto& p : usage.purchases) {
            stores.insert(p.store_id);
            programs.insert(p.program_id);
        }
        for (const auto& e : usage.entries) {
            stores.insert(e.store_id);
            programs.insert(e.program_id);
        }
        return ReadNames(txn, std::move(stores), std::move(programs), usage.names);
    };
    core::Status read;
    if (wait) {
        read = context_.storage().Read(work);
    } else if (auto tried = context_.storage().TryRead(work)) {
        read = std::move(*tried);
    } else {
        return std::nullopt;
    }
    if (!read.ok()) return Answer(read.error());
    return Answer(std::move(usage));
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
        KZ_ASSIGN_OR_RETURN(auto cards, txn.CardsOf(member_id));
        view.card = CurrentCard(cards);
        KZ_RETURN_IF_ERROR(ReadRefunds(txn, member_id, view.purchases, view.refunds));
        std::set<std::string> stores, programs = {caller.program_id};
        for (const auto& p : view.purchases) stores.insert(p.store_id);
        return ReadNames(txn, std::move(stores), std::move(programs), view.names);
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
        return MakeError(ErrorCode::kInvalidArgument, core::CardNumberProblem(card_number),
                         "card_number");
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

// ---- Self-care -------------------------------------------------------------------------------

namespace {

// "<member_id> <email> <expires unix seconds> <change y|n>", sealed: the hub keeps nothing until
// the link is followed.
std::string EncodeEmailToken(const std::string& member_id, const std::string& email,
                             core::Timestamp expires_at, bool change) {
    std::string out;
    PutField(out, member_id);
    PutField(out, email);
    PutField(out, std::to_string(core::ToUnixSeconds(expires_at)));
    PutField(out, change ? "y" : "n");
    return out;
}

core::Error NotSelf(std::string_view what) {
    return MakeError(ErrorCode::kForbidden,
                     "a member may " + std::string(what) + " only their own");
}

}  // namespace

core::Status MemberService::QueueEmailConfirmation(const std::string& member_id,
                                                   const std::string& email, bool change) {
    const core::Timestamp now = context_.Now();
    const std::string token = context_.SealToken(
        EncodeEmailToken(member_id, email, now + kEmailConfirmationLifetime, change),
        kEmailTokenContext);
    OutgoingMail mail;
    mail.to = email;
    mail.subject =
        change ? "Confirm your new Kizuna email address" : "Confirm your email address for Kizuna";
    mail.body =
        std::string(change
                        ? "Member " + member_id + " asked to use this address from now on."
                        : "A Kizuna card (member " + member_id + ") was made with this address.") +
        " To confirm that it is yours, open this link within " +
        std::to_string(kEmailConfirmationLifetime.count()) + " hours:\n\n    " + links_base_ +
        "/v1/email-confirmations/" + token +
        "\n\nor run\n\n    kizuna member confirm-email --token " + token +
        "\n\nUntil then this address gets no offers by mail (the card works as it is). "
        "If it was not you, ignore this mail: the address is not used for offers, and "
        "you can enroll with it yourself at any time.\n";
    return mail_.Queue(mail, now);
}

core::Result<MemberSelf> MemberService::GetSelf(const Caller& caller,
                                                const std::string& member_id) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kMember, Role::kOperator}, "read a member"));
    if (caller.role == Role::kMember && caller.member_id != member_id) return NotSelf("read");
    MemberSelf self;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto member, txn.FindMember(member_id));
        if (!member || member->status != core::MemberStatus::kActive) return NoMember(member_id);
        self.member = std::move(*member);
        self.member.password_hash.clear();
        KZ_ASSIGN_OR_RETURN(auto cards, txn.CardsOf(member_id));
        self.card = CurrentCard(cards);
        return core::Status::Ok();
    }));
    return self;
}

core::Result<MemberUpdated> MemberService::Update(const Caller& caller,
                                                  const std::string& member_id,
                                                  const MemberUpdate& u) {
    KZ_RETURN_IF_ERROR(
        RequireRole(caller, {Role::kMember, Role::kStore, Role::kOperator}, "update members"));
    if (caller.role == Role::kMember && caller.member_id != member_id) return NotSelf("update");
    const core::Timestamp now = context_.Now();
    MemberUpdated result;
    std::string new_email;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        result = {};
        new_email.clear();
        KZ_ASSIGN_OR_RETURN(auto found, txn.FindMember(member_id));
        if (!found || found->status != core::MemberStatus::kActive) return NoMember(member_id);
        core::Member member = std::move(*found);
        if (caller.role == Role::kStore) {
            // A store sees and edits a profile only with the member's consent (invariant 6).
            if (!member.consents.share_profile) {
                return MakeError(ErrorCode::kForbidden,
                                 "this member does not share the profile with stores; the member "
                                 "can change it themself");
            }
            KZ_RETURN_IF_ERROR(
                txn.InsertAudit({caller.Describe(), "profile_update", member_id, now}));
        }
        core::Profile profile = member.profile;
        auto set = [&](const std::optional<std::string>& value, std::string& field,
                       const char* name) {
            if (value && *value != field) {
                field = *value;
                result.changed.push_back(std::string("profile.") + name);
            }
        };
        set(u.name, profile.name, "name");
        set(u.name_kana, profile.name_kana, "name_kana");
        set(u.postal_code, profile.postal_code, "postal_code");
        set(u.address, profile.address, "address");
        set(u.phone, profile.phone, "phone");
        set(u.birth_date, profile.birth_date, "birth_date");
        set(u.occupation, profile.occupation, "occupation");
        std::string requested_email = profile.email;
        if (u.email) requested_email = *u.email;
        core::Profile checked_input = profile;
        checked_input.email = requested_email;
        KZ_ASSIGN_OR_RETURN(core::Profile checked, core::ValidateProfile(checked_input, now));
        if (checked.email != member.profile.email) {
            // Applied only once confirmed: the old address stays until then.
            if (checked.email.empty()) {
                result.changed.push_back("profile.email");
                member.email_confirmed = false;
                member.consents.email_offers = false;
            } else {
                KZ_ASSIGN_OR_RETURN(auto holder,
                                    TakeableEmailHolder(txn, checked.email, member_id));
                (void)holder;  // an unconfirmed holder loses it only when this one is confirmed
                new_email = checked.email;
                result.email_pending = checked.email;
            }
        }
        if (!new_email.empty()) checked.email = member.profile.email;
        if (u.phone &&
            core::NormalizePhone(checked.phone) != core::NormalizePhone(member.profile.phone)) {
            KZ_RETURN_IF_ERROR(CheckPhoneFree(txn, checked.phone, u.shared_phone, member_id));
        }
        auto consent = [&](const std::optional<bool>& value, bool& field, const char* name) {
            if (value && *value != field) {
                field = *value;
                result.changed.push_back(std::string("consents.") + name);
            }
        };
        consent(u.email_offers, member.consents.email_offers, "email_offers");
        consent(u.postal_offers, member.consents.postal_offers, "postal_offers");
        consent(u.share_profile, member.consents.share_profile, "share_profile");
        member.profile = std::move(checked);
        if (result.changed.empty()) return core::Status::Ok();
        KZ_RETURN_IF_ERROR(txn.UpdateMember(member));
        // Field names only: the profile stays with the hub.
        EventData data = {{"member_id", member_id},
                          {"changed", result.changed},
                          {"by", caller.Describe()},
                          {"updated_at", EventTime(now)}};
        return RecordMemberEvent(txn, "member.updated", member_id, now, data);
    }));
    if (!new_email.empty()) {
        KZ_RETURN_IF_ERROR(QueueEmailConfirmation(member_id, new_email, /*change=*/true));
    }
    return result;
}

core::Result<std::string> MemberService::ConfirmEmail(std::string_view token) {
    auto payload = context_.UnsealToken(token, kEmailTokenContext);
    if (!payload) return core::InvalidField("token", "is not a confirmation this hub sent");
    std::string_view in(*payload);
    std::string member_id, email, expires, change;
    int64_t seconds = 0;
    if (!TakeField(in, member_id) || !TakeField(in, email) || !TakeField(in, expires) ||
        !TakeField(in, change) || !in.empty() || !ParseInt64(expires, seconds)) {
        return core::InvalidField("token", "is damaged");
    }
    const core::Timestamp now = context_.Now();
    if (now >= core::FromUnixSeconds(seconds)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "this confirmation has expired; change the email again for a new link",
                         "token");
    }
    std::string old_email;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        old_email.clear();
        KZ_ASSIGN_OR_RETURN(auto member, txn.FindMember(member_id));
        if (!member || member->status != core::MemberStatus::kActive) return NoMember(member_id);
        // A link for an address the member no longer asks for (changed since) does nothing.
        if (change != "y" && member->profile.email != email) {
            return core::InvalidField("token", "is for an address this member no longer uses");
        }
        if (member->profile.email == email && member->email_confirmed) return core::Status::Ok();
        KZ_ASSIGN_OR_RETURN(auto holder, TakeableEmailHolder(txn, email, member_id));
        if (holder) KZ_RETURN_IF_ERROR(ReleaseEmail(txn, *holder, now));
        if (member->profile.email != email) old_email = member->profile.email;
        member->profile.email = email;
        member->email_confirmed = true;
        KZ_RETURN_IF_ERROR(txn.UpdateMember(*member));
        EventData data = {{"member_id", member_id},
                          {"changed", {"profile.email"}},
                          {"email_confirmed", true},
                          {"updated_at", EventTime(now)}};
        return RecordMemberEvent(txn, "member.updated", member_id, now, data);
    }));
    if (!old_email.empty()) {
        OutgoingMail mail;
        mail.to = old_email;
        mail.subject = "Your Kizuna email address was changed";
        mail.body = "Member " + member_id +
                    " now uses another email address, confirmed from its mailbox. This address "
                    "gets no more mail from Kizuna.\n\nIf it was not you, log in and change the "
                    "password, or ask a store for help.\n";
        KZ_RETURN_IF_ERROR(mail_.Queue(mail, now));
    }
    return member_id;
}

core::Status MemberService::RequestPasswordReset(std::string_view email_text,
                                                 const std::string& client) {
    const std::string email = core::NormalizeEmail(email_text);
    if (email.empty() || email.find('@') == std::string::npos) {
        return core::InvalidField("email", "must be the member's email address");
    }
    const core::Timestamp now = context_.Now();
    const std::string account = "reset:" + email;
    KZ_RETURN_IF_ERROR(reset_requests_.Begin(account, client, now, "password reset requests"));
    reset_requests_.Failed(account, client, now);
    std::optional<core::Member> member;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(member, txn.FindMemberByEmail(email));
        return core::Status::Ok();
    }));
    // Only a confirmed address: a reset through an address someone else typed would hand the
    // membership to the owner of that mailbox. Nothing tells the caller which case it was.
    if (!member || !member->email_confirmed || member->status != core::MemberStatus::kActive) {
        return core::Status::Ok();
    }
    const std::string token = "kzr_" + crypto::NewSecretToken();
    storage::PasswordReset reset{crypto::Digest(token), member->member_id, now,
                                 now + kPasswordResetLifetime, std::nullopt};
    KZ_RETURN_IF_ERROR(context_.storage().Write(
        [&](storage::WriteTxn& txn) { return txn.InsertPasswordReset(reset); }));
    OutgoingMail mail;
    mail.to = email;
    mail.subject = "Reset your Kizuna password";
    mail.body = "Someone, perhaps you, asked to reset the password of member " + member->member_id +
                ". Open this link within " + std::to_string(kPasswordResetLifetime.count()) +
                " minutes and choose a new password (it works once):\n\n    " + links_base_ +
                "/reset-password?token=" + token +
                "\n\nor run\n\n    kizuna member reset-password --token " + token +
                "\n\nIf it was not you, ignore this mail: the password stays as it is.\n";
    return mail_.Queue(mail, now);
}

core::Result<std::string> MemberService::ResetPassword(std::string_view token,
                                                       std::string_view password) {
    auto unusable = [] {
        return core::InvalidField("token",
                                  "is not a reset link that still works (each works once, for " +
                                      std::to_string(kPasswordResetLifetime.count()) +
                                      " minutes); ask for a new one");
    };
    if (!token.starts_with("kzr_") || token.size() > 128) return unusable();
    const std::string digest = crypto::Digest(token);
    const core::Timestamp now = context_.Now();
    std::optional<storage::PasswordReset> reset;
    std::optional<core::Member> member;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(reset, txn.FindPasswordReset(digest));
        if (!reset) return core::Status::Ok();
        KZ_ASSIGN_OR_RETURN(member, txn.FindMember(reset->member_id));
        return core::Status::Ok();
    }));
    if (!reset || reset->used_at || now >= reset->expires_at || !member ||
        member->status != core::MemberStatus::kActive) {
        return unusable();
    }
    if (password.size() > AuthService::kMaxPasswordBytes) {
        return core::InvalidField("password", "is too long");
    }
    KZ_RETURN_IF_ERROR(core::ValidatePassword(password, member->profile));
    const std::string hash = auth_.HashPassword(password);
    std::vector<std::string> ended;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        // Checked again inside the write: two uses of one link at once, one wins.
        KZ_ASSIGN_OR_RETURN(auto again, txn.FindPasswordReset(digest));
        if (!again || again->used_at) return unusable();
        KZ_ASSIGN_OR_RETURN(auto current, txn.FindMember(reset->member_id));
        if (!current) return NoMember(reset->member_id);
        current->password_hash = hash;
        KZ_RETURN_IF_ERROR(txn.UpdateMember(*current));
        KZ_RETURN_IF_ERROR(txn.ClosePasswordResets(reset->member_id, now));
        // Whoever knew the old password is logged out too.
        KZ_ASSIGN_OR_RETURN(ended, txn.DeleteSessionsOf(reset->member_id));
        return core::Status::Ok();
    }));
    auth_.ForgetSessions(ended);
    return reset->member_id;
}

core::Result<MemberLeft> MemberService::Leave(const Caller& caller, const std::string& member_id,
                                              const std::string& password) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kMember, Role::kOperator}, "end memberships"));
    if (caller.role == Role::kMember) {
        if (caller.member_id != member_id) return NotSelf("end a membership");
        KZ_RETURN_IF_ERROR(auth_.CheckMemberPassword(member_id, password, caller.address));
    }
    const core::Timestamp now = context_.Now();
    MemberLeft left;
    std::vector<std::string> ended;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        left = {};
        left.member_id = member_id;
        KZ_ASSIGN_OR_RETURN(auto member, txn.FindMember(member_id));
        if (!member || member->status != core::MemberStatus::kActive) return NoMember(member_id);
        // Points are forfeited, booked so that every balance still equals its entries and lots.
        KZ_ASSIGN_OR_RETURN(auto balances, txn.BalancesOf(member_id));
        for (const storage::Balance& balance : balances) {
            if (balance.points <= 0) continue;
            KZ_ASSIGN_OR_RETURN(auto lots, txn.OpenLots(member_id, balance.program_id));
            int64_t drawn = 0;
            for (const core::Lot& lot : lots) {
                KZ_RETURN_IF_ERROR(txn.DrawFromLot({lot.lot_id, lot.remaining}));
                drawn += lot.remaining;
            }
            if (drawn != balance.points) {
                return MakeError(ErrorCode::kInternal, "the lots of member " + member_id +
                                                           " in program " + balance.program_id +
                                                           " disagree with the balance");
            }
            core::LedgerEntry entry;
            entry.member_id = member_id;
            entry.program_id = balance.program_id;
            entry.delta = -balance.points;
            entry.kind = core::EntryKind::kAdjustment;
            entry.ref = "leave:" + member_id;
            entry.occurred_at = now;
            entry.note = "forfeited: the member left the program";
            KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
            left.points_forfeited.push_back(balance);
        }
        KZ_ASSIGN_OR_RETURN(auto cards, txn.CardsOf(member_id));
        for (const core::Card& card : cards) {
            if (card.status != core::CardStatus::kActive) continue;
            KZ_RETURN_IF_ERROR(txn.RevokeCard(card.card_number, now));
            ++left.cards_revoked;
        }
        KZ_ASSIGN_OR_RETURN(ended, txn.DeleteSessionsOf(member_id));
        left.sessions_ended = static_cast<int>(ended.size());
        KZ_RETURN_IF_ERROR(txn.ClosePasswordResets(member_id, now));
        // The profile is erased; the member id stays on purchases and entries (accounting).
        core::Member erased;
        erased.member_id = member_id;
        erased.status = core::MemberStatus::kClosed;
        erased.created_at = member->created_at;
        KZ_RETURN_IF_ERROR(txn.UpdateMember(erased));
        EventData data = {{"member_id", member_id},
                          {"status", "left"},
                          {"changed", {"status", "profile", "consents"}},
                          {"by", caller.Describe()},
                          {"updated_at", EventTime(now)}};
        return RecordMemberEvent(txn, "member.updated", member_id, now, data);
    }));
    auth_.ForgetSessions(ended);
    return left;
}

}  // namespace kizuna::hub
