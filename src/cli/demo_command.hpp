#pragma once
// `kizuna demo`: a hub on a fresh directory, seeded with a year of demo data through the hub's
// services, then served over HTTP with everything needed to try it printed.

#include <CLI/CLI.hpp>

#include "cli/command_support.hpp"

namespace kizuna::cli {

void AddDemoCommand(CLI::App& app, Dispatcher& dispatcher);

}  // namespace kizuna::cli
