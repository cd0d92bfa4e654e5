#include "storage/sqlite/sqlite_txn.hpp"

#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "core/card.hpp"
#include "core/earning_rule.hpp"
#include "core/ledger.hpp"
#include "core/member.hpp"
#include "core/store.hpp"

namespace kizuna::storage::sqlite {

using core::ErrorCode;
using core::MakeError;

namespace {

template <typename T>
std::optional<T> FirstOf(std::vector<T>&& rows) {
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
}

std::string_view MemberStatusText(core::MemberStatus status) {
    return status == core::MemberStatus::kClosed ? "closed" : "active";
}

Result<core::MemberStatus> ParseMemberStatus(const std::string& text) {
    if (text == "active") return core::MemberStatus::kActive;
    if (text == "closed") return core::MemberStatus::kClosed;
    return Corrupt("members.status", text);
}

Result<core::CardStatus> ParseCardStatus(const std::string& text) {
    for (auto status : {core::CardStatus::kActive, core::CardStatus::kRevoked}) {
        if (text == core::CardStatusName(status)) return status;
    }
    return Corrupt("cards.status", text);
}

#define KZ_MEMBER_COLUMNS                                                                     \
    "member_id, password_hash, name, name_kana, postal_code, address, phone, birth_date, "    \
    "occupation, email, consent_email_offers, consent_postal_offers, consent_share_profile, " \
    "status, created_at, email_confirmed"

constexpr const char kMemberExistsSql[] = "SELECT 1 FROM members WHERE member_id = ?1";

Result<core::Member> ReadMember(Statement& s) {
    core::Member m;
    m.member_id = s.Text(0);
    m.password_hash = s.Text(1);
    m.profile.name = s.Text(2);
    m.profile.name_kana = s.Text(3);
    m.profile.postal_code = s.Text(4);
    m.profile.address = s.Text(5);
    m.profile.phone = s.Text(6);
    m.profile.birth_date = s.Text(7);
    m.profile.occupation = s.Text(8);
    m.profile.email = s.Text(9);
    m.consents.email_offers = s.Bool(10);
    m.consents.postal_offers = s.Bool(11);
    m.consents.share_profile = s.Bool(12);
    KZ_ASSIGN_OR_RETURN(m.status, ParseMemberStatus(s.Text(13)));
    m.created_at = s.Time(14);
    m.email_confirmed = s.Bool(15);
    return m;
}

#define KZ_CARD_COLUMNS \
    "card_number, member_id, generation, status, medium, issued_by_store, issued_at, revoked_at"

Result<core::Card> ReadCard(Statement& s) {
    core::Card c;
    c.card_number = s.Text(0);
    c.member_id = s.Text(1);
    c.generation = static_cast<int>(s.Int(2));
    KZ_ASSIGN_OR_RETURN(c.status, ParseCardStatus(s.Text(3)));
    std::string medium = s.Text(4);
    KZ_ASSIGN_OR_RETURN(
        c.medium, StoredEnum(core::ParseCardMedium(medium, "medium"), "cards.medium", medium));
    c.issued_by_store = s.Text(5);
    c.issued_at = s.Time(6);
    c.revoked_at = s.OptionalTime(7);
    return c;
}

#define KZ_PROGRAM_COLUMNS "program_id, name, created_at"

Result<core::Program> ReadProgram(Statement& s) {
    return core::Program{s.Text(0), s.Text(1), s.Time(2)};
}

#define KZ_STORE_COLUMNS "store_id, name, kind, program_id, currency, api_key_hash, created_at"

Result<core::Store> ReadStore(Statement& s) {
    core::Store store;
    store.store_id = s.Text(0);
    store.name = s.Text(1);
    std::string kind = s.Text(2);
    KZ_ASSIGN_OR_RETURN(store.kind,
                        StoredEnum(core::ParseStoreKind(kind, "kind"), "stores.kind", kind));
    store.program_id = s.Text(3);
    store.currency = s.Text(4);
    store.api_key_hash = s.Text(5);
    store.created_at = s.Time(6);
    return store;
}

// A purchase and its lines come back as one row per line (or one row with NULL line columns
// for a purchase without lines), purchase columns first.
#define KZ_PURCHASE_LINE_COLUMNS                                                             \
    "p.purchase_id, p.member_id, p.card_number, p.store_id, p.program_id, p.occurred_at, "   \
    "p.recorded_at, p.currency, p.total, p.points_earned, p.rule_version, p.balance_after, " \
    "p.fingerprint, l.line_no, l.name, l.sku, l.category, l.quantity, l.unit_price, "        \
    "p.points_expired, p.purchase_no, p.terminal_id, p.staff_id, p.points_used, "            \
    "p.points_value, p.voided_at, p.void_terminal_id, p.void_staff_id, p.void_balance_after"

// A member's purchases with their lines, newest first: occurred_at DESC, then insertion order
// (purchase_no, the rowid) DESC for purchases at the same time, each purchase's lines by line_no.
// Both orders come straight from the indexes (purchases_member holds (member_id, occurred_at,
// purchase_no), the lines' primary key (purchase_no, line_no)), so SQLite walks them without
// sorting. There is no
// LIMIT: it would count lines, not purchases, and limiting purchases in a subquery made SQLite
// sort the joined rows in a temporary B-tree (the query took 10 µs instead of 6 for a member of
// the bench data). The reader stops stepping after the purchases it wants instead. The program
// filter is a residual test on the member's few rows, which keeps the same order.
#define KZ_MEMBER_PURCHASES_SQL(filter)                                             \
    "SELECT " KZ_PURCHASE_LINE_COLUMNS                                              \
    " FROM purchases p LEFT JOIN purchase_lines l ON l.purchase_no = p.purchase_no" \
    " WHERE p.member_id = ?1" filter " ORDER BY p.occurred_at DESC, p.purchase_no DESC, l.line_no"
constexpr const char kMemberPurchasesSql[] = KZ_MEMBER_PURCHASES_SQL("");
constexpr const char kMemberProgramPurchasesSql[] =
    KZ_MEMBER_PURCHASES_SQL(" AND p.program_id = ?2");
#undef KZ_MEMBER_PURCHASES_SQL

#define KZ_REDEMPTION_COLUMNS                                                              \
    "redemption_id, member_id, store_id, program_id, points, occurred_at, balance_after, " \
    "fingerprint, terminal_id, staff_id"

Result<core::Redemption> ReadRedemption(Statement& s) {
    core::Redemption r;
    r.redemption_id = s.Text(0);
    r.member_id = s.Text(1);
    r.store_id = s.Text(2);
    r.program_id = s.Text(3);
    r.points = s.Int(4);
    r.occurred_at = s.Time(5);
    r.balance_after = s.Int(6);
    r.fingerprint = s.Text(7);
    r.terminal_id = s.Text(8);
    r.staff_id = s.Text(9);
    return r;
}

// The refund columns prefixed with `r.`, then its lines (NULL for a refund without lines), for
// a `refunds r LEFT JOIN refund_lines l` ordered by refund then l.line_no.
#define KZ_REFUND_LINE_COLUMNS                                                                  \
    "r.refund_id, p.purchase_id, r.store_id, r.amount, r.points_reversed, "                     \
    "r.points_unrecovered, r.occurred_at, r.balance_after, r.fingerprint, l.purchase_line_no, " \
    "l.quantity, l.amount, r.points_expired, r.refund_no, r.terminal_id, r.staff_id"
// Refunds with their purchase (for its id) and lines.
#define KZ_REFUNDS_WITH_LINES                                           \
    " FROM refunds r JOIN purchases p ON p.purchase_no = r.purchase_no" \
    " LEFT JOIN refund_lines l ON l.refund_no = r.refund_no"

// Groups the joined rows of KZ_REFUND_LINE_COLUMNS into refunds, keeping the query's order.
Result<std::vector<core::Refund>> CollectRefunds(StatementLease& statement) {
    std::vector<core::Refund> refunds;
    int64_t last_refund_no = 0;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return refunds;
        Statement& s = *statement;
        const int64_t refund_no = s.Int(13);
        if (refunds.empty() || refund_no != last_refund_no) {
            last_refund_no = refund_no;
            core::Refund r;
            r.refund_id = s.Text(0);
            r.purchase_id = s.Text(1);
            r.store_id = s.Text(2);
            r.amount = s.Int(3);
            r.points_reversed = s.Int(4);
            r.points_unrecovered = s.Int(5);
            r.occurred_at = s.Time(6);
            r.balance_after = s.Int(7);
            r.fingerprint = s.Text(8);
            r.points_expired = s.Int(12);
            r.terminal_id = s.Text(14);
            r.staff_id = s.Text(15);
            refunds.push_back(std::move(r));
        }
        if (!s.IsNull(9)) {
            refunds.back().lines.push_back(
                core::RefundedLine{.purchase_line = static_cast<int>(s.Int(9) - 1),
                                   .quantity = s.Int(10),
                                   .amount = s.Int(11)});
        }
    }
}

#define KZ_ENTRY_COLUMNS                                                               \
    "entry_id, member_id, program_id, store_id, delta, kind, ref, occurred_at, note, " \
    "COALESCE(recorded_at, occurred_at), terminal_id, staff_id"

// A member's entries, newest first, a page at a time, with or without a program filter.
#define KZ_MEMBER_ENTRIES_SQL(filter)                                    \
    "SELECT " KZ_ENTRY_COLUMNS                                           \
    " FROM ledger_entries WHERE member_id = ?1 AND entry_id < ?2" filter \
    " ORDER BY entry_id DESC LIMIT ?3"
constexpr const char kMemberEntriesSql[] = KZ_MEMBER_ENTRIES_SQL("");
constexpr const char kMemberProgramEntriesSql[] = KZ_MEMBER_ENTRIES_SQL(" AND program_id = ?4");
#undef KZ_MEMBER_ENTRIES_SQL

constexpr const char kMemberBalancesSql[] =
    "SELECT program_id, points FROM balances WHERE member_id = ?1 ORDER BY program_id";

Result<core::LedgerEntry> ReadEntry(Statement& s) {
    core::LedgerEntry e;
    e.entry_id = s.Int(0);
    e.member_id = s.Text(1);
    e.program_id = s.Text(2);
    e.store_id = s.Text(3);
    e.delta = s.Int(4);
    std::string kind = s.Text(5);
    KZ_ASSIGN_OR_RETURN(e.kind,
                        StoredEnum(core::ParseEntryKind(kind), "ledger_entries.kind", kind));
    e.ref = s.Text(6);
    e.occurred_at = s.Time(7);
    e.note = s.Text(8);
    e.recorded_at = s.Time(9);
    e.terminal_id = s.Text(10);
    e.staff_id = s.Text(11);
    return e;
}

#define KZ_LOT_COLUMNS                                                                     \
    "lot_id, member_id, program_id, store_id, purchase_id, earned, remaining, earned_at, " \
    "expires_at"

Result<core::Lot> ReadLot(Statement& s) {
    core::Lot lot;
    lot.lot_id = s.Int(0);
    lot.member_id = s.Text(1);
    lot.program_id = s.Text(2);
    lot.store_id = s.Text(3);
    lot.purchase_id = s.Text(4);
    lot.earned = s.Int(5);
    lot.remaining = s.Int(6);
    lot.earned_at = s.Time(7);
    lot.expires_at = s.Time(8);
    return lot;
}

// An offer comes back as one row per category (or one row with a NULL category).
#define KZ_OFFER_CATEGORY_COLUMNS                                                       \
    "o.offer_id, o.store_id, o.title, o.body, o.valid_from, o.valid_to, o.created_at, " \
    "c.category, o.points_multiplier_milli, o.withdrawn_at, o.updated_at"

}  // namespace

