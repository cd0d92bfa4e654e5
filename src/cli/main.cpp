// The `kizuna` program: parses the command line (CLI11), runs the chosen command and turns
// every outcome into an exit code: 0 ok, 1 the hub refused, 2 usage error, 3 the hub could not
// be reached or a local I/O error. Exceptions are caught here and nowhere else above the
// libraries.

#include <exception>
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/card_commands.hpp"
#include "cli/command_suggestion.hpp"
#include "cli/command_support.hpp"
#include "cli/demo_command.hpp"
#include "cli/hub_commands.hpp"
#include "cli/member_commands.hpp"
#include "cli/pos_commands.hpp"
#include "crypto/crypto.hpp"

namespace {

int Run(int argc, char** argv) {
    using namespace kizuna::cli;
    CLI::App app{"Kizuna: one member card for every participating store, points, offers."};
    app.name("kizuna");
    app.require_subcommand(1);
    app.set_version_flag("--version", "kizuna 0.1.0");
    AddExamples(&app, {"kizuna demo", "kizuna hub serve --data ./hub-data --listen 127.0.0.1:8080",
                       "kizuna pos sale --card 9810... --item 'Tea,drinks,150'",
                       "kizuna member login --login 1234567890", "kizuna <command> --help"});

    Dispatcher dispatcher;
    AddHubCommands(app, dispatcher);
    AddPosCommands(app, dispatcher);
    AddMemberCommands(app, dispatcher);
    AddCardCommands(app, dispatcher);  // after member: it adds `member card`
    AddDemoCommand(app, dispatcher);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        if (ReportUnknownCommand(app, argc, argv)) return kExitUsage;
        app.exit(e);  // prints the message and a hint to --help
        return kExitUsage;
    }
    if (!dispatcher.action) {
        std::cerr << app.help();
        return kExitUsage;
    }
    kizuna::crypto::InitCrypto();
    return dispatcher.action();
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return Run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return kizuna::cli::kExitUnreachable;
    }
}
