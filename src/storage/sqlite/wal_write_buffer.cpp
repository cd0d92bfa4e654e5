#include "storage/sqlite/wal_write_buffer.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace kizuna::storage::sqlite {
namespace {

constexpr const char* kVfsName = "kizuna-wal-buffer";
// Larger than a group commit's frames usually are (a few hundred 4 KiB pages), so that a commit
// is one write; a bigger transaction simply flushes every time the buffer fills.
constexpr int kBufferBytes = 4 << 20;
// The log's layout (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte file header,
// then frames of a 24-byte header and one page. Bytes 4..7 of a frame header are the database
// size in pages for a commit frame, zero for every other frame.
constexpr int kWalHeaderBytes = 32;
// The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length with 0x1ffff, so
// a write of exactly 128 KiB or a multiple would report a full disk): flush in pieces below it.
constexpr int kWriteChunkBytes = 128 * 1024 - 4096;
constexpr int kFrameHeaderBytes = 24;

thread_local DeferLogSyncs* t_deferral = nullptr;
std::atomic<int (*)(int)> g_sync_hook{nullptr};

sqlite3_vfs* g_base = nullptr;  // the default VFS, which does the real I/O
sqlite3_vfs g_vfs;              // ours: the base's functions, our xOpen and file size

// Our file object: SQLite allocates szOsFile bytes for it; the base VFS's own file object
// follows it in the same allocation.
struct BufferedFile {
    sqlite3_file base;     // pMethods points to our methods
    sqlite3_file* real;    // the base VFS's file, right after this struct
    char* buffer;          // kBufferBytes, allocated on the first buffered write (log files)
    sqlite3_int64 offset;  // file offset of buffer[0]
    int used;              // bytes in buffer
    bool is_log;           // a write-ahead log: writes are buffered
    bool commit_frame;     // the last write was a commit frame's header: flush after its page
    bool synced_once;      // a sync has reached the disk (the first also syncs the directory)
    // Logs only: our own descriptor of the file, for syncs deferred to another thread; nullptr
    // if it could not be opened (every sync then waits for the disk). Allocated in Open.
    std::shared_ptr<const LogSync>* deferred_sync;
};
constexpr int kFileBytes = (sizeof(BufferedFile) + 15) / 16 * 16;

sqlite3_file* Real(sqlite3_file* file) { return reinterpret_cast<BufferedFile*>(file)->real; }

int Flush(BufferedFile* f) {
    int rc = SQLITE_OK;
    for (int done = 0; done < f->used && rc == SQLITE_OK; done += kWriteChunkBytes) {
        const int amount = std::min(kWriteChunkBytes, f->used - done);
        rc = f->real->pMethods->xWrite(f->real, f->buffer + done, amount, f->offset + done);
    }
    f->used = 0;
    return rc;
}
int Flush(sqlite3_file* file) { return Flush(reinterpret_cast<BufferedFile*>(file)); }

int Close(sqlite3_file* file) {
    auto* f = reinterpret_cast<BufferedFile*>(file);
    const int flushed = Flush(f);
    const int closed = f->real->pMethods->xClose(f->real);
    std::free(f->buffer);
    f->buffer = nullptr;
    delete f->deferred_sync;
    f->deferred_sync = nullptr;
    return flushed != SQLITE_OK ? flushed : closed;
}

int Read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
    if (int rc = Flush(file); rc != SQLITE_OK) return rc;
    return Real(file)->pMethods->xRead(Real(file), out, amount, offset);
}

