#include "ledger_bulk_loader.hpp"

#include <sqlite3.h>

#include <string>

namespace kizuna::bench {
namespace {

// Statements share these pieces so entries, lots and balances agree on every amount.
// `k` numbers a member's entries 1..N; `home` maps a member's row number to its store.
std::string MembersTimesEntries(int entries_per_member) {
    return "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < " +
           std::to_string(entries_per_member) + ") ";
}
constexpr const char* kDelta = "(10 + ((m.rowid + k.n) % 90))";
constexpr const char* kFrom =
    " FROM members AS m CROSS JOIN k"
    " JOIN temp.bulk_home AS h ON h.idx = m.rowid % (SELECT COUNT(*) FROM temp.bulk_home) ";
constexpr int64_t kDay = 24 * 3600;

}  // namespace

LedgerBulkLoader::LedgerBulkLoader(const std::string& db_path) {
    if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
        Fail("cannot open " + db_path);
        return;
    }
    // No journal and no fsync until the end: a crash while seeding means seeding again.
    Exec(
        "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536;"
        "PRAGMA foreign_keys=OFF;");
}

LedgerBulkLoader::~LedgerBulkLoader() {
    if (db_ != nullptr) {
        // Back to the hub's journal mode, so the file is what the hub expects to open.
        sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
        sqlite3_close(db_);
    }
}

bool LedgerBulkLoader::Fail(const std::string& what) {
    error_ = what;
    if (db_ != nullptr) {
        error_ += ": ";
        error_ += sqlite3_errmsg(db_);
    }
    return false;
}

bool LedgerBulkLoader::Exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return Fail(sql);
    return true;
}

bool LedgerBulkLoader::Load(const std::vector<BulkStore>& stores, int entries_per_member,
                            int64_t now) {
    if (!ok()) return false;
    if (stores.empty() || entries_per_member < 1) return Fail("no stores or no entries to book");
    if (!Exec("CREATE TEMP TABLE bulk_home (idx INTEGER PRIMARY KEY, store_id TEXT NOT NULL,"
              " program_id TEXT NOT NULL)")) {
        return false;
    }
    std::string homes = "INSERT INTO temp.bulk_home VALUES ";
    for (size_t i = 0; i < stores.size(); ++i) {
        // Opaque ids are [a-z0-9_] (core::NewOpaqueId): nothing to escape.
        homes += (i ? ",(" : "(") + std::to_string(i) + ",'" + stores[i].store_id + "','" +
                 stores[i].program_id + "')";
    }
    if (!Exec(homes) || !Exec("BEGIN")) return false;

    const std::string cte = MembersTimesEntries(entries_per_member);
    const std::string now_text = std::to_string(now);
    // Entries in (member_id, n) order, so both ledger indexes and the rowids only append. The
    // columns and encodings are SqliteTxn::AppendEntry's.
    const std::string entries =
        cte +
        "INSERT INTO ledger_entries (member_id, program_id, store_id, delta, kind, ref,"
        " occurred_at, note) SELECT m.member_id, h.program_id, h.store_id, " +
        kDelta + ", 'adjustment', 'import-' || k.n, " + now_text + " - (" +
        std::to_string(entries_per_member + 1) + " - k.n) * " + std::to_string(kDay) +
        ", 'opening balance imported by bench/seed'" + kFrom + "ORDER BY m.member_id, k.n";
    // One lot per member holds the whole sum (as SqliteTxn::InsertLot writes it), so balance =
    // sum of entries = points left in lots.
    const std::string lots =
        cte +
        "INSERT INTO lots (member_id, program_id, store_id, purchase_id, earned, remaining,"
        " earned_at, expires_at) SELECT m.member_id, h.program_id, h.store_id, NULL, SUM(" +
        kDelta + "), SUM(" + kDelta + "), " + now_text + ", " + std::to_string(now + 365 * kDay) +
        kFrom + "GROUP BY m.member_id ORDER BY m.member_id";
    const std::string balances = cte +
                                 "INSERT INTO balances (member_id, program_id, points)"
                                 " SELECT m.member_id, h.program_id, SUM(" +
                                 kDelta + ")" + kFrom + "GROUP BY m.member_id ORDER BY m.member_id";
    if (!Exec(entries) || !Exec(lots) || !Exec(balances)) {
        const std::string why = error_;
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        error_ = why;
        return false;
    }
    return Exec("COMMIT") && Exec("DROP TABLE temp.bulk_home");
}

}  // namespace kizuna::bench
