#include "storage/sqlite/wal_write_buffer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/vfs_shim.hpp"

namespace kizuna::storage::sqlite {
namespace {

// Larger than a group commit's frames usually are (a few hundred 4 KiB pages), so that a commit
// is one write; a bigger transaction simply flushes every time the buffer fills.
constexpr int kBufferBytes = 4 << 20;
// The log's layout (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte file header
// whose bytes 8..11 are the page size (big-endian; 1 means 65536), then frames of a 24-byte
// header and one page. Bytes 4..7 of a frame header are the database size in pages for a commit
// frame, zero for every other frame.
constexpr int kWalHeaderBytes = 32;
constexpr int kFrameHeaderBytes = 24;
// The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length with 0x1ffff, so
// a write of exactly 128 KiB or a multiple would report a full disk): flush in pieces below it.
constexpr int kWriteChunkBytes = 128 * 1024 - 4096;
// File-control opcodes of our own (far above SQLite's): "write the buffer to the file", and
// "sync the database file every N bytes written to it" (the argument points to an int).
constexpr int kFlushOpcode = 0x4b5a0001;
constexpr int kSyncDatabaseEveryOpcode = 0x4b5a0002;

// Our file object: SQLite allocates szOsFile bytes for it; the base VFS's own file object
// follows it in the same allocation.
struct BufferedFile {
    ShimFile shim;
    std::atomic<int>* database_sync_error;  // the VFS's: see SyncDatabase
    char* buffer;          // kBufferBytes, allocated on the first buffered write (log files)
    sqlite3_int64 offset;  // file offset of buffer[0]
    int used;              // bytes in buffer
    bool is_log;           // a write-ahead log: writes are buffered
    int page_size;         // the log's page size, once known (0 before)
    // The end of the commit frame whose header was buffered, 0 when none: the buffer goes to
    // the file as soon as it reaches there.
    sqlite3_int64 commit_end;
    bool is_database;              // the main database file: written by checkpoints only
    int database_sync_bytes;       // sync the database after this many bytes written, 0: never
    sqlite3_int64 unsynced_bytes;  // written to the database since its last sync
};
constexpr int kFileBytes = ShimFileBytes(sizeof(BufferedFile));

uint32_t BigEndian32(const unsigned char* bytes) {
    return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
           uint32_t{bytes[3]};
}

int PageSizeOfHeader(const unsigned char* header) {
    const uint32_t size = BigEndian32(header + 8);
    return size == 1 ? 65536 : static_cast<int>(size);
}

int Flush(BufferedFile* f) {
    int rc = SQLITE_OK;
    for (int done = 0; done < f->used && rc == SQLITE_OK; done += kWriteChunkBytes) {
        const int amount = std::min(kWriteChunkBytes, f->used - done);
        rc = f->shim.real->pMethods->xWrite(f->shim.real, f->buffer + done, amount,
                                            f->offset + done);
    }
    f->used = 0;
    f->commit_end = 0;
    return rc;
}
int Flush(sqlite3_file* file) { return Flush(reinterpret_cast<BufferedFile*>(file)); }

// The log's page size: from its header when SQLite wrote it through this file, else from the
// file. 0 when the file has no header yet.
int PageSize(BufferedFile* f) {
    if (f->page_size != 0) return f->page_size;
    unsigned char header[kWalHeaderBytes];
    if (f->used >= kWalHeaderBytes && f->offset == 0) {
        std::memcpy(header, f->buffer, kWalHeaderBytes);
    } else if (f->shim.real->pMethods->xRead(f->shim.real, header, kWalHeaderBytes, 0) !=
               SQLITE_OK) {
        return 0;
    }
    f->page_size = PageSizeOfHeader(header);
    return f->page_size;
}

// Where the commit frame that a write at `offset` begins ends, or 0 when the write does not
// begin a commit frame.
sqlite3_int64 CommitFrameEnd(BufferedFile* f, const void* data, int amount, sqlite3_int64 offset) {
    if (offset < kWalHeaderBytes || amount < kFrameHeaderBytes) return 0;
    const auto* bytes = static_cast<const unsigned char*>(data);
    if ((bytes[4] | bytes[5] | bytes[6] | bytes[7]) == 0) return 0;
    const int page_size = PageSize(f);
    if (page_size <= 0) return 0;
    const sqlite3_int64 frame_bytes = kFrameHeaderBytes + page_size;
    if ((offset - kWalHeaderBytes) % frame_bytes != 0) return 0;
    return offset + frame_bytes;
}

int Close(sqlite3_file* file) {
    auto* f = reinterpret_cast<BufferedFile*>(file);
    const int flushed = Flush(f);
    const int closed = f->shim.real->pMethods->xClose(f->shim.real);
    std::free(f->buffer);
    f->buffer = nullptr;
    return flushed != SQLITE_OK ? flushed : closed;
}

int Read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
    if (int rc = Flush(file); rc != SQLITE_OK) return rc;
    return RealFile(file)->pMethods->xRead(RealFile(file), out, amount, offset);
}

// Syncs the database file. After a failed sync the kernel may have dropped the pages it could
// not write and report the next sync of the file as a success (fsync(2), "writeback errors"),
// so once one has failed, every later sync of the database through this VFS fails the same way:
// no checkpoint can then complete (and let the log restart) over copied pages that may not be
// on the disk. The log keeps every commit meanwhile; it only stops restarting.
int SyncDatabase(BufferedFile* f, int flags) {
    if (const int failed = f->database_sync_error->load(); failed != SQLITE_OK) return failed;
    const int rc = f->shim.real->pMethods->xSync(f->shim.real, flags);
    if (rc != SQLITE_OK) {
        int none = SQLITE_OK;
        f->database_sync_error->compare_exchange_strong(none, rc);
        return rc;
    }
    f->unsynced_bytes = 0;
    return SQLITE_OK;
}

// A checkpoint's copy into the database, synced in slices when asked to (SyncDatabaseEvery).
int WriteDatabase(BufferedFile* f, const void* data, int amount, sqlite3_int64 offset) {
    const int rc = f->shim.real->pMethods->xWrite(f->shim.real, data, amount, offset);
    if (rc != SQLITE_OK || f->database_sync_bytes <= 0) return rc;
    f->unsynced_bytes += amount;
    if (f->unsynced_bytes < f->database_sync_bytes) return SQLITE_OK;
    return SyncDatabase(f, SQLITE_SYNC_NORMAL);
}

int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    auto* f = reinterpret_cast<BufferedFile*>(file);
    if (f->is_database) return WriteDatabase(f, data, amount, offset);
    if (!f->is_log) return f->shim.real->pMethods->xWrite(f->shim.real, data, amount, offset);
    if (offset == 0 && amount >= kWalHeaderBytes) {
        // A new log header (the log starts or restarts): its page size is the frames'.
        f->page_size = PageSizeOfHeader(static_cast<const unsigned char*>(data));
    }
    if (f->used > 0 && (offset != f->offset + f->used || f->used + amount > kBufferBytes)) {
        if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    }
    if (f->buffer == nullptr) {
        f->buffer = static_cast<char*>(std::malloc(kBufferBytes));
    }
    if (f->buffer == nullptr || amount > kWriteChunkBytes) {
        if (int rc = Flush(f); rc != SQLITE_OK) return rc;
        return f->shim.real->pMethods->xWrite(f->shim.real, data, amount, offset);
    }
    if (const sqlite3_int64 end = CommitFrameEnd(f, data, amount, offset); end != 0) {
        f->commit_end = end;
    }
    if (f->used == 0) f->offset = offset;
    std::memcpy(f->buffer + f->used, data, static_cast<size_t>(amount));
    f->used += amount;
    // The commit frame is whole: the transaction goes to the file now, before SQLite tells
    // other connections about it.
    if (f->commit_end != 0 && f->offset + f->used >= f->commit_end) return Flush(f);
    return SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
    if (int rc = Flush(file); rc != SQLITE_OK) return rc;
    return RealFile(file)->pMethods->xTruncate(RealFile(file), size);
}

