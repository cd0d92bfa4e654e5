#include "hub/admin_service.hpp"

#include <utility>

#include "core/earning_rule.hpp"
#include "core/text.hpp"
#include "crypto/crypto.hpp"
#include "hub/access.hpp"
#include "hub/auth_service.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {

using core::ErrorCode;
using core::MakeError;

core::Result<core::Program> AdminService::CreateProgram(const Caller& caller, std::string name) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "create programs"));
    core::Program program;
    program.name = core::Trim(name);
    KZ_RETURN_IF_ERROR(core::ValidateName(program.name, "name"));
    program.program_id = context_.NewOpaqueId("pg");
    program.created_at = context_.Now();
    KZ_RETURN_IF_ERROR(context_.storage().Write(
        [&](storage::WriteTxn& txn) { return txn.InsertProgram(program); }));
    return program;
}

core::Result<StoreCreated> AdminService::CreateStore(const Caller& caller,
                                                     const NewStore& request) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "create stores"));
    StoreCreated created;
    core::Store& store = created.store;
    store.name = core::Trim(request.name);
    KZ_RETURN_IF_ERROR(core::ValidateName(store.name, "name"));
    KZ_RETURN_IF_ERROR(core::ValidateCurrency(request.currency, "currency"));
    store.kind = request.kind;
    store.currency = request.currency;
    store.store_id = context_.NewOpaqueId("st");
    store.created_at = context_.Now();
    created.api_key = std::string(kStoreKeyPrefix) + crypto::NewSecretToken();
    store.api_key_hash = crypto::Digest(created.api_key);

    std::optional<core::Program> own_program;
    if (request.program_id) {
        store.program_id = *request.program_id;
    } else {
        // The seed's customer x store point table: by default a store is its own program.
        own_program = core::Program{context_.NewOpaqueId("pg"), store.name, store.created_at};
        store.program_id = own_program->program_id;
    }
    const core::EarningRule rule = core::DefaultEarningRule(store.store_id, store.created_at);

    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        if (own_program) {
            KZ_RETURN_IF_ERROR(txn.InsertProgram(*own_program));
        } else {
            KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram(store.program_id));
            if (!program) {
                return MakeError(ErrorCode::kNotFound, "no program " + store.program_id,
                                 "program_id");
            }
        }
        KZ_RETURN_IF_ERROR(txn.InsertStore(store));
        return txn.InsertRuleVersion(rule);
    }));
    context_.InvalidateStore(store.store_id);
    context_.InvalidateRules(store.store_id);
    return created;
}

core::Result<std::vector<core::Store>> AdminService::ListStores(const Caller& caller) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "list stores"));
    std::vector<core::Store> stores;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(stores, txn.ListStores());
        return core::Status::Ok();
    }));
    return stores;
}

core::Result<core::Store> AdminService::CurrentStore(const Caller& caller) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "look up the calling store"));
    KZ_ASSIGN_OR_RETURN(std::optional<core::Store> store, context_.StoreById(caller.store_id));
    if (!store) return core::MakeError(core::ErrorCode::kNotFound, "the calling store is gone");
    return *store;
}

core::Result<std::vector<core::Program>> AdminService::ListPrograms(const Caller& caller) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "list programs"));
    std::vector<core::Program> programs;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(programs, txn.ListPrograms());
        return core::Status::Ok();
    }));
    return programs;
}

core::Result<storage::BackupInfo> AdminService::Backup(const Caller& caller,
                                                       const std::string& path) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "back up the hub"));
    if (path.empty()) return core::InvalidField("path", "is required");
    return context_.storage().Backup(path, nullptr);
}

}  // namespace kizuna::hub