std::vector<std::string_view> SqliteTxn::UsageQueries() {
    return {kMemberExistsSql,           kMemberBalancesSql, kMemberPurchasesSql,
            kMemberProgramPurchasesSql, kMemberEntriesSql,  kMemberProgramEntriesSql};
}

// ---------------------------------------------------------------------------------------------
// Members and cards

Result<std::vector<core::Member>> SqliteTxn::QueryMembers(std::string_view sql,
                                                          std::string_view key) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(sql));
    statement->Bind(1, key);
    return Collect<core::Member>(statement, ReadMember);
}

Result<std::optional<core::Member>> SqliteTxn::FindMember(std::string_view member_id) {
    KZ_ASSIGN_OR_RETURN(
        auto members,
        QueryMembers("SELECT " KZ_MEMBER_COLUMNS " FROM members WHERE member_id = ?1", member_id));
    return FirstOf(std::move(members));
}

Result<bool> SqliteTxn::MemberExists(std::string_view member_id) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(kMemberExistsSql));
    statement->Bind(1, member_id);
    return statement->Step();
}

Result<std::optional<core::Member>> SqliteTxn::FindMemberByEmail(std::string_view email) {
    if (email.empty()) return std::optional<core::Member>();
    // The column compares case-insensitively (COLLATE NOCASE), like the unique index.
    KZ_ASSIGN_OR_RETURN(auto members, QueryMembers("SELECT " KZ_MEMBER_COLUMNS
                                                   " FROM members WHERE email = ?1 AND email <> ''",
                                                   email));
    return FirstOf(std::move(members));
}

Result<std::vector<core::Member>> SqliteTxn::FindMembersByPhone(std::string_view phone) {
    std::string normalized = core::NormalizePhone(phone);
    if (normalized.empty()) return std::vector<core::Member>();
    return QueryMembers("SELECT " KZ_MEMBER_COLUMNS
                        " FROM members WHERE phone_normalized = ?1 AND phone_normalized <> ''"
                        " ORDER BY created_at, member_id",
                        normalized);
}

Status SqliteTxn::InsertMember(const core::Member& m) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare(
            "INSERT INTO members (member_id, password_hash, name, name_kana, postal_code, "
            "address, phone, phone_normalized, birth_date, occupation, email, "
            "consent_email_offers, consent_postal_offers, consent_share_profile, status, "
            "created_at, email_confirmed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
            "?12, ?13, ?14, ?15, ?16, ?17)"));
    statement->BindAll(m.member_id, m.password_hash, m.profile.name, m.profile.name_kana,
                       m.profile.postal_code, m.profile.address, m.profile.phone,
                       core::NormalizePhone(m.profile.phone), m.profile.birth_date,
                       m.profile.occupation, m.profile.email, m.consents.email_offers,
                       m.consents.postal_offers, m.consents.share_profile,
                       MemberStatusText(m.status), m.created_at, m.email_confirmed);
    return InContext(statement->Run(), "inserting member " + m.member_id);
}

Status SqliteTxn::UpdateMember(const core::Member& m) {
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare(
                "UPDATE members SET password_hash = ?2, name = ?3, name_kana = ?4, "
                "postal_code = ?5, address = ?6, phone = ?7, phone_normalized = ?8, "
                "birth_date = ?9, occupation = ?10, email = ?11, consent_email_offers = ?12, "
                "consent_postal_offers = ?13, consent_share_profile = ?14, status = ?15, "
                "email_confirmed = ?16 WHERE member_id = ?1"));
        statement->BindAll(m.member_id, m.password_hash, m.profile.name, m.profile.name_kana,
                           m.profile.postal_code, m.profile.address, m.profile.phone,
                           core::NormalizePhone(m.profile.phone), m.profile.birth_date,
                           m.profile.occupation, m.profile.email, m.consents.email_offers,
                           m.consents.postal_offers, m.consents.share_profile,
                           MemberStatusText(m.status), m.email_confirmed);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), "updating member " + m.member_id));
    }
    if (connection_.Changes() == 0) {
        return MakeError(ErrorCode::kNotFound, "no member " + m.member_id);
    }
    return Status::Ok();
}

Result<std::optional<core::Card>> SqliteTxn::FindCard(std::string_view card_number) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare("SELECT " KZ_CARD_COLUMNS
                                                            " FROM cards WHERE card_number = ?1"));
    statement->Bind(1, card_number);
    KZ_ASSIGN_OR_RETURN(auto cards, Collect<core::Card>(statement, ReadCard));
    return FirstOf(std::move(cards));
}

Result<std::vector<core::Card>> SqliteTxn::CardsOf(std::string_view member_id) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare("SELECT " KZ_CARD_COLUMNS
                                                            " FROM cards WHERE member_id = ?1"
                                                            " ORDER BY generation"));
    statement->Bind(1, member_id);
    return Collect<core::Card>(statement, ReadCard);
}

Result<std::optional<MemberStanding>> SqliteTxn::StandingOf(std::string_view member_id) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT status, (SELECT issued_at FROM cards WHERE member_id = ?1"
                            "                ORDER BY generation LIMIT 1)"
                            " FROM members WHERE member_id = ?1"));
    statement->Bind(1, member_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return std::optional<MemberStanding>();
    MemberStanding standing;
    KZ_ASSIGN_OR_RETURN(standing.status, ParseMemberStatus(statement->Text(0)));
    if (!statement->IsNull(1)) standing.first_card_issued_at = statement->Time(1);
    return std::optional<MemberStanding>(std::move(standing));
}

Status SqliteTxn::InsertCard(const core::Card& c) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO cards (" KZ_CARD_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    statement->BindAll(c.card_number, c.member_id, c.generation, core::CardStatusName(c.status),
                       core::CardMediumName(c.medium), NullIfEmpty{c.issued_by_store}, c.issued_at,
                       c.revoked_at);
    return InContext(statement->Run(), "inserting card " + c.card_number);
}

Status SqliteTxn::RevokeCard(std::string_view card_number, Timestamp at) {
    {
        // Revoking twice keeps the first revocation time.
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("UPDATE cards SET status = 'revoked', "
                                                "revoked_at = ?2 WHERE card_number = ?1 "
                                                "AND status = 'active'"));
        statement->BindAll(card_number, at);
        KZ_RETURN_IF_ERROR(statement->Run());
    }
    if (connection_.Changes() > 0) return Status::Ok();
    KZ_ASSIGN_OR_RETURN(auto card, FindCard(card_number));
    if (!card) return MakeError(ErrorCode::kNotFound, "no card " + std::string(card_number));
    return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Programs, stores and rules

Result<std::optional<core::Program>> SqliteTxn::FindProgram(std::string_view program_id) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT " KZ_PROGRAM_COLUMNS " FROM programs WHERE program_id = ?1"));
    statement->Bind(1, program_id);
    KZ_ASSIGN_OR_RETURN(auto programs, Collect<core::Program>(statement, ReadProgram));
    return FirstOf(std::move(programs));
}

Result<std::vector<core::Program>> SqliteTxn::ListPrograms() {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_PROGRAM_COLUMNS
                                            " FROM programs ORDER BY created_at, program_id"));
    return Collect<core::Program>(statement, ReadProgram);
}

Status SqliteTxn::InsertProgram(const core::Program& p) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("INSERT INTO programs (" KZ_PROGRAM_COLUMNS ") VALUES (?1, ?2, ?3)"));
    statement->BindAll(p.program_id, p.name, p.created_at);
    return InContext(statement->Run(), "inserting program " + p.program_id);
}

Result<std::vector<core::Store>> SqliteTxn::QueryStores(std::string_view sql,
                                                        std::optional<std::string_view> key) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(sql));
    if (key) statement->Bind(1, *key);
    return Collect<core::Store>(statement, ReadStore);
}

Result<std::optional<core::Store>> SqliteTxn::FindStore(std::string_view store_id) {
    KZ_ASSIGN_OR_RETURN(
        auto stores,
        QueryStores("SELECT " KZ_STORE_COLUMNS " FROM stores WHERE store_id = ?1", store_id));
    return FirstOf(std::move(stores));
}

Result<std::optional<core::Store>> SqliteTxn::FindStoreByKeyHash(std::string_view hash) {
    if (hash.empty()) return std::optional<core::Store>();
    KZ_ASSIGN_OR_RETURN(auto stores, QueryStores("SELECT " KZ_STORE_COLUMNS " FROM stores"
                                                 " WHERE api_key_hash = ?1 AND api_key_hash <> ''",
                                                 hash));
    return FirstOf(std::move(stores));
}

Result<std::vector<core::Store>> SqliteTxn::ListStores() {
    return QueryStores("SELECT " KZ_STORE_COLUMNS " FROM stores ORDER BY created_at, store_id",
                       std::nullopt);
}

Status SqliteTxn::InsertStore(const core::Store& s) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO stores (" KZ_STORE_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    statement->BindAll(s.store_id, s.name, core::StoreKindName(s.kind), s.program_id, s.currency,
                       s.api_key_hash, s.created_at);
    return InContext(statement->Run(), "inserting store " + s.store_id);
}

Result<std::vector<core::EarningRule>> SqliteTxn::RuleVersions(std::string_view store_id) {
    std::vector<core::EarningRule> rules;
    std::map<int64_t, std::size_t> index_of_version;
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("SELECT version, effective_from, amount_per_point, rounding, "
                                "validity_days FROM rule_versions WHERE store_id = ?1 "
                                "ORDER BY version"));
        statement->Bind(1, store_id);
        while (true) {
            KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
            if (!row) break;
            core::EarningRule rule;
            rule.store_id = std::string(store_id);
            rule.version = static_cast<int>(statement->Int(0));
            rule.effective_from = statement->Time(1);
            rule.amount_per_point = statement->Int(2);
            std::string rounding = statement->Text(3);
            KZ_ASSIGN_OR_RETURN(rule.rounding, StoredEnum(core::ParseRounding(rounding, "rounding"),
                                                          "rule_versions.rounding", rounding));
            rule.validity_days = static_cast<int>(statement->Int(4));
            index_of_version[rule.version] = rules.size();
            rules.push_back(std::move(rule));
        }
    }
    if (rules.empty()) return rules;
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("SELECT version, category, multiplier_milli "
                                "FROM rule_category_multipliers WHERE store_id = ?1"));
        statement->Bind(1, store_id);
        while (true) {
            KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
            if (!row) break;
            auto it = index_of_version.find(statement->Int(0));
            if (it == index_of_version.end()) continue;  // FK makes this impossible
            rules[it->second].category_multipliers_milli[statement->Text(1)] = statement->Int(2);
        }
    }
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("SELECT version, starts_at, ends_at, multiplier_milli "
                                "FROM rule_bonus_windows WHERE store_id = ?1 "
                                "ORDER BY version, position"));
        statement->Bind(1, store_id);
        while (true) {
            KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
            if (!row) break;
            auto it = index_of_version.find(statement->Int(0));
            if (it == index_of_version.end()) continue;
            rules[it->second].bonus_windows.push_back(
                core::BonusWindow{statement->Time(1), statement->Time(2), statement->Int(3)});
        }
    }
    return rules;
}

