#pragma once
// What every `kizuna pos …` command shares: the connection flags (--hub, --api-key, --store-id,
// --config, --cacert, --json) and the client they resolve to (flags, then environment, then the
// config file), with the store's API key.

#include <memory>

#include <CLI/CLI.hpp>

#include "cli/client_config.hpp"
#include "cli/exit_codes.hpp"
#include "cli/hub_client.hpp"

namespace kizuna::cli {

// Flags every store-terminal command shares.
struct PosCommon {
    PosConnectionFlags connection;
    std::string staff;  // --staff STAFF_ID:PIN, else env KIZUNA_STAFF
    bool json = false;
};

void AddConnectionFlags(CLI::App* command, PosCommon& common);

// A connected client, or the exit code of the error that prevented it.
struct PosSession {
    std::unique_ptr<HubClient> client;
    PosConnection connection;
    int exit_code = kExitOk;
};

// Resolves the connection; without an API key, reports a usage error and returns no client.
PosSession Connect(const PosCommon& common);

}  // namespace kizuna::cli
