#include "cli/command_suggestion.hpp"

#include <algorithm>
#include <iostream>

namespace kizuna::cli {
namespace {

std::size_t EditDistance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::vector<std::string> SubcommandNames(CLI::App& app) {
    std::vector<std::string> names;
    for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
        if (!sub->get_name().empty()) names.push_back(sub->get_name());
    }
    return names;
}

}  // namespace

std::string ClosestChoice(const std::string& word, const std::vector<std::string>& choices) {
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
    for (const std::string& choice : choices) {
        // A prefix ("log" for "logout") counts as close.
        const std::size_t distance =
            choice.rfind(word, 0) == 0 && !word.empty() ? 1 : EditDistance(word, choice);
        if (distance < best_distance) {
            best_distance = distance;
            best = choice;
        }
    }
    return best;
}

bool ReportUnknownCommand(CLI::App& app, int argc, char** argv) {
    CLI::App* level = &app;
    std::string path = app.get_name();
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word.empty() || word[0] == '-') return false;  // options: not a command problem
        const std::vector<std::string> names = SubcommandNames(*level);
        if (names.empty()) return false;
        if (std::find(names.begin(), names.end(), word) != names.end()) {
            level = level->get_subcommand(word);
            path += " " + word;
            continue;
        }
        std::cerr << "error: unknown command '" << word << "' for '" << path << "'";
        if (const std::string close = ClosestChoice(word, names); !close.empty()) {
            std::cerr << "; did you mean '" << close << "'?";
        }
        std::cerr << "\nCommands of '" << path << "':";
        for (const std::string& name : names) std::cerr << ' ' << name;
        std::cerr << "\nRun '" << path << " --help' for more.\n";
        return true;
    }
    return false;
}

}  // namespace kizuna::cli
