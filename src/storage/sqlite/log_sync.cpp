#include "storage/sqlite/log_sync.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kizuna::storage::sqlite {

core::Result<std::unique_ptr<LogSync>> LogSync::Open(sqlite3* db) {
    auto fail = [](const std::string& why) {
        return core::MakeError(core::ErrorCode::kUnavailable,
                               "cannot open the write-ahead log for syncing: " + why);
    };
    sqlite3_vfs* vfs = nullptr;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) != SQLITE_OK ||
        vfs == nullptr) {
        return fail("the connection names no VFS");
    }
    const char* database = sqlite3_db_filename(db, "main");
    const char* wal = database != nullptr ? sqlite3_filename_wal(database) : nullptr;
    if (wal == nullptr || *wal == '\0') return fail("the database has no file name");

    std::unique_ptr<LogSync> log(new LogSync());
    log->vfs_ = vfs;
    log->path_.assign(wal, std::strlen(wal) + 1);  // keeps a second NUL after the name
    log->file_ = std::make_unique<char[]>(static_cast<size_t>(vfs->szOsFile));
    std::memset(log->file_.get(), 0, static_cast<size_t>(vfs->szOsFile));
    auto* file = reinterpret_cast<sqlite3_file*>(log->file_.get());
    int out_flags = 0;
    const int rc = vfs->xOpen(vfs, log->path_.c_str(), file,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_WAL, &out_flags);
    if (rc != SQLITE_OK || file->pMethods == nullptr) {
        return fail(std::string(wal) + ": " +
                    sqlite3_errstr(rc != SQLITE_OK ? rc : SQLITE_CANTOPEN));
    }
    log->open_ = true;
    // The log's directory entry (and the database's) must survive a power cut too: sync the
    // directory once, now that both files exist.
    const std::string directory = std::filesystem::path(wal).parent_path().string();
    const int fd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open " + directory + ": " + std::strerror(errno));
    const int synced = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (synced != 0) return fail("cannot sync " + directory + ": " + std::strerror(error));
    return log;
}

LogSync::~LogSync() {
    if (!open_) return;
    auto* file = reinterpret_cast<sqlite3_file*>(file_.get());
    (void)file->pMethods->xClose(file);
}

int LogSync::Sync() {
    auto* file = reinterpret_cast<sqlite3_file*>(file_.get());
    return file->pMethods->xSync(file, SQLITE_SYNC_NORMAL);
}

}  // namespace kizuna::storage::sqlite
