#include "hub/member_service.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

#include "core/card_record.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
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

// A self-service enrollment waiting for its email to be confirmed travels in the confirmation
// token itself, sealed by the hub (HubContext::SealToken): the hub keeps nothing until it is
// confirmed. Fields are netstrings ("<length>:<bytes>").
constexpr std::string_view kEnrollmentTokenContext = "kizuna enrollment confirmation v1";

struct PendingEnrollment {
    core::Member member;  // profile, consents, password hash
    core::CardMedium medium = core::CardMedium::kVirtual;
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
                                    core::Timestamp expires_at) {
    const core::Profile& p = member.profile;
    const core::Consents& c = member.consents;
    const std::string expires = std::to_string(core::ToUnixSeconds(expires_at));
    std::string out;
    for (const std::string* field : {&expires, &p.name, &p.name_kana, &p.postal_code, &p.address,
                                     &p.phone, &p.birth_date, &p.occupation, &p.email}) {
        PutField(out, *field);
    }
    const std::string consents = {c.email_offers ? 'y' : 'n', c.postal_offers ? 'y' : 'n',
                                  c.share_profile ? 'y' : 'n'};
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
        consents.size() != 3) {
        return bad();
    }
    pending.expires_at = core::FromUnixSeconds(seconds);
    pending.member.consents.email_offers = consents[0] == 'y';
    pending.member.consents.postal_offers = consents[1] == 'y';
    pending.member.consents.share_profile = consents[2] == 'y';
    auto parsed = core::ParseCardMedium(medium, "medium");
    if (!parsed) return bad();
    pending.medium = *parsed;
    return pending;
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
    return Create(std::move(member), std::move(card), caller.program_id);
}

core::Result<Enrollment> MemberService::Create(core::Member member, core::Card card,
                                               const std::string& program_id) {
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
    if (existing) {
        mail.subject = "Your Kizuna membership";
        mail.body =
            "Someone, perhaps you, asked to enroll with this address, which already has a "
            "membership (member " +
            existing->member_id +
            ").\n\nLog in with your member id, card number or this address. If you "
            "forgot your password or lost your card, a store can reissue it.\n\nIf it "
            "was not you, nothing has changed and you can ignore this mail.\n";
    } else {
        member.profile = std::move(profile);
        const std::string token = context_.SealToken(
            EncodePendingEnrollment(member, request.medium, now + kEnrollmentConfirmationLifetime),
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
    // A self-service member belongs to no program until they buy or reserve somewhere.
    return Create(std::move(pending.member), std::move(card), std::string());
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
        return core::Status::Ok();
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
