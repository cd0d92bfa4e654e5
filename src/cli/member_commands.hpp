#pragma once
// `kizuna member …`: the user terminal (seed [0035]-[0037]): self-service enrollment, log-in
// (the session is saved for later commands), reissue, and the usage and service-information
// searches, each written to its record file.

#include <CLI/CLI.hpp>

#include "cli/command_support.hpp"

namespace kizuna::cli {

void AddMemberCommands(CLI::App& app, Dispatcher& dispatcher);

}  // namespace kizuna::cli
