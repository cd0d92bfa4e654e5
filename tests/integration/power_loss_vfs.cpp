#include "power_loss_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite/connection.hpp"

namespace kizuna::storage::sqlite::testing {

namespace {

enum Kind { kWrite = 0, kTruncate = 1, kSync = 2, kDelete = 3 };
constexpr int64_t kSectorBytes = 512;
constexpr int64_t kLogHeaderBytes = 32;
// A crash this many operations after a log header write counts as during the log's restart.
constexpr uint64_t kRestartWindow = 8;

std::atomic<int> g_instances{0};

}  // namespace

struct PowerLossVfs::FileState {
    struct Op {
        Kind kind;
        int64_t offset;    // kWrite: where; kTruncate: the new size
        std::string data;  // kWrite only
    };
    std::string durable;         // the content as of the last sync
    bool entry_durable = false;  // the directory entry survives a crash
    bool is_log = false;
    bool is_database = false;
    std::vector<Op> pending;     // since the last sync, in order
    uint64_t first_pending = 0;  // the number of pending[0] among every write ever made
};

struct PowerLossVfs::File {
    ShimFile shim;
    PowerLossVfs* owner;
    std::shared_ptr<FileState>* state;  // nullptr for a nameless temporary file
};

namespace {

constexpr int kFileBytes = ShimFileBytes(sizeof(PowerLossVfs::File));

PowerLossVfs::File* Of(sqlite3_file* file) { return reinterpret_cast<PowerLossVfs::File*>(file); }
PowerLossVfs* Owner(sqlite3_vfs* vfs) { return static_cast<PowerLossVfs*>(ShimOf(vfs)->owner); }

void Apply(std::string& image, int64_t offset, const char* data, int64_t amount) {
    if (static_cast<int64_t>(image.size()) < offset + amount) {
        image.resize(static_cast<size_t>(offset + amount), '\0');
    }
    std::memcpy(image.data() + offset, data, static_cast<size_t>(amount));
}

int Close(sqlite3_file* file) {
    PowerLossVfs::File* f = Of(file);
    const int rc = f->shim.real->pMethods->xClose(f->shim.real);
    delete f->state;
    f->state = nullptr;
    return rc;
}
int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
    return Of(file)->owner->Change(Of(file), kWrite, data, amount, offset);
}
int Truncate(sqlite3_file* file, sqlite3_int64 size) {
    return Of(file)->owner->Change(Of(file), kTruncate, nullptr, 0, size);
}
int Sync(sqlite3_file* file, int) {
    return Of(file)->owner->Change(Of(file), kSync, nullptr, 0, 0);
}
// The base's methods, but for what changes the disk.
sqlite3_io_methods MethodsFor(int version) {
    sqlite3_io_methods m = ForwardingIoMethods(version);
    m.xClose = Close;
    m.xWrite = Write;
    m.xTruncate = Truncate;
    m.xSync = Sync;
    return m;
}
const sqlite3_io_methods kMethods[] = {MethodsFor(1), MethodsFor(2), MethodsFor(3)};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    return Owner(vfs)->OpenFile(name, Of(file), flags, out_flags);
}
int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
    return Owner(vfs)->Remove(name, sync_dir);
}

}  // namespace

namespace {

// The hub's process-wide SQLite settings first (its page cache among them), as in production:
// sqlite3_vfs_find initializes SQLite, after which they could no longer be made.
sqlite3_vfs* ConfiguredVfs(const std::string& name) {
    ConfigureSqlite();
    return sqlite3_vfs_find(name.c_str());
}

}  // namespace

PowerLossVfs::PowerLossVfs(const std::string& base, std::chrono::microseconds sync_time)
    : base_(ConfiguredVfs(base)), sync_time_(sync_time) {
    if (base_ == nullptr || base_->iVersion < 2) {
        throw std::runtime_error("no usable SQLite VFS named " + base);
    }
    name_ = "kizuna-power-loss-" + std::to_string(g_instances.fetch_add(1));
    shim_ = std::make_unique<ShimVfs>(ShimVfs{base_, this});
    vfs_ = std::make_unique<sqlite3_vfs>();
    InitShimVfs(*vfs_, shim_.get(), name_.c_str(), kFileBytes);
    vfs_->xOpen = Open;
    vfs_->xDelete = Delete;
    sqlite3_vfs& vfs = *vfs_;
    if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) {
        throw std::runtime_error("cannot register " + name_);
    }
}