Status SqliteTxn::InsertRuleVersion(const core::EarningRule& rule) {
    int64_t latest = 0;
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("SELECT COALESCE(MAX(version), 0) "
                                                "FROM rule_versions WHERE store_id = ?1"));
        statement->Bind(1, rule.store_id);
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (row) latest = statement->Int(0);
    }
    std::string what =
        "inserting rule version " + std::to_string(rule.version) + " of store " + rule.store_id;
    if (rule.version <= latest) {
        return MakeError(ErrorCode::kAlreadyExists,
                         what + ": version " + std::to_string(latest) + " exists already");
    }
    if (rule.version != latest + 1) {
        return MakeError(ErrorCode::kInternal,
                         what + ": the next version is " + std::to_string(latest + 1));
    }
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO rule_versions (store_id, version, effective_from, "
                                "amount_per_point, rounding, validity_days) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
        statement->BindAll(rule.store_id, rule.version, rule.effective_from, rule.amount_per_point,
                           core::RoundingName(rule.rounding), rule.validity_days);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    for (const auto& [category, multiplier] : rule.category_multipliers_milli) {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO rule_category_multipliers (store_id, version, "
                                "category, multiplier_milli) VALUES (?1, ?2, ?3, ?4)"));
        statement->BindAll(rule.store_id, rule.version, category, multiplier);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    int position = 0;
    for (const core::BonusWindow& window : rule.bonus_windows) {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO rule_bonus_windows (store_id, version, position, "
                                "starts_at, ends_at, multiplier_milli) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
        statement->BindAll(rule.store_id, rule.version, position++, window.start, window.end,
                           window.multiplier_milli);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Purchases, redemptions, refunds

namespace {

// A purchase from a row of KZ_PURCHASE_LINE_COLUMNS, without its lines.
core::Purchase PurchaseOfRow(Statement& s) {
    core::Purchase p;
    p.purchase_id = s.Text(0);
    p.member_id = s.Text(1);
    p.card_number = s.Text(2);
    p.store_id = s.Text(3);
    p.program_id = s.Text(4);
    p.occurred_at = s.Time(5);
    p.recorded_at = s.Time(6);
    p.currency = s.Text(7);
    p.total = s.Int(8);
    p.points_earned = s.Int(9);
    p.rule_version = static_cast<int>(s.Int(10));
    p.balance_after = s.Int(11);
    p.fingerprint = s.Text(12);
    p.points_expired = s.Int(19);
    p.terminal_id = s.Text(21);
    p.staff_id = s.Text(22);
    p.points_used = s.Int(23);
    p.points_value = s.Int(24);
    p.voided_at = s.OptionalTime(25);
    p.void_terminal_id = s.Text(26);
    p.void_staff_id = s.Text(27);
    p.void_balance_after = s.Int(28);
    return p;
}

// The line of a row of KZ_PURCHASE_LINE_COLUMNS (its l.line_no, column 13, is not NULL).
core::PurchaseLine PurchaseLineOfRow(Statement& s) {
    return core::PurchaseLine{s.Text(14), s.Text(15), s.Text(16), s.Int(17), s.Int(18)};
}

}  // namespace

Result<std::vector<core::Purchase>> SqliteTxn::QueryPurchases(StatementLease& statement,
                                                              std::size_t max_purchases) {
    std::vector<core::Purchase> purchases;
    int64_t last_purchase_no = 0;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return purchases;
        Statement& s = *statement;
        // Grouped by number: two stores' purchases may share an id.
        const int64_t purchase_no = s.Int(20);
        if (purchases.empty() || purchase_no != last_purchase_no) {
            last_purchase_no = purchase_no;
            // The rows of the purchase after the last one wanted: stop without reading them.
            if (purchases.size() == max_purchases) return purchases;
            core::Purchase p = PurchaseOfRow(s);
            purchases.push_back(std::move(p));
        }
        if (!s.IsNull(13)) {
            purchases.back().lines.push_back(PurchaseLineOfRow(s));
        }
    }
}

Result<std::optional<core::Purchase>> SqliteTxn::FindPurchase(std::string_view store_id,
                                                              std::string_view purchase_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_PURCHASE_LINE_COLUMNS
                                            " FROM purchases p LEFT JOIN purchase_lines l"
                                            " ON l.purchase_no = p.purchase_no"
                                            " WHERE p.store_id = ?1 AND p.purchase_id = ?2"
                                            " ORDER BY l.line_no"));
    statement->BindAll(store_id, purchase_id);
    KZ_ASSIGN_OR_RETURN(auto purchases, QueryPurchases(statement));
    return FirstOf(std::move(purchases));
}

Result<std::vector<core::Purchase>> SqliteTxn::PurchasesOf(
    std::string_view member_id, std::optional<std::string_view> program_id, int limit) {
    if (limit <= 0) return std::vector<core::Purchase>();
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(program_id ? kMemberProgramPurchasesSql
                                                                       : kMemberPurchasesSql));
    statement->Bind(1, member_id);
    if (program_id) statement->Bind(2, *program_id);
    return QueryPurchases(statement, static_cast<std::size_t>(limit));
}

// ---------------------------------------------------------------------------------------------
// Usage pages: a member's purchases a bounded page at a time (GET /v1/members/{id}/usage)

namespace {

// The order and plan of kMemberPurchasesSql, starting after the cursor (occurred_at, purchase_no):
// the first test bounds the walk of the purchases_member index, the second drops the equal
// times already given.
constexpr const char kMemberPurchasePageSql[] =
    "SELECT " KZ_PURCHASE_LINE_COLUMNS
    " FROM purchases p LEFT JOIN purchase_lines l ON l.purchase_no = p.purchase_no"
    " WHERE p.member_id = ?1 AND p.occurred_at <= ?2 AND (p.occurred_at < ?2 OR p.purchase_no < ?3)"
    " ORDER BY p.occurred_at DESC, p.purchase_no DESC, l.line_no";

std::size_t TextBytes(const core::Purchase& p) {
    return p.purchase_id.size() + p.member_id.size() + p.card_number.size() + p.store_id.size() +
           p.program_id.size() + p.currency.size() + p.fingerprint.size();
}

std::size_t TextBytes(const core::PurchaseLine& line) {
    return line.name.size() + line.sku.size() + line.category.size();
}

}  // namespace

Result<PurchasePage> SqliteTxn::PurchasePageOf(std::string_view member_id,
                                               const PurchasePageRequest& request) {
    PurchasePage page;
    if (request.limit <= 0) return page;
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(kMemberPurchasePageSql));
    statement->Bind(1, member_id);
    if (request.after) {
        statement->Bind(2, request.after->occurred_at);
        statement->Bind(3, request.after->seq);
    } else {
        statement->Bind(2, std::numeric_limits<int64_t>::max());
        statement->Bind(3, std::numeric_limits<int64_t>::max());
    }
    // The purchase being read is complete only when the next one starts (or the rows end): it
    // joins the page then, if it fits; if not, the page ends before it.
    std::optional<core::Purchase> current;
    PurchaseCursor current_at;
    std::size_t lines = 0, bytes = 0, current_bytes = 0;
    auto fits = [&] {
        const std::size_t new_lines = lines + current->lines.size();
        const std::size_t new_bytes = bytes + current_bytes;
        return page.purchases.empty() ||
               (new_lines <= request.max_lines && new_bytes <= request.max_text_bytes);
    };
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        Statement& s = *statement;
        // Grouped by number: two stores' purchases may share an id.
        if (!row || !current || current_at.seq != s.Int(20)) {
            if (current) {
                if (!fits()) return page;  // next: the last purchase that fitted
                lines += current->lines.size();
                bytes += current_bytes;
                page.purchases.push_back(std::move(*current));
                page.next = current_at;
                current.reset();
            }
            if (!row) {
                page.next.reset();  // nothing after the last purchase
                return page;
            }
            // One row of the purchase after the last one wanted: more remain.
            if (page.purchases.size() == static_cast<std::size_t>(request.limit)) return page;
            core::Purchase p = PurchaseOfRow(s);
            current_at = PurchaseCursor{p.occurred_at, s.Int(20)};
            current_bytes = TextBytes(p);
            current = std::move(p);
        }
        if (!s.IsNull(13)) {
            current->lines.push_back(PurchaseLineOfRow(s));
            current_bytes += TextBytes(current->lines.back());
        }
    }
}

Status SqliteTxn::InsertPurchase(const core::Purchase& p) {
    auto what = [&] { return "inserting purchase " + p.purchase_id; };
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare(
                "INSERT INTO purchases (purchase_id, member_id, card_number, store_id, "
                "program_id, occurred_at, recorded_at, currency, total, points_earned, "
                "rule_version, balance_after, fingerprint, terminal_id, staff_id, points_used, "
                "points_value) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                "?17)"));
        statement->BindAll(p.purchase_id, p.member_id, p.card_number, p.store_id, p.program_id,
                           p.occurred_at, p.recorded_at, p.currency, p.total, p.points_earned,
                           p.rule_version, p.balance_after, p.fingerprint,
                           NullIfEmpty{p.terminal_id}, NullIfEmpty{p.staff_id}, p.points_used,
                           p.points_value);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    // The purchase's number: the rowid SQLite just gave it, the lines' key.
    const int64_t purchase_no = connection_.LastInsertRowId();
    int line_no = 0;
    for (const core::PurchaseLine& line : p.lines) {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO purchase_lines (purchase_no, line_no, name, sku, "
                                "category, quantity, unit_price) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
        statement->BindAll(purchase_no, ++line_no, line.name, line.sku, line.category,
                           line.quantity, line.unit_price);
        // Only the purchase's own id may report kAlreadyExists (callers take that for "stored
        // before"); a line of a new purchase that clashes is a broken database.
        if (Status stored = InContext(statement->Run(), what); !stored.ok()) {
            return MakeError(ErrorCode::kInternal, stored.error().message);
        }
    }
    int position = 0;
    for (const core::PointsDrawn& drawn : p.points_drawn) {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO purchase_points_drawn (purchase_no, position, lot_id, "
                                "points) VALUES (?1, ?2, ?3, ?4)"));
        statement->BindAll(purchase_no, ++position, drawn.lot_id, drawn.points);
        if (Status stored = InContext(statement->Run(), what); !stored.ok()) {
            return MakeError(ErrorCode::kInternal, stored.error().message);
        }
    }
    return Status::Ok();
}

