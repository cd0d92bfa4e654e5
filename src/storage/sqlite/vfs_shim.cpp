#include "storage/sqlite/vfs_shim.hpp"

namespace kizuna::storage::sqlite {
namespace {

int Close(sqlite3_file* file) { return RealFile(file)->pMethods->xClose(RealFile(file)); }
int Read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
    return RealFile(file)->pMethods->xRead(RealFile(file), out, amount, offset);
}
int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    return RealFile(file)->pMethods->xWrite(RealFile(file), data, amount, offset);
}
int Truncate(sqlite3_file* file, sqlite3_int64 size) {
    return RealFile(file)->pMethods->xTruncate(RealFile(file), size);
}
int Sync(sqlite3_file* file, int flags) {
    return RealFile(file)->pMethods->xSync(RealFile(file), flags);
}
int FileSize(sqlite3_file* file, sqlite3_int64* size) {
    return RealFile(file)->pMethods->xFileSize(RealFile(file), size);
}
int Lock(sqlite3_file* file, int level) {
    return RealFile(file)->pMethods->xLock(RealFile(file), level);
}
int Unlock(sqlite3_file* file, int level) {
    return RealFile(file)->pMethods->xUnlock(RealFile(file), level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
    return RealFile(file)->pMethods->xCheckReservedLock(RealFile(file), out);
}
int FileControl(sqlite3_file* file, int op, void* arg) {
    return RealFile(file)->pMethods->xFileControl(RealFile(file), op, arg);
}
int SectorSize(sqlite3_file* file) { return RealFile(file)->pMethods->xSectorSize(RealFile(file)); }
int DeviceCharacteristics(sqlite3_file* file) {
    return RealFile(file)->pMethods->xDeviceCharacteristics(RealFile(file));
}
int ShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
    return RealFile(file)->pMethods->xShmMap(RealFile(file), region, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
    return RealFile(file)->pMethods->xShmLock(RealFile(file), offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) { RealFile(file)->pMethods->xShmBarrier(RealFile(file)); }
int ShmUnmap(sqlite3_file* file, int delete_flag) {
    return RealFile(file)->pMethods->xShmUnmap(RealFile(file), delete_flag);
}
int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
    return RealFile(file)->pMethods->xFetch(RealFile(file), offset, amount, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
    return RealFile(file)->pMethods->xUnfetch(RealFile(file), offset, page);
}

sqlite3_vfs* Base(sqlite3_vfs* vfs) { return ShimOf(vfs)->base; }

int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
    return Base(vfs)->xAccess(Base(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
    return Base(vfs)->xFullPathname(Base(vfs), name, size, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return Base(vfs)->xDlOpen(Base(vfs), name); }
void DlError(sqlite3_vfs* vfs, int size, char* out) { Base(vfs)->xDlError(Base(vfs), size, out); }
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
    return Base(vfs)->xDlSym(Base(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) { Base(vfs)->xDlClose(Base(vfs), handle); }
int Randomness(sqlite3_vfs* vfs, int size, char* out) {
    return Base(vfs)->xRandomness(Base(vfs), size, out);
}
int Sleep(sqlite3_vfs* vfs, int microseconds) { return Base(vfs)->xSleep(Base(vfs), microseconds); }
int CurrentTime(sqlite3_vfs* vfs, double* out) { return Base(vfs)->xCurrentTime(Base(vfs), out); }
int GetLastError(sqlite3_vfs* vfs, int size, char* out) {
    sqlite3_vfs* base = Base(vfs);
    return base->xGetLastError != nullptr ? base->xGetLastError(base, size, out) : 0;
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
    return Base(vfs)->xCurrentTimeInt64(Base(vfs), out);
}

}  // namespace

sqlite3_io_methods ForwardingIoMethods(int version) {
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
    // A method the base's version lacks stays absent.
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

void InitShimVfs(sqlite3_vfs& vfs, ShimVfs* data, const char* name, int shim_file_bytes) {
    vfs = sqlite3_vfs{};
    vfs.iVersion = 2;
    vfs.szOsFile = shim_file_bytes + data->base->szOsFile;
    vfs.mxPathname = data->base->mxPathname;
    vfs.zName = name;
    vfs.pAppData = data;
    vfs.xAccess = Access;
    vfs.xFullPathname = FullPathname;
    vfs.xDlOpen = DlOpen;
    vfs.xDlError = DlError;
    vfs.xDlSym = DlSym;
    vfs.xDlClose = DlClose;
    vfs.xRandomness = Randomness;
    vfs.xSleep = Sleep;
    vfs.xCurrentTime = CurrentTime;
    vfs.xGetLastError = GetLastError;
    vfs.xCurrentTimeInt64 = CurrentTimeInt64;
}

int OpenShimFile(sqlite3_vfs* base, const char* name, ShimFile* file, int shim_file_bytes,
                 int flags, int* out_flags, const sqlite3_io_methods methods[3]) {
    file->file.pMethods = nullptr;
    file->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + shim_file_bytes);
    const int rc = base->xOpen(base, name, file->real, flags, out_flags);
    if (rc != SQLITE_OK || file->real->pMethods == nullptr) {
        // The base closes what it opened on failure; SQLite will not call our xClose.
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    const int version = file->real->pMethods->iVersion;
    file->file.pMethods = &methods[version >= 3 ? 2 : version < 1 ? 0 : version - 1];
    return SQLITE_OK;
}

}  // namespace kizuna::storage::sqlite