PowerLossVfs::~PowerLossVfs() { (void)sqlite3_vfs_unregister(vfs_.get()); }

int PowerLossVfs::OpenFile(const char* name, File* file, int flags, int* out_flags) {
    std::memset(file, 0, sizeof(File));
    file->owner = this;
    std::lock_guard lock(mutex_);
    int existed = 0;
    if (name != nullptr &&
        base_->xAccess(base_, name, SQLITE_ACCESS_EXISTS, &existed) != SQLITE_OK) {
        existed = 0;
    }
    const int rc = OpenShimFile(base_, name, &file->shim, kFileBytes, flags, out_flags, kMethods);
    if (rc != SQLITE_OK || name == nullptr)
        return rc;  // a temporary file: not on the simulated disk
    std::shared_ptr<FileState>& state = files_[name];
    if (state == nullptr) {
        // First seen: what the file holds now is on the disk (the test starts from a closed,
        // synced database).
        state = std::make_shared<FileState>();
        state->entry_durable = existed != 0;
        state->is_log = (flags & SQLITE_OPEN_WAL) != 0;
        state->is_database = (flags & SQLITE_OPEN_MAIN_DB) != 0;
        sqlite3_int64 size = 0;
        if (existed != 0 &&
            file->shim.real->pMethods->xFileSize(file->shim.real, &size) == SQLITE_OK && size > 0) {
            state->durable.resize(static_cast<size_t>(size));
            if (file->shim.real->pMethods->xRead(file->shim.real, state->durable.data(),
                                                 static_cast<int>(size), 0) != SQLITE_OK) {
                state->durable.clear();
            }
        }
    }
    file->state = new std::shared_ptr<FileState>(state);
    return SQLITE_OK;
}

int PowerLossVfs::LogSyncHook() {
    std::function<int()> hook;
    {
        std::lock_guard lock(hook_mutex_);
        hook = log_sync_hook_;
    }
    return hook != nullptr ? hook() : 0;
}

void PowerLossVfs::SetLogSyncHook(std::function<int()> hook) {
    std::lock_guard lock(hook_mutex_);
    log_sync_hook_ = std::move(hook);
}

bool PowerLossVfs::CrashNow(const File& file, int kind, int64_t offset) {
    ++counters_.operations;
    const FileState* state = file.state != nullptr ? file.state->get() : nullptr;
    const bool log_header = state != nullptr && state->is_log && kind == kWrite && offset == 0;
    const bool database_write = state != nullptr && state->is_database && kind == kWrite;
    if (log_header) ++counters_.log_header_writes;
    if (database_write) ++counters_.database_writes;
    if (crash_at_ == 0 && plan_.ordinal != 0) {
        if ((plan_.after == Plan::After::kLogHeaderWrite && log_header &&
             counters_.log_header_writes == plan_.ordinal) ||
            (plan_.after == Plan::After::kDatabaseWrite && database_write &&
             counters_.database_writes == plan_.ordinal)) {
            crash_at_ = counters_.operations + 1 + plan_.then;
        }
    }
    if (counters_.operations == crash_at_) return true;
    if (log_header) last_log_header_operation_ = counters_.operations;
    return false;
}

