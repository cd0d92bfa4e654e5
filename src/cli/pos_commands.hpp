#pragma once
// `kizuna pos …`: the store terminal (seed [0029]-[0034]): enrollment, reissue, purchases
// (usage registration), redemptions, refunds, customer lookup into a record file, "already
// registered?" search, offers and the store's earning rule, all over the hub's HTTP API with the
// store's API key.

#include <CLI/CLI.hpp>

#include "cli/command_support.hpp"

namespace kizuna::cli {

void AddPosCommands(CLI::App& app, Dispatcher& dispatcher);

}  // namespace kizuna::cli
