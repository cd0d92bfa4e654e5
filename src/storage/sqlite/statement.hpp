#pragma once
// A prepared SQLite statement and the lease through which one use of it binds, steps and reads
// columns. Statements are owned and cached by their Connection (connection.hpp); a lease resets
// the statement and clears its bindings when it ends, so the next use starts clean.
// Internal to the SQLite backend. Thread-safety: none; a statement belongs to its connection,
// which one thread uses at a time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace kizuna::storage::sqlite {

// Binds SQL NULL in place of an empty string: optional references (a card issued by no store,
// a ledger entry of the hub's expiry pass) are NULL in the database and "" in the domain.
struct NullIfEmpty {
    std::string_view text;
};

class Statement {
  public:
    // Takes ownership of `stmt` (finalized on destruction).
    Statement(sqlite3* db, sqlite3_stmt* stmt);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Parameters are 1-based, in the order of the ?NNN placeholders. A bind that fails (a
    // programming error: wrong index) is remembered and reported by the next Step.
    void Bind(int index, int64_t value);
    void Bind(int index, int value) { Bind(index, static_cast<int64_t>(value)); }
    void Bind(int index, bool value) { Bind(index, static_cast<int64_t>(value ? 1 : 0)); }
    void Bind(int index, std::string_view value);
    void Bind(int index, const std::string& value) { Bind(index, std::string_view(value)); }
    void Bind(int index, const char* value) { Bind(index, std::string_view(value)); }
    void Bind(int index, core::Timestamp value);
    void Bind(int index, std::optional<core::Timestamp> value);
    void Bind(int index, std::optional<std::string_view> value);
    void Bind(int index, NullIfEmpty value);
    void BindNull(int index);

    template <typename... Args>
    void BindAll(const Args&... args) {
        int index = 0;
        (Bind(++index, args), ...);
    }

    // Advances one row: true when a row is available, false when the statement is done.
    // Errors: mapped from the SQLite result code (see ErrorFromSqlite).
    core::Result<bool> Step();
    // Steps until done, ignoring rows; for INSERT/UPDATE/DELETE and transaction control.
    core::Status Run();

    // Column readers for the current row; 0-based. NULL reads as 0 / "" / nullopt.
    int64_t Int(int column) const;
    bool Bool(int column) const { return Int(column) != 0; }
    std::string Text(int column) const;
    // The text without a copy; valid until the next Step or Reset.
    std::string_view TextView(int column) const;
    core::Timestamp Time(int column) const;
    std::optional<core::Timestamp> OptionalTime(int column) const;
    bool IsNull(int column) const;

    // Ready for the next use: resets and clears bindings.
    void Reset();

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_;
    int bind_error_ = 0;
};

// One use of a cached statement; resets it when the lease ends. Movable, not copyable.
class StatementLease {
  public:
    explicit StatementLease(Statement* statement) : statement_(statement) {}
    StatementLease(StatementLease&& other) noexcept : statement_(other.statement_) {
        other.statement_ = nullptr;
    }
    StatementLease& operator=(StatementLease&&) = delete;
    StatementLease(const StatementLease&) = delete;
    StatementLease& operator=(const StatementLease&) = delete;
    ~StatementLease() {
        if (statement_ != nullptr) statement_->Reset();
    }

    Statement* operator->() const { return statement_; }
    Statement& operator*() const { return *statement_; }

  private:
    Statement* statement_;
};

// Maps an SQLite result code to a Kizuna error: unique/primary-key violations are
// kAlreadyExists; busy, locked, I/O, full and cannot-open are kUnavailable; anything else is
// kInternal. The message names `what` and carries SQLite's own text.
core::Error ErrorFromSqlite(sqlite3* db, int rc, std::string_view what);

}  // namespace kizuna::storage::sqlite