int PowerLossVfs::Change(File* file, int kind, const void* data, int amount, int64_t offset) {
    FileState* state = file->state != nullptr ? file->state->get() : nullptr;
    if (kind == kSync && state != nullptr && state->is_log) {
        if (const int rc = LogSyncHook(); rc != 0) return rc;
    }
    std::unique_lock lock(mutex_);
    const int failure = kind == kWrite      ? SQLITE_IOERR_WRITE
                        : kind == kTruncate ? SQLITE_IOERR_TRUNCATE
                                            : SQLITE_IOERR_FSYNC;
    if (crashed_) return failure;
    if (CrashNow(*file, kind, offset)) {
        LoseThePower(*file, kind);
        return failure;
    }
    sqlite3_file* real = file->shim.real;
    switch (kind) {
        case kWrite: {
            if (state != nullptr && state->is_log && offset >= kLogHeaderBytes &&
                std::any_of(
                    state->pending.begin(), state->pending.end(),
                    [](const FileState::Op& op) { return op.kind == kWrite && op.offset == 0; })) {
                ++counters_.frames_before_header_synced;
            }
            const int rc = real->pMethods->xWrite(real, data, amount, offset);
            if (rc != SQLITE_OK) return rc;
            if (state != nullptr) {
                state->pending.push_back(
                    {kWrite, offset, std::string(static_cast<const char*>(data), amount)});
            }
            return SQLITE_OK;
        }
        case kTruncate: {
            const int rc = real->pMethods->xTruncate(real, offset);
            if (rc != SQLITE_OK) return rc;
            if (state != nullptr) state->pending.push_back({kTruncate, offset, {}});
            return SQLITE_OK;
        }
        default:
            break;
    }
    // A sync. The base's own is not needed: what the disk holds is simulated here. It takes
    // the disk's time, without the lock (other writes go on meanwhile), and covers the writes
    // made before it began; if the power goes meanwhile, it never completed.
    ++counters_.syncs;
    const uint64_t covers_until =
        state != nullptr ? state->first_pending + state->pending.size() : 0;
    if (sync_time_.count() > 0) {
        lock.unlock();
        std::this_thread::sleep_for(sync_time_);
        lock.lock();
        if (crashed_) return failure;
    }
    if (state != nullptr) {
        // Another sync of the file may have covered some or all of them meanwhile.
        const std::size_t covered =
            covers_until > state->first_pending
                ? std::min<std::size_t>(state->pending.size(), covers_until - state->first_pending)
                : 0;
        for (std::size_t i = 0; i < covered; ++i) {
            const FileState::Op& op = state->pending[i];
            if (op.kind == kWrite) {
                Apply(state->durable, op.offset, op.data.data(),
                      static_cast<int64_t>(op.data.size()));
            } else {
                state->durable.resize(static_cast<size_t>(op.offset));
            }
        }
        state->pending.erase(state->pending.begin(),
                             state->pending.begin() + static_cast<std::ptrdiff_t>(covered));
        state->first_pending += covered;
        state->entry_durable = true;
    }
    return SQLITE_OK;
}

int PowerLossVfs::Remove(const char* name, int sync_dir) {
    std::lock_guard lock(mutex_);
    if (crashed_) return SQLITE_IOERR_DELETE;
    ++counters_.operations;
    if (counters_.operations == crash_at_) {
        File none{};
        LoseThePower(none, kDelete);
        return SQLITE_IOERR_DELETE;
    }
    const int rc = base_->xDelete(base_, name, sync_dir);
    if (rc == SQLITE_OK) files_.erase(name);
    return rc;
}