Result<std::optional<core::Redemption>> SqliteTxn::FindRedemption(std::string_view store_id,
                                                                  std::string_view id) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT " KZ_REDEMPTION_COLUMNS
                            " FROM redemptions WHERE store_id = ?1 AND redemption_id = ?2"));
    statement->BindAll(store_id, id);
    KZ_ASSIGN_OR_RETURN(auto rows, Collect<core::Redemption>(statement, ReadRedemption));
    return FirstOf(std::move(rows));
}

Status SqliteTxn::InsertRedemption(const core::Redemption& r) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO redemptions (" KZ_REDEMPTION_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
    statement->BindAll(r.redemption_id, r.member_id, r.store_id, r.program_id, r.points,
                       r.occurred_at, r.balance_after, r.fingerprint, NullIfEmpty{r.terminal_id},
                       NullIfEmpty{r.staff_id});
    return InContext(statement->Run(), [&] { return "inserting redemption " + r.redemption_id; });
}

Result<std::optional<core::Refund>> SqliteTxn::FindRefund(std::string_view store_id,
                                                          std::string_view refund_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_REFUND_LINE_COLUMNS KZ_REFUNDS_WITH_LINES
                                            " WHERE r.store_id = ?1"
                                            " AND r.refund_id = ?2"
                                            " ORDER BY l.line_no"));
    statement->BindAll(store_id, refund_id);
    KZ_ASSIGN_OR_RETURN(auto rows, CollectRefunds(statement));
    return FirstOf(std::move(rows));
}

Result<std::vector<core::Refund>> SqliteTxn::RefundsOf(std::string_view store_id,
                                                       std::string_view purchase_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_REFUND_LINE_COLUMNS KZ_REFUNDS_WITH_LINES
                                            " WHERE p.store_id = ?1"
                                            " AND p.purchase_id = ?2"
                                            " ORDER BY r.occurred_at,"
                                            " r.refund_no, l.line_no"));
    statement->BindAll(store_id, purchase_id);
    return CollectRefunds(statement);
}

Status SqliteTxn::InsertRefund(const core::Refund& r) {
    auto what = [&] { return "inserting refund " + r.refund_id; };
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO refunds (refund_id, purchase_no, store_id, amount, "
                                "points_reversed, points_unrecovered, points_expired, "
                                "occurred_at, balance_after, fingerprint, terminal_id, staff_id) "
                                "VALUES (?1, (SELECT purchase_no FROM purchases"
                                " WHERE store_id = ?3 AND purchase_id = ?2),"
                                " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
        statement->BindAll(r.refund_id, r.purchase_id, r.store_id, r.amount, r.points_reversed,
                           r.points_unrecovered, r.points_expired, r.occurred_at, r.balance_after,
                           r.fingerprint, NullIfEmpty{r.terminal_id}, NullIfEmpty{r.staff_id});
        // A purchase that is not the store's leaves purchase_no NULL, which NOT NULL refuses.
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    const int64_t refund_no = connection_.LastInsertRowId();
    int line_no = 0;
    for (const core::RefundedLine& line : r.lines) {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO refund_lines (refund_no, line_no, purchase_no, "
                                "purchase_line_no, quantity, amount) VALUES (?1, ?2, "
                                "(SELECT purchase_no FROM refunds WHERE refund_no = ?1), "
                                "?3, ?4, ?5)"));
        statement->BindAll(refund_no, ++line_no, line.purchase_line + 1, line.quantity,
                           line.amount);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Balances, ledger and lots

Result<std::vector<Balance>> SqliteTxn::BalancesOf(std::string_view member_id) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(kMemberBalancesSql));
    statement->Bind(1, member_id);
    return Collect<Balance>(statement, [](Statement& s) -> Result<Balance> {
        return Balance{s.Text(0), s.Int(1)};
    });
}

Result<std::optional<int64_t>> SqliteTxn::FindBalance(std::string_view member_id,
                                                      std::string_view program_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT points FROM balances"
                                            " WHERE member_id = ?1 AND program_id = ?2"));
    statement->BindAll(member_id, program_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return std::optional<int64_t>();
    return std::optional<int64_t>(statement->Int(0));
}

Result<std::vector<core::LedgerEntry>> SqliteTxn::EntriesOf(
    std::string_view member_id, std::optional<std::string_view> program_id, Page page) {
    if (page.limit <= 0) return std::vector<core::LedgerEntry>();
    int64_t before = page.before_entry_id.value_or(std::numeric_limits<int64_t>::max());
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(program_id ? kMemberProgramEntriesSql
                                                                       : kMemberEntriesSql));
    statement->BindAll(member_id, before, page.limit);
    if (program_id) statement->Bind(4, *program_id);
    return Collect<core::LedgerEntry>(statement, ReadEntry);
}

Result<int64_t> SqliteTxn::AppendEntry(const core::LedgerEntry& e) {
    auto what = [&] {
        return "appending a ledger entry for member " + e.member_id + " in program " + e.program_id;
    };
    // The balance moves first, guarded so it cannot go below zero; when the guard refuses,
    // nothing has been written.
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("UPDATE balances SET points = points + ?3"
                                                " WHERE member_id = ?1 AND program_id = ?2"
                                                " AND points + ?3 >= 0"));
        statement->BindAll(e.member_id, e.program_id, e.delta);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    if (connection_.Changes() == 0) {
        // No row was updated: either there is no balance yet or it holds too few points. An
        // existing balance always takes a non-negative delta, so a negative one is refused.
        if (e.delta < 0) {
            KZ_ASSIGN_OR_RETURN(int64_t balance, BalanceOf(e.member_id, e.program_id));
            return MakeError(ErrorCode::kInsufficientPoints,
                             "the balance is " + std::to_string(balance) + " points, " +
                                 std::to_string(-e.delta) + " are needed");
        }
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("INSERT INTO balances (member_id, program_id, "
                                                "points) VALUES (?1, ?2, ?3)"));
        statement->BindAll(e.member_id, e.program_id, e.delta);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO ledger_entries (member_id, program_id,"
                                            " store_id, delta, kind, ref, occurred_at, note,"
                                            " recorded_at, terminal_id, staff_id)"
                                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
                                            " ?11)"));
    const Timestamp recorded_at = e.recorded_at == Timestamp{} ? e.occurred_at : e.recorded_at;
    statement->BindAll(e.member_id, e.program_id, NullIfEmpty{e.store_id}, e.delta,
                       core::EntryKindName(e.kind), e.ref, e.occurred_at, e.note, recorded_at,
                       NullIfEmpty{e.terminal_id}, NullIfEmpty{e.staff_id});
    KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    const int64_t entry_id = connection_.LastInsertRowId();
    KZ_RETURN_IF_ERROR(InContext(BookSettlement(e, entry_id), what));
    return entry_id;
}

Result<std::vector<core::Lot>> SqliteTxn::QueryLots(StatementLease& statement) {
    return Collect<core::Lot>(statement, ReadLot);
}

Result<std::vector<core::Lot>> SqliteTxn::OpenLots(std::string_view member_id,
                                                   std::string_view program_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_LOT_COLUMNS " FROM lots"
                                            " WHERE member_id = ?1 AND program_id = ?2"
                                            " AND remaining > 0 ORDER BY expires_at, lot_id"));
    statement->BindAll(member_id, program_id);
    return QueryLots(statement);
}

Result<std::vector<core::Lot>> SqliteTxn::ExpiredOpenLots(Timestamp now, int limit) {
    if (limit <= 0) return std::vector<core::Lot>();
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_LOT_COLUMNS " FROM lots"
                                            " WHERE remaining > 0 AND expires_at <= ?1"
                                            " ORDER BY expires_at, lot_id LIMIT ?2"));
    statement->BindAll(now, limit);
    return QueryLots(statement);
}

Result<int64_t> SqliteTxn::InsertLot(const core::Lot& lot) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO lots (member_id, program_id, store_id,"
                                            " purchase_id, earned, remaining, earned_at,"
                                            " expires_at)"
                                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    statement->BindAll(lot.member_id, lot.program_id, NullIfEmpty{lot.store_id},
                       NullIfEmpty{lot.purchase_id}, lot.earned, lot.remaining, lot.earned_at,
                       lot.expires_at);
    KZ_RETURN_IF_ERROR(InContext(statement->Run(), [&] {
        return "inserting a lot for member " + lot.member_id + " in program " + lot.program_id;
    }));
    return connection_.LastInsertRowId();
}

Status SqliteTxn::DrawFromLot(const core::LotDraw& draw) {
    auto what = [&] {
        return "drawing " + std::to_string(draw.points) + " points from lot " +
               std::to_string(draw.lot_id);
    };
    if (draw.points < 0) return MakeError(ErrorCode::kInternal, what() + ": negative draw");
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("UPDATE lots SET remaining = remaining - ?2"
                                                " WHERE lot_id = ?1 AND remaining >= ?2"));
        statement->BindAll(draw.lot_id, draw.points);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    if (connection_.Changes() > 0) return Status::Ok();
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT remaining FROM lots WHERE lot_id = ?1"));
    statement->Bind(1, draw.lot_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return MakeError(ErrorCode::kNotFound, what() + ": no such lot");
    return MakeError(ErrorCode::kInternal,
                     what() + ": it holds only " + std::to_string(statement->Int(0)));
}

Status SqliteTxn::ExpireFromLot(const core::LotDraw& draw) {
    KZ_RETURN_IF_ERROR(DrawFromLot(draw));
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("UPDATE purchases SET points_expired ="
                                            " points_expired + ?2 WHERE (store_id, purchase_id) ="
                                            " (SELECT store_id, purchase_id FROM lots"
                                            " WHERE lot_id = ?1)"));
    statement->BindAll(draw.lot_id, draw.points);
    return InContext(statement->Run(), [&] {
        return "counting " + std::to_string(draw.points) + " expired points of lot " +
               std::to_string(draw.lot_id);
    });
}

