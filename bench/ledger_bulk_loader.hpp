#pragma once
// Bulk history for the scale test: books ledger entries, one lot and the balance for every
// member in a hub's SQLite file, producing exactly the rows SqliteTxn::AppendEntry and
// InsertLot write (same columns, same encodings) — but generated inside SQLite by three
// INSERT ... SELECT statements, in key order, without a journal or fsync until the end.
// Through Storage::Write (one AppendEntry per entry) 10M entries took 4.5 minutes on the 2-core
// bench machine, and row-by-row prepared inserts 3; the scale test must seed in under one.
//
// Every member's history goes to one home store, chosen by the member's row number modulo the
// number of stores. The member's ledger must be empty (a fresh seed).
// The hub must not have the file open (the loader switches the journal off while it works and
// back to WAL when done). A crash while loading can leave the file unusable: it is for bench
// data directories only.
// Thread-safety: none; one thread.

#include <cstdint>
#include <string>
#include <vector>

struct sqlite3;

namespace kizuna::bench {

struct BulkStore {
    std::string store_id;
    std::string program_id;
};

class LedgerBulkLoader {
  public:
    // Opens `db_path` (a hub's kizuna.db). On failure ok() is false and error() says why.
    explicit LedgerBulkLoader(const std::string& db_path);
    ~LedgerBulkLoader();
    LedgerBulkLoader(const LedgerBulkLoader&) = delete;
    LedgerBulkLoader& operator=(const LedgerBulkLoader&) = delete;

    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }

    // Books `entries_per_member` adjustment entries for every member, dated one day apart up
    // to `now` (Unix seconds), one lot holding their sum (expiring a year after `now`) and the
    // balance. Returns false (see error()) if anything fails; then nothing is booked.
    bool Load(const std::vector<BulkStore>& stores, int entries_per_member, int64_t now);

  private:
    bool Exec(const std::string& sql);
    bool Fail(const std::string& what);

    sqlite3* db_ = nullptr;
    std::string error_;
};

}  // namespace kizuna::bench