bool IsCommitFrameHeader(const void* data, int amount, sqlite3_int64 offset) {
    if (amount != kFrameHeaderBytes || offset < kWalHeaderBytes) return false;
    const auto* bytes = static_cast<const unsigned char*>(data);
    return (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
}

int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    auto* f = reinterpret_cast<BufferedFile*>(file);
    if (!f->is_log) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    if (f->used > 0 && (offset != f->offset + f->used || f->used + amount > kBufferBytes)) {
        if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    }
    if (f->buffer == nullptr) {
        f->buffer = static_cast<char*>(std::malloc(kBufferBytes));
        if (f->buffer == nullptr) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    }
    if (amount > kWriteChunkBytes) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    if (f->used == 0) f->offset = offset;
    std::memcpy(f->buffer + f->used, data, static_cast<size_t>(amount));
    f->used += amount;
    if (f->commit_frame) {
        // The commit frame's page: the transaction is complete in the buffer. It goes to the file
        // now, before SQLite tells readers about it (with or without a sync to follow).
        f->commit_frame = false;
        return Flush(f);
    }
    f->commit_frame = IsCommitFrameHeader(data, amount, offset);
    return SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
    if (int rc = Flush(file); rc != SQLITE_OK) return rc;
    return Real(file)->pMethods->xTruncate(Real(file), size);
}

int Sync(sqlite3_file* file, int flags) {
    auto* f = reinterpret_cast<BufferedFile*>(file);
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    if (t_deferral != nullptr && f->synced_once && f->deferred_sync != nullptr) {
        // The frames are in the file; the thread that acknowledges them syncs it.
        t_deferral->Owe(*f->deferred_sync);
        return SQLITE_OK;
    }
    const int rc = f->real->pMethods->xSync(f->real, flags);
    if (rc == SQLITE_OK) f->synced_once = true;
    return rc;
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
    if (int rc = Flush(file); rc != SQLITE_OK) return rc;
    return Real(file)->pMethods->xFileSize(Real(file), size);
}

