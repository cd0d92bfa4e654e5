#include "storage/sqlite/wal_index.hpp"

#include <sqlite3.h>

namespace kizuna::storage::sqlite {
namespace {

// The wal-index format (walformat.html): 32 KiB regions; region 0 starts with two copies of the
// 48-byte header and the 40-byte checkpoint information, then the page numbers of frames
// 1..4062; every later region holds the page numbers of the next 4,096 frames. The hash tables
// that follow the page numbers in each region are not needed here.
constexpr int kRegionBytes = 32768;
constexpr uint32_t kHeaderWords = 12;          // 48 bytes
constexpr uint32_t kFirstPageNumberWord = 34;  // (2 * 48 + 40) / 4
constexpr uint32_t kFramesInRegionZero = 4062;
constexpr uint32_t kFramesPerRegion = 4096;
constexpr int kHeaderAttempts = 8;

}  // namespace

WalIndex WalIndex::OfMainDatabase(sqlite3* db) {
    sqlite3_file* file = nullptr;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK) {
        file = nullptr;
    }
    return WalIndex(file);
}

const volatile uint32_t* WalIndex::Region(int region) {
    if (region < 0 || region >= kMaxRegions) return nullptr;
    if (regions_[region] != nullptr) return regions_[region];
    if (file_ == nullptr || file_->pMethods == nullptr || file_->pMethods->iVersion < 2 ||
        file_->pMethods->xShmMap == nullptr || file_->pMethods->xShmBarrier == nullptr) {
        return nullptr;
    }
    void volatile* mapped = nullptr;
    // Not extending: a region SQLite has not created yet is simply not there.
    if (file_->pMethods->xShmMap(file_, region, kRegionBytes, 0, &mapped) != SQLITE_OK ||
        mapped == nullptr) {
        return nullptr;
    }
    regions_[region] = static_cast<const volatile uint32_t*>(mapped);
    return regions_[region];
}

// SQLite's own barrier for the shared index (xShmBarrier: a full memory barrier).
void WalIndex::Barrier() { file_->pMethods->xShmBarrier(file_); }

bool WalIndex::ReadHeader(Header* header) {
    const volatile uint32_t* words = Region(0);
    if (words == nullptr) return false;
    for (int attempt = 0; attempt < kHeaderAttempts; ++attempt) {
        // As SQLite reads it: the first copy, then the second, which a writer updates first;
        // when both agree, no update was under way.
        uint32_t first[kHeaderWords];
        uint32_t second[kHeaderWords];
        for (uint32_t i = 0; i < kHeaderWords; ++i) first[i] = words[i];
        Barrier();
        for (uint32_t i = 0; i < kHeaderWords; ++i) second[i] = words[kHeaderWords + i];
        bool same = true;
        for (uint32_t i = 0; i < kHeaderWords; ++i) same = same && first[i] == second[i];
        const bool initialized = (reinterpret_cast<const unsigned char*>(first)[12]) != 0;
        if (!same || !initialized) continue;
        header->max_frame = first[4];
        header->page_count = first[5];
        header->salt = {first[8], first[9]};
        Barrier();  // what follows reads what this header published
        return true;
    }
    return false;
}

bool WalIndex::PageOfFrame(uint32_t frame, uint32_t* page) {
    if (frame == 0) return false;
    int region = 0;
    uint32_t word = 0;
    if (frame <= kFramesInRegionZero) {
        word = kFirstPageNumberWord + frame - 1;
    } else {
        const uint32_t past = frame - kFramesInRegionZero - 1;
        region = static_cast<int>(1 + past / kFramesPerRegion);
        word = past % kFramesPerRegion;
    }
    const volatile uint32_t* words = Region(region);
    if (words == nullptr) return false;
    *page = words[word];
    return true;
}

}  // namespace kizuna::storage::sqlite
