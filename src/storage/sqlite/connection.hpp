#pragma once
// One SQLite database connection with its cache of prepared statements: each SQL text is
// prepared once per connection and reused, so the hot path never re-parses SQL.
// Internal to the SQLite backend. Thread-safety: none; one thread at a time (the writer thread
// owns its connection; a reader connection is leased to one Read at a time).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.hpp"
#include "storage/sqlite/statement.hpp"

struct sqlite3;

namespace kizuna::storage::sqlite {

// Where the database lives and how its connections behave.
struct DatabaseLocation {
    std::string path;
    // True: synchronous=NORMAL, under which SQLite syncs the log's header when the log restarts
    // and the log and the database around every checkpoint, while the storage syncs the log
    // before it acknowledges a commit (src/storage/README.md, "Durability"). False:
    // synchronous=OFF and no syncs at all, for a throw-away database.
    bool durable = true;
    // How long a connection waits for a lock held by another connection (another process, a
    // checkpoint) before it reports kUnavailable.
    int busy_timeout_ms = 5000;
    // The SQLite VFS that does the file I/O, under the storage's log write buffer. "unix-excl":
    // the process holds the database with one exclusive lock and its connections share the
    // log index in memory. Tests pass a VFS of their own (a power-loss simulation) here.
    std::string base_vfs = "unix-excl";
};

// The process-wide SQLite settings (connection.cpp says which); once per process, before any
// other SQLite call: every path that may make the process's first one calls it (a connection's
// open, a VFS's registration), and later calls do nothing.
void ConfigureSqlite();

class Connection {
  public:
    enum class Role {
        kWriter,        // applies migrations and writes; foreign keys enforced
        kReader,        // PRAGMA query_only: any write attempt fails
        kCheckpointer,  // copies the write-ahead log into the database file; no statements
    };

    // Opens and configures a connection (WAL, synchronous, foreign keys, busy timeout) through
    // the VFS named `vfs` (the storage's WalWriteBuffer), or location.base_vfs when nullptr.
    // Errors: kUnavailable when the file cannot be opened or configured.
    static core::Result<std::unique_ptr<Connection>> Open(const DatabaseLocation& location,
                                                          Role role, const char* vfs = nullptr);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // The cached statement for `sql`, prepared on first use. Only one lease of a given SQL text
    // may be alive at a time. Errors: kInternal for invalid SQL.
    core::Result<StatementLease> Prepare(std::string_view sql);
    // Runs one or more statements without caching them (schema, pragmas).
    core::Status ExecScript(std::string_view sql);
    // Runs one cached statement that returns no rows we need (BEGIN, COMMIT, SAVEPOINT ...).
    core::Status Run(std::string_view sql);

    // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
    int64_t Changes() const;
    int64_t LastInsertRowId() const;
    // True while a transaction is open. SQLite rolls a transaction back by itself after some
    // errors (I/O, disk full); callers check this to know their transaction is gone.
    bool InTransaction() const;

    sqlite3* handle() const { return db_; }

  private:
    explicit Connection(sqlite3* db) : db_(db) {}

    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };

    sqlite3* db_;
    std::unordered_map<std::string, std::unique_ptr<Statement>, StringHash, std::equal_to<>>
        statements_;
};

}  // namespace kizuna::storage::sqlite
