#pragma once
// Plumbing shared by the command files: how a leaf command registers what it runs, its
// examples in --help, and the flags every client command shares. CLI11 parses; the chosen leaf's
// action runs after parsing, from main, and returns the process exit code.

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/hub_client.hpp"
#include "cli/password_prompt.hpp"

namespace kizuna::cli {

using CommandAction = std::function<int()>;

// Holds the action of the leaf command the user chose.
struct Dispatcher {
    CommandAction action;
};

// Makes `run` the action when `command` is the one chosen on the command line.
void OnRun(CLI::App* command, Dispatcher& dispatcher, CommandAction run);
// Appends "Examples:" with one command per line to the command's --help.
void AddExamples(CLI::App* command, std::initializer_list<std::string_view> examples);
// Adds --json (print the hub's JSON answer) bound to `json`.
void AddJsonFlag(CLI::App* command, bool& json);
// Adds --password-stdin and --password bound to `options`.
void AddPasswordFlags(CLI::App* command, PasswordOptions& options);
// Adds --cacert bound to `path`.
void AddCaCertFlag(CLI::App* command, std::string& path);

// Prints a hub answer: its JSON with --json, else through `human`; a failure is reported.
// Returns the exit code.
int PrintAnswer(const HubAnswer& answer, bool as_json,
                const std::function<void(const nlohmann::json&)>& human);

// Saves a record file (the seed's customer information / usage / service information record)
// atomically with mode 0600 and returns kExitOk, or reports the error and returns
// kExitUnreachable (an I/O error).
int WriteRecordFile(const std::string& path, const nlohmann::json& answer, bool json);

}  // namespace kizuna::cli