Result<std::vector<std::string>> SqliteTxn::CheckLedgerInvariants() {
    // Every (member, program) known to balances, entries or lots with points left, compared
    // three ways; a full scan, meant for checks and tests rather than the request path.
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare(
            "WITH e AS (SELECT member_id, program_id, SUM(delta) AS total"
            "           FROM ledger_entries GROUP BY member_id, program_id),"
            " l AS (SELECT member_id, program_id, SUM(remaining) AS total"
            "       FROM lots GROUP BY member_id, program_id),"
            " k AS (SELECT member_id, program_id FROM balances"
            "       UNION SELECT member_id, program_id FROM e"
            "       UNION SELECT member_id, program_id FROM l WHERE total <> 0)"
            " SELECT k.member_id, k.program_id, b.points, e.total, COALESCE(l.total, 0)"
            " FROM k"
            " LEFT JOIN balances b ON b.member_id = k.member_id AND b.program_id = k.program_id"
            " LEFT JOIN e ON e.member_id = k.member_id AND e.program_id = k.program_id"
            " LEFT JOIN l ON l.member_id = k.member_id AND l.program_id = k.program_id"
            " WHERE b.points IS NULL OR e.total IS NULL OR b.points <> e.total"
            "    OR b.points <> COALESCE(l.total, 0) OR b.points < 0"
            " ORDER BY k.member_id, k.program_id"));
    KZ_ASSIGN_OR_RETURN(
        auto problems, Collect<std::string>(statement, [](Statement& s) -> Result<std::string> {
            auto amount = [&](int column) {
                return s.IsNull(column) ? std::string("none") : std::to_string(s.Int(column));
            };
            return "member " + s.Text(0) + " program " + s.Text(1) + ": balance " + amount(2) +
                   ", sum of entries " + amount(3) + ", remaining in lots " + amount(4);
        }));
    // The schema's CHECK constraints keep these out, but a damaged or hand-edited file may not.
    KZ_ASSIGN_OR_RETURN(auto lots,
                        connection_.Prepare("SELECT lot_id, earned, remaining FROM lots"
                                            " WHERE remaining < 0 OR earned < 0"
                                            "    OR remaining > earned ORDER BY lot_id"));
    KZ_ASSIGN_OR_RETURN(
        auto bad_lots, Collect<std::string>(lots, [](Statement& s) -> Result<std::string> {
            return "lot " + std::to_string(s.Int(0)) + ": " + std::to_string(s.Int(2)) +
                   " points remaining of " + std::to_string(s.Int(1)) + " earned";
        }));
    for (auto& problem : bad_lots) problems.push_back(std::move(problem));
    KZ_ASSIGN_OR_RETURN(auto settlement, CheckSettlementTotals());
    for (auto& problem : settlement) problems.push_back(std::move(problem));
    return problems;
}

Result<std::vector<std::string>> SqliteTxn::CheckRecordInvariants() {
    // What each record must have left in the ledger (points_service): a purchase that earned
    // points an 'earn' entry and a lot of those points, a redemption a 'redeem' entry of minus
    // its points, a refund that reversed points a 'refund_reversal' entry of minus them; each
    // entry of those kinds names its record by `ref`. Entries are grouped by (kind, ref) first,
    // so a record with two entries shows as a wrong sum and every table is scanned once.
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare(
            "WITH e AS (SELECT kind, store_id, ref, MIN(member_id) AS member_id,"
            "                  MIN(program_id) AS program_id, COUNT(*) AS n, SUM(delta) AS total"
            "           FROM ledger_entries"
            "           WHERE kind IN ('earn', 'redeem', 'refund_reversal')"
            "           GROUP BY kind, store_id, ref),"
            " l AS (SELECT store_id, purchase_id, COUNT(*) AS n, SUM(earned) AS earned,"
            "              MIN(member_id) AS member_id, MIN(program_id) AS program_id"
            "       FROM lots WHERE purchase_id IS NOT NULL GROUP BY store_id, purchase_id),"
            " r AS (SELECT 'purchase' AS what, p.store_id AS store_id, p.purchase_id AS id,"
            "              p.member_id AS member_id, p.program_id AS program_id,"
            "              p.points_earned AS want, 'earn' AS kind"
            "       FROM purchases p"
            "       UNION ALL SELECT 'redemption', d.store_id, d.redemption_id, d.member_id,"
            "              d.program_id, -d.points, 'redeem' FROM redemptions d"
            "       UNION ALL SELECT 'refund', f.store_id, f.refund_id, p.member_id, p.program_id,"
            "              -f.points_reversed, 'refund_reversal'"
            "       FROM refunds f JOIN purchases p ON p.purchase_no = f.purchase_no"
            // Points used at a till (ref purchase/<id>) and a void's undoing (ref void/<id>:
            // an earn entry of minus the points earned, a redeem entry giving back those used).
            "       UNION ALL SELECT 'points used by purchase', p.store_id,"
            "              'purchase/' || p.purchase_id, p.member_id, p.program_id,"
            "              -p.points_used, 'redeem' FROM purchases p WHERE p.points_used > 0"
            "       UNION ALL SELECT 'void of purchase', p.store_id, 'void/' || p.purchase_id,"
            "              p.member_id, p.program_id, -p.points_earned, 'earn'"
            "       FROM purchases p WHERE p.voided_at IS NOT NULL"
            "       UNION ALL SELECT 'void of purchase', p.store_id, 'void/' || p.purchase_id,"
            "              p.member_id, p.program_id, p.points_used, 'redeem'"
            "       FROM purchases p WHERE p.voided_at IS NOT NULL)"
            // Records whose entry is missing, doubled, elsewhere or of other points.
            " SELECT r.what, r.id, r.want, e.n, e.total,"
            "        e.member_id = r.member_id AND e.program_id = r.program_id"
            " FROM r LEFT JOIN e ON e.kind = r.kind AND e.store_id = r.store_id AND e.ref = r.id"
            " WHERE (r.want = 0 AND e.n IS NOT NULL)"
            "    OR (r.want <> 0 AND (e.n IS NULL OR e.n <> 1 OR e.total <> r.want"
            "        OR e.member_id <> r.member_id OR e.program_id <> r.program_id))"
            // Entries whose record is missing.
            " UNION ALL SELECT 'entry ' || e.kind, e.ref, NULL, e.n, e.total, NULL"
            " FROM e LEFT JOIN r ON r.kind = e.kind AND r.store_id = e.store_id AND r.id = e.ref"
            " WHERE r.id IS NULL"
            // Purchases whose lot is missing, doubled, elsewhere or of other points.
            " UNION ALL SELECT 'lot of purchase', p.purchase_id, p.points_earned, l.n, l.earned,"
            "        l.member_id = p.member_id AND l.program_id = p.program_id"
            " FROM purchases p"
            " LEFT JOIN l ON l.store_id = p.store_id AND l.purchase_id = p.purchase_id"
            " WHERE (p.points_earned = 0 AND l.n IS NOT NULL)"
            "    OR (p.points_earned <> 0 AND (l.n IS NULL OR l.n <> 1"
            "        OR l.earned <> p.points_earned OR l.member_id <> p.member_id"
            "        OR l.program_id <> p.program_id))"
            " ORDER BY 1, 2"));
    KZ_ASSIGN_OR_RETURN(
        auto problems, Collect<std::string>(statement, [](Statement& s) -> Result<std::string> {
            const std::string what = s.Text(0);
            const std::string id = s.Text(1);
            if (what.starts_with("entry ")) {
                return "ledger " + what.substr(6) + " entry for " + id + ": no such record";
            }
            const std::string want = std::to_string(s.Int(2));
            const std::string rows = what == "lot of purchase" ? "lots" : "ledger entries";
            if (s.IsNull(3)) return what + " " + id + ": no " + rows + " (expected " + want + ")";
            std::string text = what + " " + id + ": expected " + want + ", found " +
                               std::to_string(s.Int(3)) + " " + rows + " totalling " +
                               std::to_string(s.Int(4));
            if (!s.IsNull(5) && s.Int(5) == 0) text += " of another member or program";
            return text;
        }));
    // Campaign grants and budgets (issue 19): loyalty_txn.cpp.
    KZ_ASSIGN_OR_RETURN(auto campaigns, CheckCampaignRecords());
    for (auto& problem : campaigns) problems.push_back(std::move(problem));
    return problems;
}

// ---------------------------------------------------------------------------------------------
// Offers, sessions, audit

Result<std::vector<core::Offer>> SqliteTxn::QueryOffers(StatementLease& statement) {
    std::vector<core::Offer> offers;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return offers;
        Statement& s = *statement;
        std::string offer_id = s.Text(0);
        if (offers.empty() || offers.back().offer_id != offer_id) {
            core::Offer o;
            o.offer_id = std::move(offer_id);
            o.store_id = s.Text(1);
            o.title = s.Text(2);
            o.body = s.Text(3);
            o.valid_from = s.Time(4);
            o.valid_to = s.Time(5);
            o.created_at = s.Time(6);
            o.points_multiplier_milli = s.Int(8);
            o.withdrawn_at = s.OptionalTime(9);
            o.updated_at = s.OptionalTime(10);
            offers.push_back(std::move(o));
        }
        if (!s.IsNull(7)) offers.back().categories.push_back(s.Text(7));
    }
}

Result<std::optional<core::Offer>> SqliteTxn::FindOffer(std::string_view offer_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_OFFER_CATEGORY_COLUMNS
                                            " FROM offers o LEFT JOIN offer_categories c"
                                            " ON c.offer_id = o.offer_id"
                                            " WHERE o.offer_id = ?1 ORDER BY c.position"));
    statement->Bind(1, offer_id);
    KZ_ASSIGN_OR_RETURN(auto offers, QueryOffers(statement));
    return FirstOf(std::move(offers));
}

Result<std::vector<core::Offer>> SqliteTxn::CurrentOffers(
    Timestamp now, const std::vector<std::string>& store_ids) {
    // One statement text per number of stores, so each shape is prepared once and cached.
    std::string sql =
        "WITH o AS (SELECT * FROM offers WHERE valid_to > ?1 AND valid_from <= ?1"
        " AND (withdrawn_at IS NULL OR withdrawn_at > ?1)";
    if (!store_ids.empty()) {
        sql += " AND store_id IN (";
        for (std::size_t i = 0; i < store_ids.size(); ++i) {
            sql += (i == 0 ? "?" : ", ?") + std::to_string(i + 2);
        }
        sql += ")";
    }
    sql += ") SELECT " KZ_OFFER_CATEGORY_COLUMNS
           " FROM o LEFT JOIN offer_categories c ON c.offer_id = o.offer_id"
           " ORDER BY o.created_at DESC, o.offer_id, c.position";
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(sql));
    statement->Bind(1, now);
    for (std::size_t i = 0; i < store_ids.size(); ++i) {
        statement->Bind(static_cast<int>(i + 2), store_ids[i]);
    }
    return QueryOffers(statement);
}

Status SqliteTxn::InsertOffer(const core::Offer& o) {
    std::string what = "inserting offer " + o.offer_id;
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO offers (offer_id, store_id, title, body,"
                                " valid_from, valid_to, created_at, points_multiplier_milli)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
        statement->BindAll(o.offer_id, o.store_id, o.title, o.body, o.valid_from, o.valid_to,
                           o.created_at, o.points_multiplier_milli);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    return InsertOfferCategories(o);
}

Status SqliteTxn::InsertOfferCategories(const core::Offer& o) {
    std::string what = "storing the categories of offer " + o.offer_id;
    int position = 0;
    for (const std::string& category : o.categories) {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("INSERT INTO offer_categories (offer_id,"
                                                " position, category) VALUES (?1, ?2, ?3)"));
        statement->BindAll(o.offer_id, position++, category);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    return Status::Ok();
}

Status SqliteTxn::UpdateOffer(const core::Offer& o) {
    std::string what = "updating offer " + o.offer_id;
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("UPDATE offers SET title = ?2, body = ?3, valid_from = ?4,"
                                " valid_to = ?5, points_multiplier_milli = ?6, withdrawn_at = ?7,"
                                " updated_at = ?8 WHERE offer_id = ?1"));
        statement->BindAll(o.offer_id, o.title, o.body, o.valid_from, o.valid_to,
                           o.points_multiplier_milli, o.withdrawn_at, o.updated_at);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    if (connection_.Changes() == 0)
        return MakeError(ErrorCode::kNotFound, "no offer " + o.offer_id);
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("DELETE FROM offer_categories WHERE offer_id = ?1"));
        statement->Bind(1, o.offer_id);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    return InsertOfferCategories(o);
}

