#include "storage/sqlite/statement.hpp"

#include <sqlite3.h>

#include <string>

namespace kizuna::storage::sqlite {

using core::ErrorCode;

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::Bind(int index, int64_t value) {
    int rc = sqlite3_bind_int64(stmt_, index, value);
    if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void Statement::Bind(int index, std::string_view value) {
    // SQLITE_TRANSIENT: SQLite copies the text, so the caller's buffer may go away before Step.
    int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
    if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void Statement::Bind(int index, core::Timestamp value) { Bind(index, core::ToUnixSeconds(value)); }

void Statement::Bind(int index, std::optional<core::Timestamp> value) {
    if (value) {
        Bind(index, *value);
    } else {
        BindNull(index);
    }
}

void Statement::Bind(int index, std::optional<std::string_view> value) {
    if (value) {
        Bind(index, *value);
    } else {
        BindNull(index);
    }
}

void Statement::Bind(int index, NullIfEmpty value) {
    if (value.text.empty()) {
        BindNull(index);
    } else {
        Bind(index, value.text);
    }
}

void Statement::BindNull(int index) {
    int rc = sqlite3_bind_null(stmt_, index);
    if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

core::Result<bool> Statement::Step() {
    if (bind_error_ != 0) {
        return core::MakeError(ErrorCode::kInternal, std::string("binding a parameter failed (") +
                                                         sqlite3_errstr(bind_error_) +
                                                         ") in: " + sqlite3_sql(stmt_));
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return ErrorFromSqlite(db_, rc, sqlite3_sql(stmt_));
}

core::Status Statement::Run() {
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, Step());
        if (!row) return core::Status::Ok();
    }
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return {};
    int bytes = sqlite3_column_bytes(stmt_, column);
    return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(bytes));
}

std::string_view Statement::TextView(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return {};
    int bytes = sqlite3_column_bytes(stmt_, column);
    return std::string_view(reinterpret_cast<const char*>(text), static_cast<std::size_t>(bytes));
}

core::Timestamp Statement::Time(int column) const { return core::FromUnixSeconds(Int(column)); }

std::optional<core::Timestamp> Statement::OptionalTime(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Time(column);
}

bool Statement::IsNull(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

void Statement::Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    bind_error_ = 0;
}

core::Error ErrorFromSqlite(sqlite3* db, int rc, std::string_view what) {
    // The extended code says which constraint failed; the connection's message has details
    // (table and column) when it still describes this failure.
    int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
    if ((extended & 0xff) != (rc & 0xff)) extended = rc;
    std::string detail =
        db != nullptr && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    std::string message = "sqlite: " + detail;
    switch (extended) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
            return core::MakeError(ErrorCode::kAlreadyExists, std::move(message));
        default:
            break;
    }
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_CANTOPEN:
        case SQLITE_PROTOCOL:
        case SQLITE_NOMEM:
        case SQLITE_READONLY:
            return core::MakeError(ErrorCode::kUnavailable, std::move(message));
        default:
            // Something this backend did not expect: say which statement, for the log.
            return core::MakeError(ErrorCode::kInternal,
                                   std::move(message) + " (in: " + std::string(what) + ")");
    }
}

}  // namespace kizuna::storage::sqlite