int Sync(sqlite3_file* file, int flags) {
    auto* f = reinterpret_cast<BufferedFile*>(file);
    if (f->is_database) return SyncDatabase(f, flags);
    if (int rc = Flush(file); rc != SQLITE_OK) return rc;
    return RealFile(file)->pMethods->xSync(RealFile(file), flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
    if (int rc = Flush(file); rc != SQLITE_OK) return rc;
    return RealFile(file)->pMethods->xFileSize(RealFile(file), size);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
    if (op == kSyncDatabaseEveryOpcode) {
        auto* f = reinterpret_cast<BufferedFile*>(file);
        if (!f->is_database) return SQLITE_NOTFOUND;
        f->database_sync_bytes = *static_cast<int*>(arg);
        return SQLITE_OK;
    }
    if (int rc = Flush(file); rc != SQLITE_OK || op == kFlushOpcode) return rc;
    return RealFile(file)->pMethods->xFileControl(RealFile(file), op, arg);
}

int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
    if (int rc = Flush(file); rc != SQLITE_OK) return rc;
    return RealFile(file)->pMethods->xFetch(RealFile(file), offset, amount, out);
}
// The base's methods, but for what the buffer changes.
sqlite3_io_methods MethodsFor(int version) {
    sqlite3_io_methods m = ForwardingIoMethods(version);
    m.xClose = Close;
    m.xRead = Read;
    m.xWrite = Write;
    m.xTruncate = Truncate;
    m.xSync = Sync;
    m.xFileSize = FileSize;
    m.xFileControl = FileControl;
    if (version >= 3) m.xFetch = Fetch;
    return m;
}
const sqlite3_io_methods kMethods[] = {MethodsFor(1), MethodsFor(2), MethodsFor(3)};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    auto* f = reinterpret_cast<BufferedFile*>(file);
    std::memset(f, 0, sizeof(BufferedFile));
    const int rc =
        OpenShimFile(ShimOf(vfs)->base, name, &f->shim, kFileBytes, flags, out_flags, kMethods);
    f->database_sync_error = static_cast<std::atomic<int>*>(ShimOf(vfs)->owner);
    f->is_log = (flags & SQLITE_OPEN_WAL) != 0;
    f->is_database = (flags & SQLITE_OPEN_MAIN_DB) != 0;
    return rc;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
    sqlite3_vfs* base = ShimOf(vfs)->base;
    return base->xDelete(base, name, sync_dir);
}