Result<std::vector<core::Offer>> SqliteTxn::MultiplierOffersOf(std::string_view store_id,
                                                               Timestamp since) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_OFFER_CATEGORY_COLUMNS
                                            " FROM offers o LEFT JOIN offer_categories c"
                                            " ON c.offer_id = o.offer_id"
                                            " WHERE o.store_id = ?1 AND o.valid_to > ?2"
                                            " AND o.points_multiplier_milli > 1000"
                                            " AND o.withdrawn_at IS NULL"
                                            " ORDER BY o.offer_id, c.position"));
    statement->BindAll(store_id, since);
    return QueryOffers(statement);
}

Result<std::optional<PasswordReset>> SqliteTxn::FindPasswordReset(std::string_view token_hash) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT token_hash, member_id, created_at, expires_at,"
                                            " used_at FROM password_resets WHERE token_hash = ?1"));
    statement->Bind(1, token_hash);
    KZ_ASSIGN_OR_RETURN(
        auto resets, Collect<PasswordReset>(statement, [](Statement& s) -> Result<PasswordReset> {
            return PasswordReset{s.Text(0), s.Text(1), s.Time(2), s.Time(3), s.OptionalTime(4)};
        }));
    return FirstOf(std::move(resets));
}

Status SqliteTxn::InsertPasswordReset(const PasswordReset& reset) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO password_resets (token_hash, member_id,"
                                            " created_at, expires_at, used_at)"
                                            " VALUES (?1, ?2, ?3, ?4, ?5)"));
    statement->BindAll(reset.token_hash, reset.member_id, reset.created_at, reset.expires_at,
                       reset.used_at);
    return InContext(statement->Run(), "storing a password reset of member " + reset.member_id);
}

Status SqliteTxn::ClosePasswordResets(std::string_view member_id, Timestamp at) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("UPDATE password_resets SET used_at = ?2"
                                            " WHERE member_id = ?1 AND used_at IS NULL"));
    statement->BindAll(member_id, at);
    return InContext(statement->Run(),
                     "closing the password resets of member " + std::string(member_id));
}

Status SqliteTxn::DeleteSession(std::string_view token_hash) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("DELETE FROM sessions WHERE token_hash = ?1"));
    statement->Bind(1, token_hash);
    return InContext(statement->Run(), "deleting a session");
}

Result<std::vector<std::string>> SqliteTxn::DeleteSessionsOf(std::string_view member_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("DELETE FROM sessions WHERE member_id = ?1"
                                            " RETURNING token_hash"));
    statement->Bind(1, member_id);
    return Collect<std::string>(statement,
                                [](Statement& s) -> Result<std::string> { return s.Text(0); });
}

Result<std::vector<PurchaseRefund>> SqliteTxn::RefundsOfPurchasesBetween(std::string_view member_id,
                                                                         Timestamp from,
                                                                         Timestamp to) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT p.store_id, p.purchase_id, r.refund_id, r.store_id, r.amount,"
                            " r.points_reversed, r.points_unrecovered, r.points_expired,"
                            " r.occurred_at, r.balance_after"
                            " FROM purchases p JOIN refunds r ON r.purchase_no = p.purchase_no"
                            " WHERE p.member_id = ?1 AND p.occurred_at BETWEEN ?2 AND ?3"
                            " ORDER BY r.occurred_at, r.refund_no"));
    statement->BindAll(member_id, from, to);
    return Collect<PurchaseRefund>(statement, [](Statement& s) -> Result<PurchaseRefund> {
        PurchaseRefund found;
        found.purchase_store_id = s.Text(0);
        core::Refund& r = found.refund;
        r.purchase_id = s.Text(1);
        r.refund_id = s.Text(2);
        r.store_id = s.Text(3);
        r.amount = s.Int(4);
        r.points_reversed = s.Int(5);
        r.points_unrecovered = s.Int(6);
        r.points_expired = s.Int(7);
        r.occurred_at = s.Time(8);
        r.balance_after = s.Int(9);
        return found;
    });
}

namespace {

// The ids as a JSON array of strings, for "IN (SELECT value FROM json_each(?))": one statement
// for any number of ids.
std::string JsonArrayOf(const std::vector<std::string>& ids) {
    std::string out = "[";
    for (const std::string& id : ids) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (char c : id) {
            if (c == '"' || c == '\\') {
                out += '\\';
                out += c;
            } else if (static_cast<unsigned char>(c) < 0x20) {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
                out += escaped;
            } else {
                out += c;
            }
        }
        out += '"';
    }
    return out + "]";
}

}  // namespace

// A few ids (a usage page names one or two stores and programs) are read one primary-key lookup
// each; the json_each form cost an ephemeral table per read (a quarter of a usage read's time).
constexpr std::size_t kMaxPointLookups = 8;

Result<std::vector<core::Store>> SqliteTxn::StoresWithIds(const std::vector<std::string>& ids) {
    if (ids.empty()) return std::vector<core::Store>();
    if (ids.size() <= kMaxPointLookups) {
        std::vector<core::Store> stores;
        for (const std::string& id : ids) {
            KZ_ASSIGN_OR_RETURN(auto store, FindStore(id));
            if (store) stores.push_back(std::move(*store));
        }
        return stores;
    }
    return QueryStores("SELECT " KZ_STORE_COLUMNS
                       " FROM stores"
                       " WHERE store_id IN (SELECT value FROM json_each(?1))",
                       JsonArrayOf(ids));
}

Result<std::vector<core::Program>> SqliteTxn::ProgramsWithIds(const std::vector<std::string>& ids) {
    if (ids.empty()) return std::vector<core::Program>();
    if (ids.size() <= kMaxPointLookups) {
        std::vector<core::Program> programs;
        for (const std::string& id : ids) {
            KZ_ASSIGN_OR_RETURN(auto program, FindProgram(id));
            if (program) programs.push_back(std::move(*program));
        }
        return programs;
    }
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_PROGRAM_COLUMNS " FROM programs"
                                            " WHERE program_id IN"
                                            " (SELECT value FROM json_each(?1))"));
    statement->Bind(1, JsonArrayOf(ids));
    return Collect<core::Program>(statement, ReadProgram);
}

Result<std::optional<MemberSession>> SqliteTxn::FindSession(std::string_view token_hash) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT token_hash, member_id, created_at,"
                                            " expires_at FROM sessions WHERE token_hash = ?1"));
    statement->Bind(1, token_hash);
    KZ_ASSIGN_OR_RETURN(
        auto sessions, Collect<MemberSession>(statement, [](Statement& s) -> Result<MemberSession> {
            return MemberSession{s.Text(0), s.Text(1), s.Time(2), s.Time(3)};
        }));
    return FirstOf(std::move(sessions));
}

Status SqliteTxn::InsertSession(const MemberSession& session) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO sessions (token_hash, member_id,"
                                            " created_at, expires_at) VALUES (?1, ?2, ?3, ?4)"));
    statement->BindAll(session.token_hash, session.member_id, session.created_at,
                       session.expires_at);
    return InContext(statement->Run(), "inserting a session of member " + session.member_id);
}

Status SqliteTxn::DeleteExpiredSessions(Timestamp now) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("DELETE FROM sessions WHERE expires_at <= ?1"));
    statement->Bind(1, now);
    return InContext(statement->Run(), "deleting expired sessions");
}

Result<std::vector<AuditRecord>> SqliteTxn::AuditOf(std::string_view member_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT actor, action, member_id, at FROM audit_log"
                                            " WHERE member_id = ?1 ORDER BY audit_id"));
    statement->Bind(1, member_id);
    return Collect<AuditRecord>(statement, [](Statement& s) -> Result<AuditRecord> {
        return AuditRecord{s.Text(0), s.Text(1), s.Text(2), s.Time(3)};
    });
}

Status SqliteTxn::InsertAudit(const AuditRecord& record) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO audit_log (actor, action, member_id,"
                                            " at) VALUES (?1, ?2, ?3, ?4)"));
    statement->BindAll(record.actor, record.action, record.member_id, record.at);
    return InContext(statement->Run(), "recording an audit entry");
}

}  // namespace kizuna::storage::sqlite

// ---------------------------------------------------------------------------------------------
// Reservations, events and webhooks (store <-> online shop)

namespace kizuna::storage::sqlite {
namespace {

#define KZ_RESERVATION_COLUMNS                                                          \
    "created_by, reservation_id, member_id, store_id, program_id, item_name, item_sku," \
    " quantity, pickup_at, status, fingerprint, created_at, updated_at, updated_by"
#define KZ_WEBHOOK_COLUMNS \
    "webhook_id, store_id, program_id, url, events, secret, created_at, after_sequence"
#define KZ_DELIVERY_COLUMNS                                                                    \
    "delivery_id, webhook_id, event_sequence, status, attempts, created_at, first_attempt_at," \
    " last_attempt_at, next_attempt_at, last_status, last_error, delivered_at"
#define KZ_EVENT_COLUMNS "sequence, type, program_id, member_id, created_at, payload"

// Subscribed event types are stored space-separated (a type never holds a space).
std::string JoinEvents(const std::vector<std::string>& events) {
    std::string joined;
    for (const std::string& type : events) joined += (joined.empty() ? "" : " ") + type;
    return joined;
}

std::vector<std::string> SplitEvents(std::string_view joined) {
    std::vector<std::string> events;
    while (!joined.empty()) {
        const std::size_t space = joined.find(' ');
        events.emplace_back(joined.substr(0, space));
        if (space == std::string_view::npos) break;
        joined.remove_prefix(space + 1);
    }
    return events;
}

Result<Event> ReadEvent(Statement& s) {
    return Event{s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Time(4), s.Text(5)};
}

}  // namespace

Result<std::vector<core::Reservation>> SqliteTxn::QueryReservations(StatementLease& statement) {
    return Collect<core::Reservation>(statement, [](Statement& s) -> Result<core::Reservation> {
        core::Reservation r;
        r.created_by = s.Text(0);
        r.reservation_id = s.Text(1);
        r.member_id = s.Text(2);
        r.store_id = s.Text(3);
        r.program_id = s.Text(4);
        r.item_name = s.Text(5);
        r.item_sku = s.Text(6);
        r.quantity = s.Int(7);
        r.pickup_at = s.Time(8);
        const std::string status = s.Text(9);
        auto parsed = core::ParseReservationStatus(status, "status");
        if (!parsed) return Corrupt("reservations.status", status);
        r.status = *parsed;
        r.fingerprint = s.Text(10);
        r.created_at = s.Time(11);
        r.updated_at = s.Time(12);
        r.updated_by = s.Text(13);
        return r;
    });
}

Result<std::optional<core::Reservation>> SqliteTxn::FindReservation(
    std::string_view created_by, std::string_view reservation_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_RESERVATION_COLUMNS " FROM reservations"
                                            " WHERE created_by = ?1 AND reservation_id = ?2"));
    statement->BindAll(created_by, reservation_id);
    KZ_ASSIGN_OR_RETURN(auto rows, QueryReservations(statement));
    return FirstOf(std::move(rows));
}