int Lock(sqlite3_file* file, int level) { return Real(file)->pMethods->xLock(Real(file), level); }
int Unlock(sqlite3_file* file, int level) {
    return Real(file)->pMethods->xUnlock(Real(file), level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
    return Real(file)->pMethods->xCheckReservedLock(Real(file), out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
    if (int rc = Flush(file); rc != SQLITE_OK) return rc;
    return Real(file)->pMethods->xFileControl(Real(file), op, arg);
}

int SectorSize(sqlite3_file* file) { return Real(file)->pMethods->xSectorSize(Real(file)); }
int DeviceCharacteristics(sqlite3_file* file) {
    return Real(file)->pMethods->xDeviceCharacteristics(Real(file));
}

int ShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
    return Real(file)->pMethods->xShmMap(Real(file), region, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
    return Real(file)->pMethods->xShmLock(Real(file), offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) { Real(file)->pMethods->xShmBarrier(Real(file)); }
int ShmUnmap(sqlite3_file* file, int delete_flag) {
    return Real(file)->pMethods->xShmUnmap(Real(file), delete_flag);
}

int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
    if (int rc = Flush(file); rc != SQLITE_OK) return rc;
    return Real(file)->pMethods->xFetch(Real(file), offset, amount, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
    return Real(file)->pMethods->xUnfetch(Real(file), offset, page);
}

// The methods of a file follow the base file's version: a method the base lacks stays absent.
sqlite3_io_methods MethodsFor(int version) {
    sqlite3_io_methods m{};
    m.iVersion = version;
    m.xClose = Close;
    m.xRead = Read;
    m.xWrite = Write;
    m.xTruncate = Truncate;
    m.xSync = Sync;
    m.xFileSize = FileSize;
    m.xLock = Lock;
    m.xUnlock = Unlock;
    m.xCheckReservedLock = CheckReservedLock;
    m.xFileControl = FileControl;
    m.xSectorSize = SectorSize;
    m.xDeviceCharacteristics = DeviceCharacteristics;
    if (version >= 2) {
        m.xShmMap = ShmMap;
        m.xShmLock = ShmLock;
        m.xShmBarrier = ShmBarrier;
        m.xShmUnmap = ShmUnmap;
    }
    if (version >= 3) {
        m.xFetch = Fetch;
        m.xUnfetch = Unfetch;
    }
    return m;
}
const sqlite3_io_methods kMethods[] = {MethodsFor(1), MethodsFor(2), MethodsFor(3)};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    auto* f = reinterpret_cast<BufferedFile*>(file);
    std::memset(f, 0, sizeof(BufferedFile));
    f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kFileBytes);
    const int rc = g_base->xOpen(g_base, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK || f->real->pMethods == nullptr) {
        // The base closes what it opened on failure; SQLite will not call our xClose.
        f->base.pMethods = nullptr;
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    const int version = f->real->pMethods->iVersion;
    f->base.pMethods = &kMethods[version >= 3 ? 2 : version < 1 ? 0 : version - 1];
    f->is_log = (flags & SQLITE_OPEN_WAL) != 0;
    if (f->is_log && name != nullptr) {
        // A second descriptor of the same file: fdatasync through it covers what the
        // connection's own descriptor wrote. Logs carry no locks (those are on the database
        // file), so this descriptor's close cannot release any.
        // Without it (or without memory for it), every sync of this file simply waits.
        const int fd = ::open(name, O_RDONLY | O_CLOEXEC);
        std::shared_ptr<const LogSync> sync;
        if (fd >= 0) {
            try {
                sync = std::make_shared<const LogSync>(fd);
            } catch (const std::bad_alloc&) {
                ::close(fd);
            }
        }
        if (sync != nullptr) {
            f->deferred_sync = new (std::nothrow) std::shared_ptr<const LogSync>(std::move(sync));
        }
    }
    return SQLITE_OK;
}

// Everything but opening files is the base VFS's business.
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
    return g_base->xDelete(g_base, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
    return g_base->xAccess(g_base, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int size, char* out) {
    return g_base->xFullPathname(g_base, name, size, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void DlError(sqlite3_vfs*, int size, char* out) { g_base->xDlError(g_base, size, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
    return g_base->xDlSym(g_base, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { g_base->xDlClose(g_base, handle); }
int Randomness(sqlite3_vfs*, int size, char* out) { return g_base->xRandomness(g_base, size, out); }
int Sleep(sqlite3_vfs*, int microseconds) { return g_base->xSleep(g_base, microseconds); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int GetLastError(sqlite3_vfs*, int size, char* out) {
    return g_base->xGetLastError != nullptr ? g_base->xGetLastError(g_base, size, out) : 0;
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
    return g_base->xCurrentTimeInt64(g_base, out);
}

const char* Register() {
    g_base = sqlite3_vfs_find("unix-excl");
    if (g_base == nullptr) g_base = sqlite3_vfs_find(nullptr);
    if (g_base == nullptr || g_base->iVersion < 2 || g_base->xCurrentTimeInt64 == nullptr) {
        return nullptr;
    }
    g_vfs = sqlite3_vfs{};
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = kFileBytes + g_base->szOsFile;
    g_vfs.mxPathname = g_base->mxPathname;
    g_vfs.zName = kVfsName;
    g_vfs.xOpen = Open;
    g_vfs.xDelete = Delete;
    g_vfs.xAccess = Access;
    g_vfs.xFullPathname = FullPathname;
    g_vfs.xDlOpen = DlOpen;
    g_vfs.xDlError = DlError;
    g_vfs.xDlSym = DlSym;
    g_vfs.xDlClose = DlClose;
    g_vfs.xRandomness = Randomness;
    g_vfs.xSleep = Sleep;
    g_vfs.xCurrentTime = CurrentTime;
    g_vfs.xGetLastError = GetLastError;
    g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
    if (sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
    return kVfsName;
}

}  // namespace

const char* WalWriteBufferVfs() {
    static const char* const name = Register();
    return name;
}

LogSync::~LogSync() { ::close(fd_); }

int LogSync::Sync() const {
    if (auto hook = g_sync_hook.load(); hook != nullptr) return hook(fd_);
    while (::fdatasync(fd_) != 0) {
        if (errno != EINTR) return errno;
    }
    return 0;
}

DeferLogSyncs::DeferLogSyncs() { t_deferral = this; }
DeferLogSyncs::~DeferLogSyncs() { t_deferral = nullptr; }

void SetLogSyncHookForTesting(int (*hook)(int fd)) { g_sync_hook.store(hook); }

}  // namespace kizuna::storage::sqlite
