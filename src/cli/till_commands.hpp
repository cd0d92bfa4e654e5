#pragma once
// `kizuna pos void | day | terminal … | staff … | limits …`: the till's own commands (issue 17).

#include <CLI/CLI.hpp>

#include "cli/command_support.hpp"

namespace kizuna::cli {

void AddTillCommands(CLI::App& pos, Dispatcher& dispatcher);

}  // namespace kizuna::cli
