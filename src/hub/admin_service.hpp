#pragma once
// Operator use cases: programs, stores, and backups of the running hub.

#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/store.hpp"
#include "hub/caller.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext;

struct NewStore {
    std::string name;
    core::StoreKind kind = core::StoreKind::kPhysical;
    std::optional<std::string> program_id;  // none: the store gets a program of its own
    std::string currency = "JPY";
};

struct StoreCreated {
    core::Store store;
    std::string api_key;  // shown once
};

class AdminService {
  public:
    explicit AdminService(HubContext& context) : context_(context) {}

    // Operator only (kForbidden otherwise).
    core::Result<core::Program> CreateProgram(const Caller& caller, std::string name);
    // Operator only. Creates the store, its default earning rule and, without program_id, a
    // program named after it. Errors: kNotFound for an unknown program_id.
    core::Result<StoreCreated> CreateStore(const Caller& caller, const NewStore& request);
    core::Result<std::vector<core::Store>> ListStores(const Caller& caller);
    // A store caller's own store, so a terminal holding only its API key can learn its id.
    // Errors: kForbidden for any other role.
    core::Result<core::Store> CurrentStore(const Caller& caller);
    core::Result<std::vector<core::Program>> ListPrograms(const Caller& caller);
    // Operator only. Writes a consistent snapshot of the hub's database to `path`, a new file
    // on the hub's machine, while the hub goes on serving (Storage::Backup: "<path>.partial"
    // while it is written, then renamed; mode 0600). Blocks until done. Errors: as
    // Storage::Backup (kInvalidArgument and kAlreadyExists name the field "path").
    core::Result<storage::BackupInfo> Backup(const Caller& caller, const std::string& path);

  private:
    HubContext& context_;
};

}  // namespace kizuna::hub
