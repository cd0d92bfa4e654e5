#include "storage/sqlite/migrations.hpp"

#include <span>
#include <string>
#include <string_view>

namespace kizuna::storage::sqlite {

using core::ErrorCode;

namespace {

struct Migration {
    int version;
    std::string_view description;
    std::string_view sql;
    // The tables whose foreign keys PRAGMA foreign_key_check verifies after the migration, for one
    // that rebuilds a table other tables refer to. Such a rebuild runs with foreign keys off, as
    // SQLite's procedure for altering a table asks: with them on, dropping the old table would
    // first delete its rows one by one, checking (or failing on) every row referring to them.
    std::span<const std::string_view> foreign_key_check = {};
};

// Never edit a migration that has shipped; add a new one. Conventions: money and points are
// INTEGER minor units, times INTEGER unix seconds (UTC), text UTF-8; an optional reference is
// NULL when absent (the domain's empty string).
constexpr std::string_view kInitialSchema = R"sql(
CREATE TABLE programs (
    program_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE stores (
    store_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('physical', 'online')),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    currency TEXT NOT NULL,
    api_key_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX stores_api_key_hash ON stores (api_key_hash) WHERE api_key_hash <> '';
CREATE INDEX stores_program ON stores (program_id);

CREATE TABLE rule_versions (
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    version INTEGER NOT NULL CHECK (version >= 1),
    effective_from INTEGER NOT NULL,
    amount_per_point INTEGER NOT NULL,
    rounding TEXT NOT NULL CHECK (rounding IN ('floor', 'ceil', 'nearest')),
    validity_days INTEGER NOT NULL,
    PRIMARY KEY (store_id, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE rule_category_multipliers (
    store_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    category TEXT NOT NULL,
    multiplier_milli INTEGER NOT NULL,
    PRIMARY KEY (store_id, version, category),
    FOREIGN KEY (store_id, version) REFERENCES rule_versions (store_id, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE rule_bonus_windows (
    store_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    position INTEGER NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    multiplier_milli INTEGER NOT NULL,
    PRIMARY KEY (store_id, version, position),
    FOREIGN KEY (store_id, version) REFERENCES rule_versions (store_id, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE members (
    member_id TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    name_kana TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    address TEXT NOT NULL,
    phone TEXT NOT NULL,
    phone_normalized TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    occupation TEXT NOT NULL,
    email TEXT NOT NULL COLLATE NOCASE,
    consent_email_offers INTEGER NOT NULL CHECK (consent_email_offers IN (0, 1)),
    consent_postal_offers INTEGER NOT NULL CHECK (consent_postal_offers IN (0, 1)),
    consent_share_profile INTEGER NOT NULL CHECK (consent_share_profile IN (0, 1)),
    status TEXT NOT NULL CHECK (status IN ('active', 'closed')),
    created_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX members_email ON members (email) WHERE email <> '';
CREATE INDEX members_phone ON members (phone_normalized) WHERE phone_normalized <> '';

CREATE TABLE cards (
    card_number TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    generation INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    medium TEXT NOT NULL CHECK (medium IN ('chip', 'qr', 'virtual')),
    issued_by_store TEXT REFERENCES stores (store_id),
    issued_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE UNIQUE INDEX cards_member_generation ON cards (member_id, generation);

CREATE TABLE purchases (
    purchase_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    card_number TEXT NOT NULL,
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    currency TEXT NOT NULL,
    total INTEGER NOT NULL,
    points_earned INTEGER NOT NULL,
    rule_version INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    fingerprint TEXT NOT NULL
) STRICT;
CREATE INDEX purchases_member ON purchases (member_id, occurred_at);
CREATE INDEX purchases_member_program ON purchases (member_id, program_id, occurred_at);

CREATE TABLE purchase_lines (
    purchase_id TEXT NOT NULL REFERENCES purchases (purchase_id),
    line_no INTEGER NOT NULL,
    name TEXT NOT NULL,
    sku TEXT NOT NULL,
    category TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    PRIMARY KEY (purchase_id, line_no)
) STRICT, WITHOUT ROWID;

CREATE TABLE redemptions (
    redemption_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    points INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    fingerprint TEXT NOT NULL
) STRICT;

CREATE TABLE refunds (
    refund_id TEXT PRIMARY KEY,
    purchase_id TEXT NOT NULL REFERENCES purchases (purchase_id),
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    amount INTEGER NOT NULL,
    points_reversed INTEGER NOT NULL,
    points_unrecovered INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    fingerprint TEXT NOT NULL
) STRICT;
CREATE INDEX refunds_purchase ON refunds (purchase_id);

CREATE TABLE lots (
    lot_id INTEGER PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    store_id TEXT REFERENCES stores (store_id),
    purchase_id TEXT REFERENCES purchases (purchase_id),
    earned INTEGER NOT NULL CHECK (earned >= 0),
    remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= earned),
    earned_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX lots_open ON lots (member_id, program_id) WHERE remaining > 0;
CREATE INDEX lots_open_expiry ON lots (expires_at) WHERE remaining > 0;

CREATE TABLE ledger_entries (
    entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    store_id TEXT REFERENCES stores (store_id),
    delta INTEGER NOT NULL,
    kind TEXT NOT NULL
        CHECK (kind IN ('earn', 'redeem', 'expire', 'refund_reversal', 'adjustment')),
    ref TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    note TEXT NOT NULL
) STRICT;
CREATE INDEX ledger_member ON ledger_entries (member_id, entry_id);
CREATE INDEX ledger_member_program ON ledger_entries (member_id, program_id, entry_id);

CREATE TABLE balances (
    member_id TEXT NOT NULL REFERENCES members (member_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    points INTEGER NOT NULL CHECK (points >= 0),
    PRIMARY KEY (member_id, program_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE offers (
    offer_id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_to INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX offers_valid_to ON offers (valid_to);
CREATE INDEX offers_store_valid_to ON offers (store_id, valid_to);

CREATE TABLE offer_categories (
    offer_id TEXT NOT NULL REFERENCES offers (offer_id),
    position INTEGER NOT NULL,
    category TEXT NOT NULL,
    PRIMARY KEY (offer_id, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE audit_log (
    audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    member_id TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_log_member ON audit_log (member_id, audit_id);
)sql";

// The purchase lines each refund took back, so a line cannot be refunded more times than it was
// bought. Refunds recorded before this migration named no lines (their amounts still count
// against the purchase total). purchase_line_no is purchase_lines.line_no (1-based).
constexpr std::string_view kRefundLines = R"sql(
CREATE TABLE refund_lines (
    refund_id TEXT NOT NULL REFERENCES refunds (refund_id),
    line_no INTEGER NOT NULL CHECK (line_no >= 1),
    purchase_id TEXT NOT NULL,
    purchase_line_no INTEGER NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 1),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (refund_id, line_no),
    FOREIGN KEY (purchase_id, purchase_line_no) REFERENCES purchase_lines (purchase_id, line_no)
) STRICT, WITHOUT ROWID;
)sql";

// The (member, program, ...) indexes duplicated (member, ...) ones: every lookup of a member's
// purchases or entries, with or without a program, is served by the two-column index (the program
// is a residual filter over a member's few rows, still in the order the queries want), while each
// extra index cost the group-commit writer about 30% more dirty pages per purchase
// (bench/README.md, "Profiles").
constexpr std::string_view kDropRedundantIndexes = R"sql(
DROP INDEX purchases_member_program;
DROP INDEX ledger_member_program;
)sql";

// ledger_entries without AUTOINCREMENT, which made every entry read and rewrite the table's row
// in sqlite_sequence (7 to 13 us of the group-commit writer per purchase in A/B runs). The ids stay
// what they were. A plain INTEGER PRIMARY KEY takes the largest id so far plus one, so ids still
// only grow as long as the largest one is never deleted: ledger entries are never deleted
// (corrections are new entries), which keeps them monotonic, as EntriesOf's paging by entry id
// needs. Nothing refers to ledger_entries, so the table can be rebuilt with foreign keys on;
// dropping the old table also drops its sqlite_sequence row.
constexpr std::string_view kLedgerWithoutAutoincrement = R"sql(
CREATE TABLE ledger_entries_rebuilt (
    entry_id INTEGER PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    store_id TEXT REFERENCES stores (store_id),
    delta INTEGER NOT NULL,
    kind TEXT NOT NULL
        CHECK (kind IN ('earn', 'redeem', 'expire', 'refund_reversal', 'adjustment')),
    ref TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    note TEXT NOT NULL
) STRICT;
INSERT INTO ledger_entries_rebuilt
    (entry_id, member_id, program_id, store_id, delta, kind, ref, occurred_at, note)
SELECT entry_id, member_id, program_id, store_id, delta, kind, ref, occurred_at, note
FROM ledger_entries ORDER BY entry_id;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_rebuilt RENAME TO ledger_entries;
CREATE INDEX ledger_member ON ledger_entries (member_id, entry_id);
)sql";

// Purchase lines keyed by a number given to each purchase in the order purchases are stored
// (purchase_no, the rowid made explicit, so VACUUM keeps it) instead of by purchase_id. Keyed by
// purchase_id, every purchase wrote a leaf page of purchase_lines wherever its id fell (1.25
// pages of the log per purchase of the bench, of 7.2 in all); keyed by purchase_no, new lines
// are appended to the last leaf, which the batch's other purchases write too. refund_lines names
// the purchase line it takes back by the same key. Rows keep their values; purchase_no is the
// rowid the purchase had. A line or refund line of a missing purchase stops the migration
// (NOT NULL purchase_no) rather than being dropped. purchases is rebuilt, and other tables refer
// to it, hence foreign keys off; the check afterwards covers the two tables whose references were
// computed anew (lots and refunds keep the purchase ids they had, and every purchase is copied;
// checking lots too took 3.5 s of a migration of 1M seeded members).
constexpr std::string_view kPurchaseLinesByPurchaseNo = R"sql(
CREATE TABLE purchases_rebuilt (
    purchase_no INTEGER PRIMARY KEY,
    purchase_id TEXT NOT NULL UNIQUE,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    card_number TEXT NOT NULL,
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    currency TEXT NOT NULL,
    total INTEGER NOT NULL,
    points_earned INTEGER NOT NULL,
    rule_version INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    fingerprint TEXT NOT NULL
) STRICT;
INSERT INTO purchases_rebuilt
    (purchase_no, purchase_id, member_id, card_number, store_id, program_id, occurred_at,
     recorded_at, currency, total, points_earned, rule_version, balance_after, fingerprint)
SELECT rowid, purchase_id, member_id, card_number, store_id, program_id, occurred_at, recorded_at,
       currency, total, points_earned, rule_version, balance_after, fingerprint
FROM purchases ORDER BY rowid;

CREATE TABLE purchase_lines_rebuilt (
    purchase_no INTEGER NOT NULL REFERENCES purchases (purchase_no),
    line_no INTEGER NOT NULL,
    name TEXT NOT NULL,
    sku TEXT NOT NULL,
    category TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    PRIMARY KEY (purchase_no, line_no)
) STRICT, WITHOUT ROWID;
INSERT INTO purchase_lines_rebuilt
    (purchase_no, line_no, name, sku, category, quantity, unit_price)
SELECT p.purchase_no, l.line_no, l.name, l.sku, l.category, l.quantity, l.unit_price
FROM purchase_lines l LEFT JOIN purchases_rebuilt p ON p.purchase_id = l.purchase_id
ORDER BY p.purchase_no, l.line_no;

CREATE TABLE refund_lines_rebuilt (
    refund_id TEXT NOT NULL REFERENCES refunds (refund_id),
    line_no INTEGER NOT NULL CHECK (line_no >= 1),
    purchase_no INTEGER NOT NULL,
    purchase_line_no INTEGER NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 1),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (refund_id, line_no),
    FOREIGN KEY (purchase_no, purchase_line_no) REFERENCES purchase_lines (purchase_no, line_no)
) STRICT, WITHOUT ROWID;
INSERT INTO refund_lines_rebuilt
    (refund_id, line_no, purchase_no, purchase_line_no, quantity, amount)
SELECT r.refund_id, r.line_no, p.purchase_no, r.purchase_line_no, r.quantity, r.amount
FROM refund_lines r LEFT JOIN purchases_rebuilt p ON p.purchase_id = r.purchase_id
ORDER BY r.refund_id, r.line_no;

DROP TABLE refund_lines;
DROP TABLE purchase_lines;
DROP TABLE purchases;
ALTER TABLE purchases_rebuilt RENAME TO purchases;
ALTER TABLE purchase_lines_rebuilt RENAME TO purchase_lines;
ALTER TABLE refund_lines_rebuilt RENAME TO refund_lines;
CREATE INDEX purchases_member ON purchases (member_id, occurred_at);
)sql";

// Migration 7: reservations, the event outbox and webhooks (issue 16, the second seed). Events
// are numbered by an AUTOINCREMENT key, so a sequence is never handed out twice even if old
// events are pruned one day: it is the cursor webhooks (and a store node's pull) read from.
constexpr std::string_view kReservationsEventsWebhooks = R"sql(
CREATE TABLE reservations (
    created_by TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    item_name TEXT NOT NULL,
    item_sku TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 1),
    pickup_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('reserved', 'picked_up', 'cancelled')),
    fingerprint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (created_by, reservation_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX reservations_member ON reservations (member_id, created_at);
CREATE INDEX reservations_id ON reservations (reservation_id);

CREATE TABLE events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    program_id TEXT REFERENCES programs (program_id),
    member_id TEXT,
    created_at INTEGER NOT NULL,
    payload TEXT NOT NULL
) STRICT;

CREATE TABLE event_cursors (
    consumer TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE member_programs (
    member_id TEXT NOT NULL REFERENCES members (member_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    PRIMARY KEY (member_id, program_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE webhooks (
    webhook_id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    after_sequence INTEGER NOT NULL
) STRICT;
CREATE INDEX webhooks_store ON webhooks (store_id);
CREATE INDEX webhooks_program ON webhooks (program_id);

CREATE TABLE webhook_deliveries (
    delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL REFERENCES webhooks (webhook_id),
    event_sequence INTEGER NOT NULL REFERENCES events (sequence),
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    created_at INTEGER NOT NULL,
    first_attempt_at INTEGER,
    last_attempt_at INTEGER,
    next_attempt_at INTEGER NOT NULL,
    last_status INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    delivered_at INTEGER,
    UNIQUE (webhook_id, event_sequence)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
)sql";

constexpr std::string_view kPurchaseLineReferrers[] = {"purchase_lines", "refund_lines"};

// Idempotency ids scoped to the store that sent them (issue 15): a purchase, redemption or refund
// id is unique per store, not across the hub, so one store's ids neither collide with nor reveal
// another's. Existing rows keep their ids and numbers (purchase_no; refunds get refund_no, their
// rowid made explicit, which refund_lines now names them by). A refund names its purchase by
// purchase_no, since a purchase id alone no longer names one purchase; refunds recorded before
// this migration may have been made by another store of the purchase's program, and keep that
// store. lots name their purchase by (store_id, purchase_id).
// Also the points of each purchase that expired (purchases.points_expired), so that a refund after
// the expiry does not take them a second time, and the part of each refund's share that had
// expired (refunds.points_expired, 0 for refunds made before: what they booked stays as it was).
// A purchase's expired points are the sum of the `expire` entries booked for its lot (ref = the
// lot id).
constexpr std::string_view kIdsPerStore = R"sql(
CREATE TEMP TABLE migration_expired_points (
    purchase_id TEXT PRIMARY KEY,
    points INTEGER NOT NULL
);
INSERT INTO temp.migration_expired_points (purchase_id, points)
SELECT l.purchase_id, SUM(-e.delta)
FROM ledger_entries e JOIN lots l ON l.lot_id = CAST(e.ref AS INTEGER) AND l.member_id = e.member_id
WHERE e.kind = 'expire' AND l.purchase_id IS NOT NULL
GROUP BY l.purchase_id;

CREATE TABLE purchases_rebuilt (
    purchase_no INTEGER PRIMARY KEY,
    purchase_id TEXT NOT NULL,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    card_number TEXT NOT NULL,
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    currency TEXT NOT NULL,
    total INTEGER NOT NULL,
    points_earned INTEGER NOT NULL,
    rule_version INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    points_expired INTEGER NOT NULL DEFAULT 0 CHECK (points_expired >= 0),
    UNIQUE (store_id, purchase_id)
) STRICT;
INSERT INTO purchases_rebuilt
    (purchase_no, purchase_id, member_id, card_number, store_id, program_id, occurred_at,
     recorded_at, currency, total, points_earned, rule_version, balance_after, fingerprint,
     points_expired)
SELECT p.purchase_no, p.purchase_id, p.member_id, p.card_number, p.store_id, p.program_id,
       p.occurred_at, p.recorded_at, p.currency, p.total, p.points_earned, p.rule_version,
       p.balance_after, p.fingerprint, COALESCE(x.points, 0)
FROM purchases p LEFT JOIN temp.migration_expired_points x ON x.purchase_id = p.purchase_id
ORDER BY p.purchase_no;

CREATE TABLE lots_rebuilt (
    lot_id INTEGER PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    store_id TEXT REFERENCES stores (store_id),
    purchase_id TEXT,
    earned INTEGER NOT NULL CHECK (earned >= 0),
    remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= earned),
    earned_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    FOREIGN KEY (store_id, purchase_id) REFERENCES purchases (store_id, purchase_id)
) STRICT;
INSERT INTO lots_rebuilt
    (lot_id, member_id, program_id, store_id, purchase_id, earned, remaining, earned_at,
     expires_at)
SELECT lot_id, member_id, program_id, store_id, purchase_id, earned, remaining, earned_at,
       expires_at
FROM lots ORDER BY lot_id;

CREATE TABLE refunds_rebuilt (
    refund_no INTEGER PRIMARY KEY,
    refund_id TEXT NOT NULL,
    purchase_no INTEGER NOT NULL REFERENCES purchases (purchase_no),
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    amount INTEGER NOT NULL,
    points_reversed INTEGER NOT NULL,
    points_unrecovered INTEGER NOT NULL,
    points_expired INTEGER NOT NULL DEFAULT 0 CHECK (points_expired >= 0),
    occurred_at INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    UNIQUE (store_id, refund_id)
) STRICT;
INSERT INTO refunds_rebuilt
    (refund_no, refund_id, purchase_no, store_id, amount, points_reversed, points_unrecovered,
     occurred_at, balance_after, fingerprint)
SELECT r.rowid, r.refund_id, p.purchase_no, r.store_id, r.amount, r.points_reversed,
       r.points_unrecovered, r.occurred_at, r.balance_after, r.fingerprint
FROM refunds r LEFT JOIN purchases_rebuilt p ON p.purchase_id = r.purchase_id
ORDER BY r.rowid;

CREATE TABLE refund_lines_rebuilt (
    refund_no INTEGER NOT NULL REFERENCES refunds (refund_no),
    line_no INTEGER NOT NULL CHECK (line_no >= 1),
    purchase_no INTEGER NOT NULL,
    purchase_line_no INTEGER NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 1),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (refund_no, line_no),
    FOREIGN KEY (purchase_no, purchase_line_no) REFERENCES purchase_lines (purchase_no, line_no)
) STRICT, WITHOUT ROWID;
INSERT INTO refund_lines_rebuilt
    (refund_no, line_no, purchase_no, purchase_line_no, quantity, amount)
SELECT r.refund_no, l.line_no, l.purchase_no, l.purchase_line_no, l.quantity, l.amount
FROM refund_lines l LEFT JOIN refunds_rebuilt r ON r.refund_id = l.refund_id
ORDER BY r.refund_no, l.line_no;

CREATE TABLE redemptions_rebuilt (
    redemption_no INTEGER PRIMARY KEY,
    redemption_id TEXT NOT NULL,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    points INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    UNIQUE (store_id, redemption_id)
) STRICT;
INSERT INTO redemptions_rebuilt
    (redemption_no, redemption_id, member_id, store_id, program_id, points, occurred_at,
     balance_after, fingerprint)
SELECT rowid, redemption_id, member_id, store_id, program_id, points, occurred_at, balance_after,
       fingerprint
FROM redemptions ORDER BY rowid;

DROP TABLE temp.migration_expired_points;
DROP TABLE refund_lines;
DROP TABLE refunds;
DROP TABLE lots;
DROP TABLE redemptions;
DROP TABLE purchases;
ALTER TABLE purchases_rebuilt RENAME TO purchases;
ALTER TABLE lots_rebuilt RENAME TO lots;
ALTER TABLE refunds_rebuilt RENAME TO refunds;
ALTER TABLE refund_lines_rebuilt RENAME TO refund_lines;
ALTER TABLE redemptions_rebuilt RENAME TO redemptions;
CREATE INDEX purchases_member ON purchases (member_id, occurred_at);
CREATE INDEX lots_open ON lots (member_id, program_id) WHERE remaining > 0;
CREATE INDEX lots_open_expiry ON lots (expires_at) WHERE remaining > 0;
CREATE INDEX refunds_purchase ON refunds (purchase_no);
)sql";

// Migration 8: the hub side of store node sync. Ids leased to a store's node, the outcome of
// every pushed node event (its id is the idempotency key, scoped to the store), the conflicts
// a push found, and an index to read one program's events in order.
constexpr std::string_view kStoreNodeSync = R"sql(
CREATE TABLE id_leases (
    kind TEXT NOT NULL CHECK (kind IN ('member_id', 'card_number')),
    value TEXT NOT NULL,
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    leased_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (kind, value)
) STRICT, WITHOUT ROWID;
CREATE INDEX id_leases_store ON id_leases (store_id, kind);

CREATE TABLE sync_events (
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    terminal_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('applied', 'flagged', 'rejected')),
    http_status INTEGER NOT NULL,
    body TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (store_id, event_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE sync_conflicts (
    conflict_id INTEGER PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('duplicate_member', 'overspend', 'revoked_card')),
    member_id TEXT NOT NULL,
    other_member_id TEXT,
    card_number TEXT,
    points_short INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sync_conflicts_store ON sync_conflicts (store_id, conflict_id);

CREATE INDEX events_program ON events (program_id, sequence);
)sql";

// Migration 10: the till (issue 17). Every purchase, redemption, refund and ledger entry names the
// terminal and staff member that made it (NULL: the store's own key / nobody identified), so that
// settlement and the store node can tell each till apart. A purchase may be paid partly with
// points (points_used, worth points_value; the lots they came from in purchase_points_drawn, so a
// void puts them back with their expiry) and may be voided the same business day. Terminals carry
// their own API keys (digests only), staff their PIN hashes; till_settings holds a store's limits
// and business-day clock (absent: the defaults of core/till.hpp). The day report reads a store's
// ledger entries and purchases by time.
constexpr std::string_view kTill = R"sql(
ALTER TABLE ledger_entries ADD COLUMN terminal_id TEXT;
ALTER TABLE ledger_entries ADD COLUMN staff_id TEXT;
ALTER TABLE purchases ADD COLUMN terminal_id TEXT;
ALTER TABLE purchases ADD COLUMN staff_id TEXT;
ALTER TABLE purchases ADD COLUMN points_used INTEGER NOT NULL DEFAULT 0 CHECK (points_used >= 0);
ALTER TABLE purchases ADD COLUMN points_value INTEGER NOT NULL DEFAULT 0 CHECK (points_value >= 0);
ALTER TABLE purchases ADD COLUMN voided_at INTEGER;
ALTER TABLE purchases ADD COLUMN void_terminal_id TEXT;
ALTER TABLE purchases ADD COLUMN void_staff_id TEXT;
ALTER TABLE purchases ADD COLUMN void_balance_after INTEGER NOT NULL DEFAULT 0;
ALTER TABLE redemptions ADD COLUMN terminal_id TEXT;
ALTER TABLE redemptions ADD COLUMN staff_id TEXT;
ALTER TABLE refunds ADD COLUMN terminal_id TEXT;
ALTER TABLE refunds ADD COLUMN staff_id TEXT;

CREATE TABLE purchase_points_drawn (
    purchase_no INTEGER NOT NULL REFERENCES purchases (purchase_no),
    position INTEGER NOT NULL CHECK (position >= 1),
    lot_id INTEGER NOT NULL REFERENCES lots (lot_id),
    points INTEGER NOT NULL CHECK (points > 0),
    PRIMARY KEY (purchase_no, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE terminals (
    terminal_id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX terminals_store ON terminals (store_id);

CREATE TABLE staff (
    staff_id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('clerk', 'manager')),
    pin_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    removed_at INTEGER
) STRICT;
CREATE INDEX staff_store ON staff (store_id);

CREATE TABLE till_settings (
    store_id TEXT PRIMARY KEY REFERENCES stores (store_id),
    max_sale_total INTEGER NOT NULL,
    max_points_per_sale INTEGER NOT NULL,
    manager_refund_above INTEGER NOT NULL,
    utc_offset_minutes INTEGER NOT NULL
) STRICT;

CREATE INDEX ledger_store_time ON ledger_entries (store_id, occurred_at);
CREATE INDEX purchases_store_time ON purchases (store_id, occurred_at);
)sql";

// Migration 11: member self-care (issue 17). Whether the member's email is confirmed (a store or
// the operator may type an address the member never proved to own: such an address gets no offer
// mail and can be taken over by whoever confirms it). Members enrolled before by self-service
// (first card issued by no store) proved their address through the enrollment confirmation; every
// other address starts unconfirmed. Password resets: single-use tokens, only their digests kept.
// Offers: a points multiplier (thousandths, 1000 = none) and a withdrawal time.
constexpr std::string_view kSelfCare = R"sql(
ALTER TABLE members ADD COLUMN email_confirmed INTEGER NOT NULL DEFAULT 0
    CHECK (email_confirmed IN (0, 1));
UPDATE members SET email_confirmed = 1
WHERE email <> '' AND member_id IN
    (SELECT member_id FROM cards WHERE generation = 1 AND issued_by_store IS NULL);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) STRICT;
CREATE INDEX password_resets_member ON password_resets (member_id);

ALTER TABLE offers ADD COLUMN points_multiplier_milli INTEGER NOT NULL DEFAULT 1000
    CHECK (points_multiplier_milli >= 1000);
ALTER TABLE offers ADD COLUMN withdrawn_at INTEGER;
ALTER TABLE offers ADD COLUMN updated_at INTEGER;
)sql";

// Every table whose references migration 6 computed anew (a refund or line of a missing purchase
// stops it: NOT NULL purchase_no / refund_no).
constexpr std::string_view kIdsPerStoreReferrers[] = {"lots", "refunds", "refund_lines"};

// Coalition economics and settlement (issue 19). ledger_entries.recorded_at is when the hub booked
// the entry (NULL for entries booked before: their occurred_at stands in). Expiry entries name
// the store that issued the expired lot, as every other entry names its store; those booked
// before, by the hub's expiry pass, get their lot's store here. program_economics is versioned
// like earning rules (effective_from is a period "YYYY-MM"). settlement_days keeps, in the same
// transaction as each entry, the program's points per (booking day in Japan time, store, kind):
// a month's statement reads a few thousand rows instead of its entries ('' is the operator: no
// store). settlement_late_entries lists entries that occurred before the period they were booked
// in. A closed period's statement inputs are frozen in settlement_closings and
// settlement_closed_parties. Existing entries are summed by their occurred_at day.
constexpr std::string_view kSettlement = R"sql(
ALTER TABLE ledger_entries ADD COLUMN recorded_at INTEGER;

UPDATE ledger_entries SET store_id =
    (SELECT l.store_id FROM lots l WHERE l.lot_id = CAST(ledger_entries.ref AS INTEGER))
WHERE kind = 'expire' AND store_id IS NULL;

CREATE TABLE program_economics (
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    version INTEGER NOT NULL CHECK (version >= 1),
    effective_from TEXT NOT NULL,
    point_value INTEGER NOT NULL CHECK (point_value >= 1),
    issuing_fee_bp INTEGER NOT NULL CHECK (issuing_fee_bp BETWEEN 0 AND 10000),
    breakage TEXT NOT NULL CHECK (breakage IN ('operator', 'issuers')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (program_id, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE settlement_days (
    program_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    store_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    points_in INTEGER NOT NULL CHECK (points_in >= 0),
    points_out INTEGER NOT NULL CHECK (points_out >= 0),
    entries INTEGER NOT NULL,
    late_entries INTEGER NOT NULL,
    PRIMARY KEY (program_id, day, store_id, kind)
) STRICT, WITHOUT ROWID;

CREATE TABLE settlement_late_entries (
    program_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    entry_id INTEGER NOT NULL,
    PRIMARY KEY (program_id, day, entry_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE settlement_closings (
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    period TEXT NOT NULL,
    first_day INTEGER NOT NULL,
    last_day INTEGER NOT NULL,
    closed_at INTEGER NOT NULL,
    economics_version INTEGER NOT NULL,
    point_value INTEGER NOT NULL,
    issuing_fee_bp INTEGER NOT NULL,
    breakage TEXT NOT NULL,
    opening_points INTEGER NOT NULL,
    PRIMARY KEY (program_id, period)
) STRICT, WITHOUT ROWID;

CREATE TABLE settlement_closed_parties (
    program_id TEXT NOT NULL,
    period TEXT NOT NULL,
    store_id TEXT NOT NULL,
    store_name TEXT NOT NULL,
    issued INTEGER NOT NULL,
    redeemed INTEGER NOT NULL,
    reversed INTEGER NOT NULL,
    expired INTEGER NOT NULL,
    late_entries INTEGER NOT NULL,
    PRIMARY KEY (program_id, period, store_id),
    FOREIGN KEY (program_id, period) REFERENCES settlement_closings (program_id, period)
) STRICT, WITHOUT ROWID;

INSERT INTO settlement_days
    (program_id, day, store_id, kind, points_in, points_out, entries, late_entries)
SELECT program_id, (occurred_at + 32400) / 86400, COALESCE(store_id, ''), kind,
       SUM(MAX(delta, 0)), SUM(MAX(-delta, 0)), COUNT(*), 0
FROM ledger_entries GROUP BY 1, 2, 3, 4;
)sql";

// Migration 13: redemption limits, campaigns, tiers and member merges (issue 19). A program's
// limits and tiers are rows of their own (none: no limits, no tiers). A campaign's granted_points
// can never pass its budget (CHECK), whatever the code does; each grant names the lot it booked.
// A member's held tier is the highest reached by a purchase in the tier period starting at
// period_start (core/tier.hpp). A merged member's cards point to the survivor (merged_into); each
// merge is one row, and a member is merged away at most once. Redemptions get a member index
// for the monthly limit.
constexpr std::string_view kLoyalty = R"sql(
CREATE TABLE program_redemption_limits (
    program_id TEXT PRIMARY KEY REFERENCES programs (program_id),
    per_transaction INTEGER CHECK (per_transaction IS NULL OR per_transaction >= 1),
    per_member_month INTEGER CHECK (per_member_month IS NULL OR per_member_month >= 1),
    minimum_balance INTEGER NOT NULL CHECK (minimum_balance >= 0),
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE program_non_accepting_stores (
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    PRIMARY KEY (program_id, store_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX redemptions_member ON redemptions (member_id, program_id, occurred_at);

CREATE TABLE campaigns (
    campaign_id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    name TEXT NOT NULL,
    budget_points INTEGER NOT NULL CHECK (budget_points >= 1),
    granted_points INTEGER NOT NULL
        CHECK (granted_points >= 0 AND granted_points <= budget_points),
    validity_days INTEGER NOT NULL CHECK (validity_days >= 1),
    store_id TEXT REFERENCES stores (store_id),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE campaign_grants (
    campaign_id TEXT NOT NULL REFERENCES campaigns (campaign_id),
    grant_id TEXT NOT NULL,
    member_id TEXT NOT NULL REFERENCES members (member_id),
    points INTEGER NOT NULL CHECK (points >= 1),
    lot_id INTEGER NOT NULL REFERENCES lots (lot_id),
    balance_after INTEGER NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, grant_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX campaign_grants_member ON campaign_grants (member_id);

CREATE TABLE program_tier_schedules (
    program_id TEXT PRIMARY KEY REFERENCES programs (program_id),
    basis TEXT NOT NULL CHECK (basis IN ('spend', 'points')),
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE program_tiers (
    program_id TEXT NOT NULL REFERENCES program_tier_schedules (program_id),
    position INTEGER NOT NULL CHECK (position >= 0),
    name TEXT NOT NULL,
    threshold INTEGER NOT NULL CHECK (threshold >= 0),
    multiplier_milli INTEGER NOT NULL CHECK (multiplier_milli >= 0),
    PRIMARY KEY (program_id, position)
) STRICT, WITHOUT ROWID;

CREATE TABLE member_tiers (
    member_id TEXT NOT NULL REFERENCES members (member_id),
    program_id TEXT NOT NULL REFERENCES programs (program_id),
    tier_name TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    reached_at INTEGER NOT NULL,
    PRIMARY KEY (member_id, program_id)
) STRICT, WITHOUT ROWID;

ALTER TABLE cards ADD COLUMN merged_into TEXT REFERENCES members (member_id);

CREATE TABLE member_merges (
    merge_no INTEGER PRIMARY KEY,
    survivor_id TEXT NOT NULL REFERENCES members (member_id),
    from_id TEXT NOT NULL UNIQUE REFERENCES members (member_id),
    actor TEXT NOT NULL,
    merged_at INTEGER NOT NULL,
    points_moved INTEGER NOT NULL,
    summary TEXT NOT NULL
) STRICT;
CREATE INDEX member_merges_survivor ON member_merges (survivor_id);
)sql";

// Migration 9: offer dispatch (issue 18). A run's outbox is one row per (run, member, channel),
// written by the selection before anything is sent; the worker claims rows (state 'sending')
// before SMTP, so a crash leaves a claimed row 'sending' and the restart reports it 'unknown'
// instead of sending it again. offers_sent keeps every offer that reached a member, so no run
// sends it to them again.
constexpr std::string_view kDispatch = R"sql(
CREATE TABLE dispatch_runs (
    dispatch_id TEXT PRIMARY KEY,
    status TEXT NOT NULL
        CHECK (status IN ('selecting', 'running', 'paused', 'done', 'failed')),
    dry_run INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    channels TEXT NOT NULL,
    program_id TEXT REFERENCES programs (program_id),
    max_per_member INTEGER NOT NULL CHECK (max_per_member >= 1),
    include_general INTEGER NOT NULL CHECK (include_general IN (0, 1)),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    paused_until INTEGER,
    select_after TEXT NOT NULL,
    members INTEGER NOT NULL,
    error TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX dispatch_runs_created ON dispatch_runs (created_at);

CREATE TABLE dispatch_recipients (
    dispatch_id TEXT NOT NULL REFERENCES dispatch_runs (dispatch_id),
    member_id TEXT NOT NULL REFERENCES members (member_id),
    channel TEXT NOT NULL CHECK (channel IN ('email', 'print')),
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'ready', 'planned',
                                         'skipped', 'failed', 'unknown')),
    items TEXT NOT NULL,
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (dispatch_id, member_id, channel)
) STRICT, WITHOUT ROWID;
CREATE INDEX dispatch_recipients_state
    ON dispatch_recipients (dispatch_id, channel, state, next_attempt_at);

CREATE TABLE offers_sent (
    member_id TEXT NOT NULL REFERENCES members (member_id),
    offer_id TEXT NOT NULL REFERENCES offers (offer_id),
    channel TEXT NOT NULL,
    dispatch_id TEXT NOT NULL REFERENCES dispatch_runs (dispatch_id),
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (member_id, offer_id, channel)
) STRICT, WITHOUT ROWID;
)sql";

constexpr Migration kMigrations[] = {
    {1, "initial schema", kInitialSchema},
    {2, "refund lines", kRefundLines},
    {3, "drop redundant member-program indexes", kDropRedundantIndexes},
    {4, "ledger entries without autoincrement", kLedgerWithoutAutoincrement},
    {5, "purchase lines by purchase number", kPurchaseLinesByPurchaseNo, kPurchaseLineReferrers},
    {6, "ids per store; expired points of purchases and refunds", kIdsPerStore,
     kIdsPerStoreReferrers},
    {7, "reservations, the event outbox and webhooks", kReservationsEventsWebhooks},
    {8, "store node sync: id leases, pushed events, conflicts", kStoreNodeSync},
    {9, "offer dispatch: runs, recipients, offers sent", kDispatch},
    {10, "the till: terminals, staff, points at checkout, voids", kTill},
    {11, "member self-care: confirmed emails, password resets, offer multipliers", kSelfCare},
    {12, "program economics and settlement", kSettlement},
    {13, "redemption limits, campaigns, tiers and member merges", kLoyalty},
};

}  // namespace

core::Result<int> CurrentVersion(Connection& connection) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection.Prepare("SELECT COALESCE(MAX(version), 0) "
                                                           "FROM schema_migrations"));
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    return row ? static_cast<int>(statement->Int(0)) : 0;
}

namespace {

core::Status MigrationFailed(const Migration& migration, ErrorCode code, const std::string& why) {
    return core::MakeError(code, "schema migration " + std::to_string(migration.version) + " (" +
                                     std::string(migration.description) + ") failed: " + why);
}

// Fails naming the first row of `table` whose foreign key finds no parent row.
core::Status CheckForeignKeys(Connection& connection, const Migration& migration,
                              std::string_view table) {
    KZ_ASSIGN_OR_RETURN(auto check,
                        connection.Prepare("PRAGMA foreign_key_check(" + std::string(table) + ")"));
    auto row = check->Step();
    if (!row) return MigrationFailed(migration, row.error().code, row.error().message);
    if (!*row) return core::Status::Ok();
    return MigrationFailed(
        migration, ErrorCode::kInternal,
        "a row of " + check->Text(0) + " refers to a missing row of " + check->Text(2));
}

core::Status MigrateInTransaction(Connection& connection, core::Timestamp now, int version) {
    KZ_RETURN_IF_ERROR(
        connection.ExecScript("CREATE TABLE IF NOT EXISTS schema_migrations ("
                              " version INTEGER PRIMARY KEY,"
                              " description TEXT NOT NULL,"
                              " applied_at INTEGER NOT NULL) STRICT"));
    KZ_ASSIGN_OR_RETURN(int current, CurrentVersion(connection));
    if (current > LatestSchemaVersion()) {
        return core::MakeError(ErrorCode::kUnavailable,
                               "the database has schema version " + std::to_string(current) +
                                   ", newer than this Kizuna knows (" +
                                   std::to_string(LatestSchemaVersion()) +
                                   "); run a newer Kizuna, or restore a backup that this one can "
                                   "read (kizuna hub restore --data DIR --from FILE)");
    }
    for (const Migration& migration : kMigrations) {
        if (migration.version <= current || migration.version > version) continue;
        if (auto status = connection.ExecScript(migration.sql); !status.ok()) {
            return MigrationFailed(migration, status.error().code, status.error().message);
        }
        for (std::string_view table : migration.foreign_key_check) {
            KZ_RETURN_IF_ERROR(CheckForeignKeys(connection, migration, table));
        }
        KZ_ASSIGN_OR_RETURN(auto record, connection.Prepare("INSERT INTO schema_migrations "
                                                            "(version, description, applied_at) "
                                                            "VALUES (?1, ?2, ?3)"));
        record->BindAll(migration.version, migration.description, now);
        KZ_RETURN_IF_ERROR(record->Run());
    }
    return core::Status::Ok();
}

}  // namespace

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

core::Status Migrate(Connection& connection, core::Timestamp now) {
    return MigrateTo(connection, now, LatestSchemaVersion());
}

core::Status MigrateTo(Connection& connection, core::Timestamp now, int version) {
    // Foreign keys off while migrating (SQLite ignores the pragma inside a transaction), for the
    // migrations that rebuild a referenced table; those check the foreign keys themselves.
    bool foreign_keys = false;
    {
        KZ_ASSIGN_OR_RETURN(auto pragma, connection.Prepare("PRAGMA foreign_keys"));
        KZ_ASSIGN_OR_RETURN(bool row, pragma->Step());
        foreign_keys = row && pragma->Int(0) != 0;
    }
    if (foreign_keys) KZ_RETURN_IF_ERROR(connection.Run("PRAGMA foreign_keys=OFF"));
    // IMMEDIATE: two processes opening the same new file migrate one after the other.
    core::Status status = connection.Run("BEGIN IMMEDIATE");
    if (status.ok()) status = MigrateInTransaction(connection, now, version);
    if (status.ok()) status = connection.Run("COMMIT");
    if (!status.ok() && connection.InTransaction()) (void)connection.Run("ROLLBACK");
    if (foreign_keys) {
        core::Status restored = connection.Run("PRAGMA foreign_keys=ON");
        if (status.ok()) status = restored;
    }
    return status;
}

}  // namespace kizuna::storage::sqlite
