#pragma once
// The common part of a SQLite VFS that wraps another one (a "shim", in SQLite's words): every
// call it does not change goes to the base VFS, and each of its files wraps one of the base's.
// The storage's log write buffer (wal_write_buffer.hpp) is one; the tests' power-loss
// simulation is another. Only the documented VFS interface is used
// (https://www.sqlite.org/c3ref/vfs.html, https://www.sqlite.org/c3ref/io_methods.html).
//
// A shim's file object starts with a ShimFile; its sqlite3_vfs's pAppData points to a ShimVfs.
// Internal to the SQLite backend and its tests.

#include <sqlite3.h>

#include <cstddef>

namespace kizuna::storage::sqlite {

struct ShimFile {
    sqlite3_file file;   // what SQLite sees: pMethods points to the shim's methods
    sqlite3_file* real;  // the base VFS's file, in the same allocation, after the shim's
};

struct ShimVfs {
    sqlite3_vfs* base;
    void* owner;  // the shim's own state
};

// The size of a shim's file struct, rounded so that the base's file after it is aligned.
constexpr int ShimFileBytes(std::size_t size) { return static_cast<int>((size + 15) / 16 * 16); }

// The base's file of a shim's file.
inline sqlite3_file* RealFile(sqlite3_file* file) {
    return reinterpret_cast<ShimFile*>(file)->real;
}

// io methods of the given version (1..3) that pass every call to the base's file: a shim copies
// them and replaces what it changes.
sqlite3_io_methods ForwardingIoMethods(int version);

// Fills `vfs` (version 2) to pass everything but xOpen and xDelete to data->base, with room for
// files of `shim_file_bytes` followed by the base's, and points pAppData to `data`. The caller
// sets xOpen and xDelete, then registers it.
void InitShimVfs(sqlite3_vfs& vfs, ShimVfs* data, const char* name, int shim_file_bytes);
inline ShimVfs* ShimOf(sqlite3_vfs* vfs) { return static_cast<ShimVfs*>(vfs->pAppData); }

// Opens `name` through `base` into the base file placed `shim_file_bytes` after `file`, and
// points the file at methods[version - 1] for the base file's version (1..3). On failure the
// file has no methods, so SQLite will not close it.
int OpenShimFile(sqlite3_vfs* base, const char* name, ShimFile* file, int shim_file_bytes,
                 int flags, int* out_flags, const sqlite3_io_methods methods[3]);

}  // namespace kizuna::storage::sqlite