Result<std::vector<core::Reservation>> SqliteTxn::ReservationsWithId(
    std::string_view reservation_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_RESERVATION_COLUMNS " FROM reservations"
                                            " WHERE reservation_id = ?1"
                                            " ORDER BY created_at, created_by"));
    statement->Bind(1, reservation_id);
    return QueryReservations(statement);
}

Result<std::vector<core::Reservation>> SqliteTxn::ReservationsOf(
    std::string_view member_id, std::optional<std::string_view> program_id, int limit) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT " KZ_RESERVATION_COLUMNS
                            " FROM reservations WHERE member_id = ?1"
                            " AND (?2 IS NULL OR program_id = ?2)"
                            " ORDER BY created_at DESC, created_by DESC, reservation_id DESC"
                            " LIMIT ?3"));
    statement->BindAll(member_id, program_id, limit);
    return QueryReservations(statement);
}

Status SqliteTxn::InsertReservation(const core::Reservation& r) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO reservations (" KZ_RESERVATION_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                                            " ?10, ?11, ?12, ?13, ?14)"));
    statement->BindAll(r.created_by, r.reservation_id, r.member_id, r.store_id, r.program_id,
                       r.item_name, r.item_sku, r.quantity, r.pickup_at,
                       core::ReservationStatusName(r.status), r.fingerprint, r.created_at,
                       r.updated_at, r.updated_by);
    return InContext(statement->Run(), [&] {
        return "inserting reservation " + r.reservation_id + " of " + r.created_by;
    });
}

Status SqliteTxn::UpdateReservation(const core::Reservation& r) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("UPDATE reservations SET status = ?3,"
                                            " updated_at = ?4, updated_by = ?5"
                                            " WHERE created_by = ?1 AND reservation_id = ?2"));
    statement->BindAll(r.created_by, r.reservation_id, core::ReservationStatusName(r.status),
                       r.updated_at, r.updated_by);
    auto what = [&] { return "updating reservation " + r.reservation_id + " of " + r.created_by; };
    KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    if (connection_.Changes() == 0) return MakeError(ErrorCode::kNotFound, what() + ": no such");
    return Status::Ok();
}

Result<std::vector<Event>> SqliteTxn::EventsAfter(int64_t after, int limit) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_EVENT_COLUMNS " FROM events"
                                            " WHERE sequence > ?1 ORDER BY sequence LIMIT ?2"));
    statement->BindAll(after, limit);
    return Collect<Event>(statement, ReadEvent);
}

Result<std::optional<Event>> SqliteTxn::FindEvent(int64_t sequence) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare("SELECT " KZ_EVENT_COLUMNS
                                                            " FROM events WHERE sequence = ?1"));
    statement->Bind(1, sequence);
    KZ_ASSIGN_OR_RETURN(auto rows, Collect<Event>(statement, ReadEvent));
    return FirstOf(std::move(rows));
}

Result<int64_t> SqliteTxn::LastEventSequence() {
    // AUTOINCREMENT keeps the highest sequence handed out in sqlite_sequence, even for events
    // since deleted; before the first event there is no row.
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'"));
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    return row ? statement->Int(0) : int64_t{0};
}

Result<int64_t> SqliteTxn::EventCursor(std::string_view consumer) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare("SELECT sequence FROM event_cursors"
                                                            " WHERE consumer = ?1"));
    statement->Bind(1, consumer);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    return row ? statement->Int(0) : int64_t{0};
}

Status SqliteTxn::SetEventCursor(std::string_view consumer, int64_t sequence) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO event_cursors (consumer, sequence)"
                                            " VALUES (?1, ?2) ON CONFLICT (consumer)"
                                            " DO UPDATE SET sequence = excluded.sequence"));
    statement->BindAll(consumer, sequence);
    return InContext(statement->Run(), "moving the event cursor of " + std::string(consumer));
}

Result<std::vector<std::string>> SqliteTxn::ProgramsOfMember(std::string_view member_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT program_id FROM member_programs"
                                            " WHERE member_id = ?1 ORDER BY program_id"));
    statement->Bind(1, member_id);
    return Collect<std::string>(statement,
                                [](Statement& s) -> Result<std::string> { return s.Text(0); });
}

Result<int64_t> SqliteTxn::AppendEvent(const Event& e) {
    auto what = [&] { return "recording event " + e.type; };
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("INSERT INTO events (type, program_id, member_id,"
                                                " created_at, payload)"
                                                " VALUES (?1, ?2, ?3, ?4, ?5)"));
        statement->BindAll(e.type, NullIfEmpty{e.program_id}, NullIfEmpty{e.member_id},
                           e.created_at, e.payload);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    const int64_t sequence = connection_.LastInsertRowId();
    if (!e.program_id.empty() && !e.member_id.empty()) {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("INSERT OR IGNORE INTO member_programs"
                                                " (member_id, program_id) VALUES (?1, ?2)"));
        statement->BindAll(e.member_id, e.program_id);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    return sequence;
}

Result<std::vector<core::Webhook>> SqliteTxn::QueryWebhooks(StatementLease& statement) {
    return Collect<core::Webhook>(statement, [](Statement& s) -> Result<core::Webhook> {
        core::Webhook w;
        w.webhook_id = s.Text(0);
        w.store_id = s.Text(1);
        w.program_id = s.Text(2);
        w.url = s.Text(3);
        w.events = SplitEvents(s.TextView(4));
        w.secret = s.Text(5);
        w.created_at = s.Time(6);
        w.after_sequence = s.Int(7);
        return w;
    });
}

Result<std::optional<core::Webhook>> SqliteTxn::FindWebhook(std::string_view webhook_id) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT " KZ_WEBHOOK_COLUMNS " FROM webhooks WHERE webhook_id = ?1"));
    statement->Bind(1, webhook_id);
    KZ_ASSIGN_OR_RETURN(auto rows, QueryWebhooks(statement));
    return FirstOf(std::move(rows));
}

Result<std::vector<core::Webhook>> SqliteTxn::WebhooksOfStore(std::string_view store_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_WEBHOOK_COLUMNS " FROM webhooks"
                                            " WHERE store_id = ?1 ORDER BY created_at, rowid"));
    statement->Bind(1, store_id);
    return QueryWebhooks(statement);
}

Result<std::vector<core::Webhook>> SqliteTxn::WebhooksOfProgram(std::string_view program_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_WEBHOOK_COLUMNS " FROM webhooks"
                                            " WHERE program_id = ?1 ORDER BY created_at, rowid"));
    statement->Bind(1, program_id);
    return QueryWebhooks(statement);
}

Status SqliteTxn::InsertWebhook(const core::Webhook& w) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO webhooks (" KZ_WEBHOOK_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    statement->BindAll(w.webhook_id, w.store_id, w.program_id, w.url, JoinEvents(w.events),
                       w.secret, w.created_at, w.after_sequence);
    return InContext(statement->Run(), "inserting webhook " + w.webhook_id);
}

Result<std::vector<core::WebhookDelivery>> SqliteTxn::QueryDeliveries(StatementLease& statement) {
    return Collect<core::WebhookDelivery>(
        statement, [](Statement& s) -> Result<core::WebhookDelivery> {
            core::WebhookDelivery d;
            d.delivery_id = s.Int(0);
            d.webhook_id = s.Text(1);
            d.event_sequence = s.Int(2);
            const std::string status = s.Text(3);
            auto parsed = core::ParseDeliveryStatus(status);
            if (!parsed) return Corrupt("webhook_deliveries.status", status);
            d.status = *parsed;
            d.attempts = static_cast<int>(s.Int(4));
            d.created_at = s.Time(5);
            d.first_attempt_at = s.OptionalTime(6);
            d.last_attempt_at = s.OptionalTime(7);
            d.next_attempt_at = s.Time(8);
            d.last_status = static_cast<int>(s.Int(9));
            d.last_error = s.Text(10);
            d.delivered_at = s.OptionalTime(11);
            return d;
        });
}

Result<std::optional<core::WebhookDelivery>> SqliteTxn::FindDelivery(int64_t delivery_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_DELIVERY_COLUMNS
                                            " FROM webhook_deliveries WHERE delivery_id = ?1"));
    statement->Bind(1, delivery_id);
    KZ_ASSIGN_OR_RETURN(auto rows, QueryDeliveries(statement));
    return FirstOf(std::move(rows));
}

Result<std::vector<core::WebhookDelivery>> SqliteTxn::DeliveriesOf(std::string_view webhook_id,
                                                                   int limit,
                                                                   std::optional<int64_t> before) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_DELIVERY_COLUMNS
                                            " FROM webhook_deliveries WHERE webhook_id = ?1"
                                            " AND (?2 IS NULL OR delivery_id < ?2)"
                                            " ORDER BY delivery_id DESC LIMIT ?3"));
    statement->Bind(1, webhook_id);
    if (before) {
        statement->Bind(2, *before);
    } else {
        statement->BindNull(2);
    }
    statement->Bind(3, limit);
    return QueryDeliveries(statement);
}

Result<std::vector<core::WebhookDelivery>> SqliteTxn::DueDeliveries(Timestamp now, int limit) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_DELIVERY_COLUMNS
                                            " FROM webhook_deliveries WHERE status = 'pending'"
                                            " AND next_attempt_at <= ?1"
                                            " ORDER BY next_attempt_at, delivery_id LIMIT ?2"));
    statement->BindAll(now, limit);
    return QueryDeliveries(statement);
}

Result<int64_t> SqliteTxn::InsertDelivery(const core::WebhookDelivery& d) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("INSERT INTO webhook_deliveries (webhook_id, event_sequence, status,"
                            " attempts, created_at, first_attempt_at, last_attempt_at,"
                            " next_attempt_at, last_status, last_error, delivered_at)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
    statement->BindAll(d.webhook_id, d.event_sequence, core::DeliveryStatusName(d.status),
                       d.attempts, d.created_at, d.first_attempt_at, d.last_attempt_at,
                       d.next_attempt_at, d.last_status, d.last_error, d.delivered_at);
    KZ_RETURN_IF_ERROR(InContext(statement->Run(), [&] {
        return "queueing event " + std::to_string(d.event_sequence) + " for webhook " +
               d.webhook_id;
    }));
    return connection_.LastInsertRowId();
}

