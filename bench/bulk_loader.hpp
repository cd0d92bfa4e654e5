#pragma once
// Fills a hub's SQLite file fast, for benchmarks (bench/seed): members and their cards, and
// ledger history (entries, one lot and the balance per member), in one transaction on one
// private connection, with no journal and no fsync until Finish.
//
// Not through Storage::Write: the group-commit writer puts every page through the WAL, syncs
// each unit and checkpoints the pages into the file a second time, which cost 13 s of a 35 s
// seed of 1M members + 10M entries on a quiet machine and 28 s of 107 s on the loaded bench
// machine (the target is under 60 s). Not row by row through SqliteTxn either: one statement
// per row cost 6.5 s for 1M members and cards (SQLite opens cursors and descends every b-tree
// for each statement) and minutes for 10M entries through AppendEntry. Instead every table is
// filled by INSERT ... SELECT statements generating the rows inside SQLite, binding the values
// SqliteTxn::InsertMember, InsertCard, AppendEntry and InsertLot bind (same columns, same
// encodings). CheckLikeReference compares such rows, column by column, with rows the hub wrote
// through Storage::Write, so a change to the hub's rows that this loader misses is an error.
//
// Everything is written in key order (member ids ascend with the rowid), so every index, the
// secondary ones included, is only appended to. The indexes are kept while loading: dropping
// ledger_member and recreating it afterwards measured slower (11.0 s + 3.8 s against 12.4 s for
// 10M entries), as it adds a sort of what in-order appends get for free.
//
// The hub must not have the file open (the journal is switched off while loading and back to
// WAL by Finish). A failure or crash before Finish leaves the file unusable: seed a fresh
// directory again. Thread-safety: none; one thread (a helper thread of its own starts the OS's
// write-back of the file while it loads).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/card.hpp"
#include "core/member.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "seed_file.hpp"

namespace kizuna::storage::sqlite {
class Connection;
}  // namespace kizuna::storage::sqlite

namespace kizuna::bench {

// A store and its program: a member's history is booked at its home store.
struct BulkStore {
    std::string store_id;
    std::string program_id;
};

// The history every seeded member gets: `entries` adjustment entries dated one day apart up to
// `now`, and one lot (earned at `now`, expiring a year later) holding their sum, which is also
// the balance. `seq` is the member's sequence number (its rowid for bulk-loaded members).
struct History {
    int entries = 0;
    core::Timestamp now{};

    static constexpr const char* kNote = "opening balance imported by bench/seed";
    // LoadLedger spells the same formula in SQL: 10 + ((m.rowid + k.n) % 90).
    static int64_t Delta(int64_t seq, int n) { return 10 + (seq + n) % 90; }
    static std::string Ref(int n) { return "import-" + std::to_string(n); }
    core::Timestamp OccurredAt(int n) const {
        return now - std::chrono::hours(24) * (entries + 1 - n);
    }
    core::Timestamp ExpiresAt() const { return now + std::chrono::hours(24) * 365; }
};

// Members to insert: member i has the ids ids[i], the name name_prefix + (i + 1), and every
// other column of `like` and its card of `card_like`.
struct BulkMembers {
    const std::vector<SeedMember>* ids = nullptr;  // not owned; outlives the loader's use
    std::string name_prefix;
    core::Member like;
    core::Card card_like;
};

class BulkLoader {
  public:
    // Opens `db_path` (a hub's kizuna.db, already migrated by the hub, which must have closed
    // it) and begins the load: no journal, no fsync, foreign keys off. Errors: kUnavailable
    // (cannot open it, or another connection has it open).
    static core::Result<std::unique_ptr<BulkLoader>> Open(const std::string& db_path);
    ~BulkLoader();
    BulkLoader(const BulkLoader&) = delete;
    BulkLoader& operator=(const BulkLoader&) = delete;

    // Inserts members [from, to) of `members` and their cards, with the columns and values
    // SqliteTxn::InsertMember and InsertCard would write for them. Call in ascending order.
    core::Status InsertMembers(const BulkMembers& members, size_t from, size_t to);

    // The rowid of a member's row; kNotFound when there is none.
    core::Result<int64_t> MemberRowId(std::string_view member_id);

    // Books `history` for every member whose rowid is >= `first_rowid` (their ledger must be
    // empty), at its home store: stores[rowid % stores.size()].
    core::Status LoadLedger(const std::vector<BulkStore>& stores, int64_t first_rowid,
                            const History& history);

    // Compares, in `table`, the first row (in `order_by` order) of `reference_member` (written
    // by the hub through Storage::Write) with that of `bulk_member` (written here): every column
    // must hold the same storage class (typeof: NULL, INTEGER, TEXT ...), and every column not
    // in `varying` the same value. Errors: kInternal naming the column that differs, kNotFound
    // when either row is missing.
    core::Status CheckLikeReference(const std::string& table, const std::string& order_by,
                                    std::string_view reference_member, std::string_view bulk_member,
                                    const std::vector<std::string>& varying);

    // Commits, switches the file back to WAL as the hub expects it, closes it and syncs it
    // once. Errors: kUnavailable (the commit or the sync failed).
    core::Status Finish();

  private:
    BulkLoader(std::string db_path, std::unique_ptr<storage::sqlite::Connection> connection);

    // Runs on flusher_ until StopFlusher: starts the OS's write-back of the file every second.
    void Flush();
    void StopFlusher();

    std::string db_path_;
    int fd_ = -1;  // the file, for the flusher and the final fsync
    std::unique_ptr<storage::sqlite::Connection> connection_;
    bool finished_ = false;
    std::thread flusher_;
    std::mutex flusher_mutex_;
    std::condition_variable flusher_wake_;
    bool stop_ = false;  // guarded by flusher_mutex_
};

}  // namespace kizuna::bench