std::atomic<int> g_instances{0};

}  // namespace

core::Result<std::unique_ptr<WalWriteBuffer>> WalWriteBuffer::Create(const std::string& base_name) {
    ConfigureSqlite();  // before sqlite3_vfs_find initializes SQLite
    sqlite3_vfs* base = sqlite3_vfs_find(base_name.c_str());
    if (base == nullptr || base->iVersion < 2 || base->xCurrentTimeInt64 == nullptr) {
        return core::MakeError(core::ErrorCode::kUnavailable,
                               "the SQLite VFS '" + base_name + "' is missing or too old");
    }
    std::unique_ptr<WalWriteBuffer> buffer(new WalWriteBuffer());
    buffer->name_ = "kizuna-wal-buffer-" + std::to_string(g_instances.fetch_add(1));
    buffer->shim_ = std::make_unique<ShimVfs>(ShimVfs{base, &buffer->database_sync_error_});
    buffer->vfs_ = std::make_unique<sqlite3_vfs>();
    InitShimVfs(*buffer->vfs_, buffer->shim_.get(), buffer->name_.c_str(), kFileBytes);
    buffer->vfs_->xOpen = Open;
    buffer->vfs_->xDelete = Delete;
    sqlite3_vfs& vfs = *buffer->vfs_;
    if (const int rc = sqlite3_vfs_register(&vfs, /*makeDflt=*/0); rc != SQLITE_OK) {
        return core::MakeError(
            core::ErrorCode::kUnavailable,
            std::string("cannot register the log-buffering SQLite VFS: ") + sqlite3_errstr(rc));
    }
    return buffer;
}

int WalWriteBuffer::FlushLog(sqlite3* db) {
    sqlite3_file* log = nullptr;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &log) != SQLITE_OK ||
        log == nullptr || log->pMethods == nullptr || log->pMethods->xClose != Close) {
        return SQLITE_OK;  // no log open, or not one of ours: nothing is buffered
    }
    return log->pMethods->xFileControl(log, kFlushOpcode, nullptr);
}

int WalWriteBuffer::SyncDatabaseEvery(sqlite3* db, int bytes) {
    sqlite3_file* database = nullptr;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &database) != SQLITE_OK ||
        database == nullptr || database->pMethods == nullptr ||
        database->pMethods->xClose != Close) {
        return SQLITE_NOTFOUND;  // not opened through a WalWriteBuffer
    }
    return database->pMethods->xFileControl(database, kSyncDatabaseEveryOpcode, &bytes);
}

WalWriteBuffer::~WalWriteBuffer() {
    if (vfs_ != nullptr) (void)sqlite3_vfs_unregister(vfs_.get());
}

}  // namespace kizuna::storage::sqlite
