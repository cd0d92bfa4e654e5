#pragma once
// `kizuna hub …`: `serve` runs the hub (storage, services, HTTP server, expiry pass) and the
// operator commands manage programs and stores over HTTP with the operator token.

#include <CLI/CLI.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "cli/command_support.hpp"
#include "cli/hub_client.hpp"

namespace kizuna::cli {

// The flags every operator command shares (--hub, --token, --data, --cacert, --json), and the
// client they make (hub_commands.cpp; used by the other hub command files too).
struct OperatorCommon {
    std::string hub, token, data_dir, ca_cert;
    bool json = false;
};
void AddOperatorFlags(CLI::App* command, OperatorCommon& common);
// A client with the operator token, or null after reporting why there is none (exit_code set).
std::unique_ptr<HubClient> ConnectOperator(
    const OperatorCommon& common, int& exit_code,
    std::chrono::milliseconds timeout = HubClientOptions{}.timeout);

void AddHubCommands(CLI::App& app, Dispatcher& dispatcher);
// `kizuna hub nodes add|list` and `kizuna hub conflicts` (node_commands.cpp).
void AddNodeCommands(CLI::App& hub, Dispatcher& dispatcher);

// `kizuna hub settlement show|close|export` (settlement_commands.cpp).
void AddSettlementCommands(CLI::App& hub, Dispatcher& dispatcher);
// `kizuna hub campaign …` and `kizuna hub members merge` (issue 19; loyalty_commands.cpp).
void AddLoyaltyCommands(CLI::App& hub, Dispatcher& dispatcher);

}  // namespace kizuna::cli
