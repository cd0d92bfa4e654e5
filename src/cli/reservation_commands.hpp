#pragma once
// `kizuna pos reserve`, `kizuna pos reservations`, `kizuna pos reservation-status`: a store
// reserves an item for a member (for pickup here or at another store of its program), lists a
// member's reservations in its program (made online or in a shop), and marks one picked up or
// cancelled; over the hub's HTTP API with the store's API key.

#include <CLI/CLI.hpp>

#include "cli/command_support.hpp"

namespace kizuna::cli {

void AddReservationCommands(CLI::App& pos, Dispatcher& dispatcher);

}  // namespace kizuna::cli
