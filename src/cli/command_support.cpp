#include "cli/command_support.hpp"

#include <iostream>

#include "cli/output.hpp"
#include "cli/record_file.hpp"

namespace kizuna::cli {

void OnRun(CLI::App* command, Dispatcher& dispatcher, CommandAction run) {
    command->callback([&dispatcher, run = std::move(run)] { dispatcher.action = run; });
}

void AddExamples(CLI::App* command, std::initializer_list<std::string_view> examples) {
    std::string footer = "\nExamples:";
    for (std::string_view example : examples) footer += "\n  " + std::string(example);
    command->footer(footer);
}

void AddJsonFlag(CLI::App* command, bool& json) {
    command->add_flag("--json", json, "Print the hub's JSON answer instead of a summary");
}

void AddPasswordFlags(CLI::App* command, PasswordOptions& options) {
    command->add_flag("--password-stdin", options.from_stdin,
                      "Read the password from the first line of standard input");
    command->add_option("--password", options.plain,
                        "The password itself (visible in the process list; prefer the prompt)");
}

void AddCaCertFlag(CLI::App* command, std::string& path) {
    command->add_option("--cacert", path, "PEM certificate to trust for an HTTPS hub")
        ->check(CLI::ExistingFile);
}

int PrintAnswer(const HubAnswer& answer, bool as_json,
                const std::function<void(const nlohmann::json&)>& human) {
    if (!answer.ok) return ReportFailure(answer.failure, as_json);
    if (as_json)
        PrintJson(std::cout, answer.body);
    else
        human(answer.body);
    return kExitOk;
}

int WriteRecordFile(const std::string& path, const nlohmann::json& answer, bool json) {
    const std::string text =
        answer.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    auto written = WriteFileAtomically(path, text);
    if (!written) return ReportError(written.error(), kExitUnreachable, json);
    return kExitOk;
}

}  // namespace kizuna::cli