Status SqliteTxn::UpdateDelivery(const core::WebhookDelivery& d) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("UPDATE webhook_deliveries SET status = ?2, attempts = ?3,"
                            " first_attempt_at = ?4, last_attempt_at = ?5, next_attempt_at = ?6,"
                            " last_status = ?7, last_error = ?8, delivered_at = ?9"
                            " WHERE delivery_id = ?1"));
    statement->BindAll(d.delivery_id, core::DeliveryStatusName(d.status), d.attempts,
                       d.first_attempt_at, d.last_attempt_at, d.next_attempt_at, d.last_status,
                       d.last_error, d.delivered_at);
    auto what = [&] { return "updating webhook delivery " + std::to_string(d.delivery_id); };
    KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    if (connection_.Changes() == 0) return MakeError(ErrorCode::kNotFound, what() + ": no such");
    return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// The till: terminals, staff, settings, voids, a store's day

namespace {

#define KZ_TERMINAL_COLUMNS "terminal_id, store_id, name, key_hash, created_at, revoked_at"
#define KZ_STAFF_COLUMNS "staff_id, store_id, name, role, pin_hash, created_at, removed_at"

Result<core::Terminal> ReadTerminal(Statement& s) {
    return core::Terminal{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Time(4), s.OptionalTime(5)};
}

Result<core::StaffMember> ReadStaff(Statement& s) {
    core::StaffMember staff;
    staff.staff_id = s.Text(0);
    staff.store_id = s.Text(1);
    staff.name = s.Text(2);
    std::string role = s.Text(3);
    KZ_ASSIGN_OR_RETURN(staff.role,
                        StoredEnum(core::ParseStaffRole(role, "role"), "staff.role", role));
    staff.pin_hash = s.Text(4);
    staff.created_at = s.Time(5);
    staff.removed_at = s.OptionalTime(6);
    return staff;
}

}  // namespace

Result<std::optional<core::Terminal>> SqliteTxn::FindTerminalByKeyHash(std::string_view hash) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare("SELECT " KZ_TERMINAL_COLUMNS
                                                            " FROM terminals WHERE key_hash = ?1"));
    statement->Bind(1, hash);
    KZ_ASSIGN_OR_RETURN(auto rows, Collect<core::Terminal>(statement, ReadTerminal));
    return FirstOf(std::move(rows));
}

Result<std::optional<core::Terminal>> SqliteTxn::FindTerminal(std::string_view terminal_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_TERMINAL_COLUMNS
                                            " FROM terminals WHERE terminal_id = ?1"));
    statement->Bind(1, terminal_id);
    KZ_ASSIGN_OR_RETURN(auto rows, Collect<core::Terminal>(statement, ReadTerminal));
    return FirstOf(std::move(rows));
}

Result<std::vector<core::Terminal>> SqliteTxn::TerminalsOf(std::string_view store_id) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare("SELECT " KZ_TERMINAL_COLUMNS
                                                            " FROM terminals WHERE store_id = ?1"
                                                            " ORDER BY created_at, rowid"));
    statement->Bind(1, store_id);
    return Collect<core::Terminal>(statement, ReadTerminal);
}

Result<std::optional<core::StaffMember>> SqliteTxn::FindStaff(std::string_view staff_id) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare("SELECT " KZ_STAFF_COLUMNS
                                                            " FROM staff WHERE staff_id = ?1"));
    statement->Bind(1, staff_id);
    KZ_ASSIGN_OR_RETURN(auto rows, Collect<core::StaffMember>(statement, ReadStaff));
    return FirstOf(std::move(rows));
}

Result<std::vector<core::StaffMember>> SqliteTxn::StaffOf(std::string_view store_id) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare("SELECT " KZ_STAFF_COLUMNS
                                                            " FROM staff WHERE store_id = ?1"
                                                            " ORDER BY created_at, rowid"));
    statement->Bind(1, store_id);
    return Collect<core::StaffMember>(statement, ReadStaff);
}

Result<std::optional<core::TillSettings>> SqliteTxn::FindTillSettings(std::string_view store_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT max_sale_total, max_points_per_sale,"
                                            " manager_refund_above, utc_offset_minutes"
                                            " FROM till_settings WHERE store_id = ?1"));
    statement->Bind(1, store_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return std::optional<core::TillSettings>();
    core::TillSettings settings;
    settings.max_sale_total = statement->Int(0);
    settings.max_points_per_sale = statement->Int(1);
    settings.manager_refund_above = statement->Int(2);
    settings.utc_offset_minutes = static_cast<int>(statement->Int(3));
    return std::optional<core::TillSettings>(settings);
}

Result<std::vector<core::PointsDrawn>> SqliteTxn::PointsDrawnBy(std::string_view store_id,
                                                                std::string_view purchase_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT d.lot_id, d.points FROM purchase_points_drawn d"
                                            " JOIN purchases p ON p.purchase_no = d.purchase_no"
                                            " WHERE p.store_id = ?1 AND p.purchase_id = ?2"
                                            " ORDER BY d.position"));
    statement->BindAll(store_id, purchase_id);
    return Collect<core::PointsDrawn>(statement, [](Statement& s) -> Result<core::PointsDrawn> {
        return core::PointsDrawn{s.Int(0), s.Int(1)};
    });
}

Result<bool> SqliteTxn::OtherStoreHasPurchase(std::string_view program_id,
                                              std::string_view store_id,
                                              std::string_view purchase_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT 1 FROM purchases p"
                                            " JOIN stores s ON s.store_id = p.store_id"
                                            " WHERE p.purchase_id = ?3 AND p.store_id <> ?2"
                                            " AND s.program_id = ?1 LIMIT 1"));
    statement->BindAll(program_id, store_id, purchase_id);
    return statement->Step();
}

Result<std::vector<core::Purchase>> SqliteTxn::StorePurchasesBetween(std::string_view store_id,
                                                                     Timestamp from, Timestamp to) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_PURCHASE_LINE_COLUMNS
                                            " FROM purchases p LEFT JOIN purchase_lines l"
                                            " ON l.purchase_no = p.purchase_no AND 0"
                                            " WHERE p.store_id = ?1 AND p.occurred_at >= ?2"
                                            " AND p.occurred_at < ?3"
                                            " ORDER BY p.occurred_at, p.purchase_no"));
    statement->BindAll(store_id, from, to);
    return QueryPurchases(statement);
}

Result<std::vector<core::LedgerEntry>> SqliteTxn::StoreEntriesBetween(std::string_view store_id,
                                                                      Timestamp from,
                                                                      Timestamp to) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_ENTRY_COLUMNS " FROM ledger_entries"
                                            " WHERE store_id = ?1 AND occurred_at >= ?2"
                                            " AND occurred_at < ?3 ORDER BY entry_id"));
    statement->BindAll(store_id, from, to);
    return Collect<core::LedgerEntry>(statement, ReadEntry);
}

Status SqliteTxn::RestoreToLot(const core::LotDraw& draw) {
    auto what = [&] {
        return "restoring " + std::to_string(draw.points) + " points to lot " +
               std::to_string(draw.lot_id);
    };
    if (draw.points < 0) return MakeError(ErrorCode::kInternal, what() + ": negative points");
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("UPDATE lots SET remaining = remaining + ?2"
                                            " WHERE lot_id = ?1 AND remaining + ?2 <= earned"));
    statement->BindAll(draw.lot_id, draw.points);
    KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    if (connection_.Changes() == 0) {
        return MakeError(ErrorCode::kInternal, what() + ": no such lot, or more than it earned");
    }
    return Status::Ok();
}

Status SqliteTxn::MarkPurchaseVoided(const core::Purchase& p) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("UPDATE purchases SET voided_at = ?3,"
                                            " void_terminal_id = ?4, void_staff_id = ?5,"
                                            " void_balance_after = ?6"
                                            " WHERE store_id = ?1 AND purchase_id = ?2"));
    statement->BindAll(p.store_id, p.purchase_id, p.voided_at, NullIfEmpty{p.void_terminal_id},
                       NullIfEmpty{p.void_staff_id}, p.void_balance_after);
    KZ_RETURN_IF_ERROR(
        InContext(statement->Run(), [&] { return "voiding purchase " + p.purchase_id; }));
    if (connection_.Changes() == 0) {
        return MakeError(ErrorCode::kNotFound, "no purchase " + p.purchase_id);
    }
    return Status::Ok();
}

Status SqliteTxn::InsertTerminal(const core::Terminal& t) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO terminals (" KZ_TERMINAL_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    statement->BindAll(t.terminal_id, t.store_id, t.name, t.key_hash, t.created_at, t.revoked_at);
    return InContext(statement->Run(), [&] { return "inserting terminal " + t.terminal_id; });
}

Status SqliteTxn::RevokeTerminal(std::string_view terminal_id, Timestamp at) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("UPDATE terminals SET revoked_at ="
                                            " COALESCE(revoked_at, ?2) WHERE terminal_id = ?1"));
    statement->BindAll(terminal_id, at);
    KZ_RETURN_IF_ERROR(InContext(statement->Run(), "revoking a terminal"));
    if (connection_.Changes() == 0) {
        return MakeError(ErrorCode::kNotFound, "no terminal " + std::string(terminal_id));
    }
    return Status::Ok();
}

Status SqliteTxn::InsertStaff(const core::StaffMember& m) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO staff (" KZ_STAFF_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    statement->BindAll(m.staff_id, m.store_id, m.name, core::StaffRoleName(m.role), m.pin_hash,
                       m.created_at, m.removed_at);
    return InContext(statement->Run(), [&] { return "inserting staff " + m.staff_id; });
}

Status SqliteTxn::RemoveStaff(std::string_view staff_id, Timestamp at) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("UPDATE staff SET removed_at ="
                                            " COALESCE(removed_at, ?2) WHERE staff_id = ?1"));
    statement->BindAll(staff_id, at);
    KZ_RETURN_IF_ERROR(InContext(statement->Run(), "removing a staff member"));
    if (connection_.Changes() == 0) {
        return MakeError(ErrorCode::kNotFound, "no staff member " + std::string(staff_id));
    }
    return Status::Ok();
}

Status SqliteTxn::PutTillSettings(std::string_view store_id, const core::TillSettings& s) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("INSERT OR REPLACE INTO till_settings (store_id, max_sale_total,"
                            " max_points_per_sale, manager_refund_above, utc_offset_minutes)"
                            " VALUES (?1, ?2, ?3, ?4, ?5)"));
    statement->BindAll(store_id, s.max_sale_total, s.max_points_per_sale, s.manager_refund_above,
                       s.utc_offset_minutes);
    return InContext(statement->Run(), "storing till settings");
}

#undef KZ_TERMINAL_COLUMNS
#undef KZ_STAFF_COLUMNS

#undef KZ_RESERVATION_COLUMNS
#undef KZ_WEBHOOK_COLUMNS
#undef KZ_DELIVERY_COLUMNS
#undef KZ_EVENT_COLUMNS

}  // namespace kizuna::storage::sqlite