void PowerLossVfs::LoseThePower(const File& file, int kind) {
    crashed_ = true;
    const FileState* crashing = file.state != nullptr ? file.state->get() : nullptr;
    site_.operation = counters_.operations;
    site_.during_checkpoint = crashing != nullptr && crashing->is_database && kind != kDelete;
    site_.during_log_restart = last_log_header_operation_ != 0 &&
                               counters_.operations - last_log_header_operation_ <= kRestartWindow;
    for (const auto& [path, state] : files_) {
        for (const FileState::Op& op : state->pending) {
            ++site_.unsynced_writes;
            if (state->is_database) site_.during_checkpoint = true;
            if (state->is_log && op.kind == kWrite && op.offset == 0) {
                site_.during_log_restart = true;
            }
        }
    }
    std::mt19937_64 random(plan_.seed);
    auto percent = [&random] { return static_cast<int>(random() % 100); };
    auto below = [&random](int64_t n) {
        return n <= 0 ? 0 : static_cast<int64_t>(random() % static_cast<uint64_t>(n));
    };
    for (const auto& [path, state] : files_) {
        // The unsynced writes cut into sectors, in the order they were issued; truncations stand
        // alone.
        struct Piece {
            const FileState::Op* op;
            int64_t from;
            int64_t to;
        };
        std::vector<Piece> pieces;
        for (const FileState::Op& op : state->pending) {
            if (op.kind == kTruncate) {
                pieces.push_back({&op, 0, 0});
                continue;
            }
            const int64_t begin = op.offset;
            const int64_t end = op.offset + static_cast<int64_t>(op.data.size());
            for (int64_t from = begin; from < end;) {
                const int64_t to = std::min(end, (from / kSectorBytes + 1) * kSectorBytes);
                pieces.push_back({&op, from, to});
                from = to;
            }
        }
        // How this file's disk wrote them: in the order issued and stopped somewhere; newest
        // first and stopped somewhere (the reordering that lets a later write land while an
        // earlier one is lost); or each write on its own whole, lost, or torn (a prefix or a
        // suffix of its sectors, or each sector landed, lost or garbage).
        enum class Fate { kLands, kLost, kGarbage };
        std::vector<Fate> fates(pieces.size(), Fate::kLost);
        const int model = percent();
        if (model < 60) {
            const bool newest_first = model >= 30;
            const int64_t landed = below(static_cast<int64_t>(pieces.size()) + 1);
            for (int64_t i = 0; i < landed; ++i) {
                const std::size_t at = static_cast<std::size_t>(
                    newest_first ? static_cast<int64_t>(pieces.size()) - 1 - i : i);
                fates[at] = i + 1 == landed && percent() < 30 ? Fate::kGarbage : Fate::kLands;
            }
        } else {
            std::size_t i = 0;
            while (i < pieces.size()) {
                std::size_t next = i;
                while (next < pieces.size() && pieces[next].op == pieces[i].op) ++next;
                const int64_t sectors = static_cast<int64_t>(next - i);
                const int fate = percent();
                const int64_t cut = below(sectors + 1);
                for (int64_t k = 0; k < sectors; ++k) {
                    Fate& f = fates[i + static_cast<std::size_t>(k)];
                    if (fate < 25) {
                        f = Fate::kLands;
                    } else if (fate < 50) {
                        f = Fate::kLost;
                    } else if (fate < 65) {
                        f = k < cut ? Fate::kLands : Fate::kLost;
                    } else if (fate < 80) {
                        f = k >= sectors - cut ? Fate::kLands : Fate::kLost;
                    } else {
                        const int sector_fate = percent();
                        f = sector_fate < 40   ? Fate::kLands
                            : sector_fate < 80 ? Fate::kLost
                                               : Fate::kGarbage;
                    }
                }
                i = next;
            }
        }
        std::string image = state->durable;
        for (std::size_t i = 0; i < pieces.size(); ++i) {
            const Piece& piece = pieces[i];
            if (fates[i] == Fate::kLost) continue;
            if (piece.op->kind == kTruncate) {
                image.resize(static_cast<size_t>(piece.op->offset));
            } else if (fates[i] == Fate::kLands) {
                Apply(image, piece.from, piece.op->data.data() + (piece.from - piece.op->offset),
                      piece.to - piece.from);
            } else {
                std::string noise(static_cast<size_t>(piece.to - piece.from), '\0');
                for (char& c : noise) c = static_cast<char>(random());
                Apply(image, piece.from, noise.data(), piece.to - piece.from);
            }
        }
        if (state->entry_durable || percent() < 50) disk_after_crash_[path] = std::move(image);
    }
}

void PowerLossVfs::CrashAt(const Plan& plan) {
    std::lock_guard lock(mutex_);
    plan_ = plan;
    crash_at_ = plan.after == Plan::After::kOperation ? plan.ordinal : 0;
}

bool PowerLossVfs::crashed() const {
    std::lock_guard lock(mutex_);
    return crashed_;
}

PowerLossVfs::CrashSite PowerLossVfs::crash_site() const {
    std::lock_guard lock(mutex_);
    return site_;
}

PowerLossVfs::Counters PowerLossVfs::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

std::map<std::string, std::string> PowerLossVfs::DiskAfterCrash() const {
    std::lock_guard lock(mutex_);
    return disk_after_crash_;
}

}  // namespace kizuna::storage::sqlite::testing
