#pragma once
// `kizuna pos webhook add|list|deliveries|replay`: a store (an online shop, say) registers URLs
// the hub POSTs its program's events to, signed with a secret shown once, and follows and
// replays the deliveries; over the hub's HTTP API with the store's API key.

#include <CLI/CLI.hpp>

#include "cli/command_support.hpp"

namespace kizuna::cli {

void AddWebhookCommands(CLI::App& pos, Dispatcher& dispatcher);

}  // namespace kizuna::cli
