#include "cli/pos_session.hpp"

#include <cstdlib>

#include "cli/command_support.hpp"
#include "cli/output.hpp"

namespace kizuna::cli {

void AddConnectionFlags(CLI::App* command, PosCommon& common) {
    command->add_option("--hub", common.connection.hub,
                        "Hub URL (env KIZUNA_HUB; default http://127.0.0.1:8080)");
    command->add_option("--api-key", common.connection.api_key,
                        "The store's API key (env KIZUNA_API_KEY)");
    command->add_option("--store-id", common.connection.store_id,
                        "The store's id, for rule commands (env KIZUNA_STORE_ID)");
    command->add_option("--config", common.connection.config_path,
                        "Config file (default $XDG_CONFIG_HOME/kizuna/pos.json)");
    command->add_option("--staff", common.staff,
                        "Who is at the till, STAFF_ID:PIN, sent as Kizuna-Staff (env "
                        "KIZUNA_STAFF); a manager's PIN approves voids, large refunds and sales "
                        "above the store's limits");
    AddCaCertFlag(command, common.connection.ca_cert);
    AddJsonFlag(command, common.json);
}

namespace {

std::string StaffOf(const PosCommon& common) {
    if (!common.staff.empty()) return common.staff;
    const char* env = std::getenv("KIZUNA_STAFF");
    return env == nullptr ? "" : env;
}

}  // namespace

PosSession Connect(const PosCommon& common) {
    PosSession session;
    auto resolved = ResolvePosConnection(common.connection, ProcessEnvironment());
    if (!resolved) {
        session.exit_code = ReportError(resolved.error(), kExitUsage, common.json);
        return session;
    }
    session.connection = std::move(resolved).value();
    if (session.connection.api_key.empty()) {
        session.exit_code = ReportError(
            core::MakeError(core::ErrorCode::kInvalidArgument,
                            "no store API key: pass --api-key, set KIZUNA_API_KEY or run "
                            "`kizuna pos configure --hub URL --api-key KEY`",
                            "--api-key"),
            kExitUsage, common.json);
        return session;
    }
    session.client = std::make_unique<HubClient>(HubClientOptions{
        .base_url = session.connection.hub.value,
        .token = session.connection.api_key.value,
        .ca_cert = session.connection.ca_cert.value,
        .staff = StaffOf(common),
    });
    return session;
}

}  // namespace kizuna::cli
