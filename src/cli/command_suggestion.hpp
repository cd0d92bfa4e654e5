#pragma once
// "Did you mean …?" for a mistyped subcommand: CLI11 says only "A subcommand is required" or
// "The following arguments were not expected", which names neither the word nor the choices.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace kizuna::cli {

// The closest of `choices` to `word` by edit distance, if close enough to be a typo (at most a
// third of the word's length, and at least 1); empty otherwise.
std::string ClosestChoice(const std::string& word, const std::vector<std::string>& choices);

// After a parse error: walks argv through `app`'s subcommands; when a word stands where a
// subcommand is expected and none has that name, prints "error: unknown command …" naming the
// closest and the list to stderr, and returns true. False when the error is something else.
bool ReportUnknownCommand(CLI::App& app, int argc, char** argv);

}  // namespace kizuna::cli
