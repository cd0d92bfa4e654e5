#pragma once
// `kizuna hub …`: `serve` runs the hub (storage, services, HTTP server, expiry pass) and the
// operator commands manage programs and stores over HTTP with the operator token.

#include <CLI/CLI.hpp>

#include "cli/command_support.hpp"

namespace kizuna::cli {

void AddHubCommands(CLI::App& app, Dispatcher& dispatcher);

}  // namespace kizuna::cli
