#pragma once
// Read-only access to a database's write-ahead log index (the "wal-index", SQLite's shared
// memory): which database page each log frame holds, and the header that says how many frames
// are committed and which generation of the log they belong to. The layout is SQLite's
// documented file format (https://sqlite.org/walformat.html, "The WAL-Index Format").
//
// Why: a read connection's page cache must forget every page that changed since its previous
// transaction, and only those (page_cache.hpp). The frames committed in between name them.
//
// Regions of the index are reached through the database file's own xShmMap, as SQLite does,
// so this works whether the index lives in a -shm file or on the heap ("unix-excl"). A region,
// once SQLite has created it, stays where it is until the last connection closes.
//
// Thread-safety: a WalIndex belongs to one connection and is used on the thread that runs it,
// inside its SQLite calls (xShmMap on the connection's own file).

#include <array>
#include <cstdint>

struct sqlite3;
struct sqlite3_file;

namespace kizuna::storage::sqlite {

class WalIndex {
  public:
    struct Header {
        uint32_t max_frame = 0;          // frames committed, 1..max_frame
        uint32_t page_count = 0;         // the database's size in pages at that commit
        std::array<uint32_t, 2> salt{};  // changes whenever the log restarts
    };

    // `file`: the connection's main database file (SQLITE_FCNTL_FILE_POINTER).
    explicit WalIndex(sqlite3_file* file) : file_(file) {}
    // The index of connection `db`'s main database. Without that file (SQLite refused to name
    // it) nothing can be read: ReadHeader is false, so caches are emptied as SQLite would.
    static WalIndex OfMainDatabase(sqlite3* db);

    // Whether the header can be read without mapping anything: true once a ReadHeader has
    // succeeded. (Mapping goes through the connection's file: the first one is made inside a
    // transaction of the connection, where SQLite has set its shared memory up.)
    bool Mapped() const { return regions_[0] != nullptr; }
    // The committed header, read as SQLite reads it (both copies, until they agree). False when
    // the index is not there (yet) or keeps changing under the reader.
    bool ReadHeader(Header* header);
    // The database page that log frame `frame` (1-based) holds. False when that part of the
    // index cannot be reached. Meaningful only for frames of the generation the caller checked.
    bool PageOfFrame(uint32_t frame, uint32_t* page);

  private:
    const volatile uint32_t* Region(int region);
    void Barrier();

    sqlite3_file* file_;
    // Regions seen so far (32 KiB each: 4,096 frames, the first one 4,062).
    static constexpr int kMaxRegions = 1024;
    std::array<const volatile uint32_t*, kMaxRegions> regions_{};
};

}  // namespace kizuna::storage::sqlite
