#pragma once
// `kizuna hub dispatch …`: start an offer dispatch run (with a live progress bar), show and list
// runs, and download a run's letters and address labels (operator commands over HTTP).

#include <CLI/CLI.hpp>

#include "cli/command_support.hpp"

namespace kizuna::cli {

void AddDispatchCommands(CLI::App& hub, Dispatcher& dispatcher);

}  // namespace kizuna::cli
