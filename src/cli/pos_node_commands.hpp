#pragma once
// `kizuna pos serve|status|sync`: the store node (src/pos) — a local server with the hub's store
// endpoints that keeps selling while the hub is down and syncs when it is back — and the two
// commands that ask a running node how it is (GET /v1/node/status) or make it sync now
// (POST /v1/node/sync).

#include <CLI/CLI.hpp>

#include "cli/command_support.hpp"

namespace kizuna::cli {

void AddPosNodeCommands(CLI::App& pos, Dispatcher& dispatcher);

}  // namespace kizuna::cli
