#pragma once
// `kizuna card read | wait` (card reader diagnostics) and `kizuna member card` (the member's
// card as a QR code — PNG, SVG — and a printable card PDF).

#include <CLI/CLI.hpp>

#include "cli/command_support.hpp"

namespace kizuna::cli {

// Adds `card …` to `app`, and `card` to its `member` command (call after AddMemberCommands).
void AddCardCommands(CLI::App& app, Dispatcher& dispatcher);

}  // namespace kizuna::cli
