#include "cli/reservation_commands.hpp"

#include <chrono>
#include <iostream>
#include <memory>

#include "cli/argument_parsers.hpp"
#include "cli/output.hpp"
#include "cli/pos_session.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

core::Timestamp Now() {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

void PrintReservation(const json& r) {
    const json item = r.value("item", json::object());
    std::string what = JsonString(item, "name");
    if (!JsonString(item, "sku").empty()) what += " (" + JsonString(item, "sku") + ")";
    PrintSummary(std::cout, {{"reservation id", JsonString(r, "reservation_id")},
                             {"status", JsonString(r, "status")},
                             {"member id", JsonString(r, "member_id")},
                             {"item", what},
                             {"quantity", GroupThousands(JsonInt(r, "quantity"))},
                             {"pickup at", LocalTime(JsonString(r, "pickup_at"))},
                             {"pickup store", JsonString(r, "store_id")},
                             {"made by", JsonString(r, "created_by")}});
}

void AddReserve(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string member_id, item, sku, pickup_at, store_id, reservation_id;
        int64_t quantity = 1;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = pos.add_subcommand(
        "reserve", "Reserve an item for a member, for pickup here or at a store of the program");
    cmd->add_option("--member", o->member_id, "The member's id")->required();
    cmd->add_option("--item", o->item, "What is reserved, e.g. '新刊 上巻'")->required();
    cmd->add_option("--sku", o->sku, "The item's SKU");
    cmd->add_option("--quantity", o->quantity, "How many")
        ->capture_default_str()
        ->check(CLI::Range(int64_t{1}, int64_t{10000}));
    cmd->add_option("--pickup-at", o->pickup_at,
                    "When the member picks it up, e.g. 2026-12-24T18:00 (local) or RFC 3339")
        ->required();
    cmd->add_option("--pickup-store", o->store_id,
                    "The store it is picked up at (default: this store)");
    cmd->add_option("--reservation-id", o->reservation_id,
                    "Id of this reservation; reuse it to retry safely (default: a new one)");
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos reserve --member 1234567890 --item '新刊 上巻' --sku 978-4-00 "
                      "--pickup-at 2026-12-24T18:00",
                      "kizuna pos reserve --member 1234567890 --item 'Notebook' --quantity 2 "
                      "--pickup-at 2026-12-24 --pickup-store st_... --json"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        auto pickup_at = ParseTimeArgument(o->pickup_at, "--pickup-at", Now());
        if (!pickup_at) return ReportError(pickup_at.error(), kExitUsage, js);
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        const std::string id = o->reservation_id.empty() ? NewClientId() : o->reservation_id;
        json body = {{"reservation_id", id},
                     {"member_id", o->member_id},
                     {"item", {{"name", o->item}, {"sku", o->sku}}},
                     {"quantity", o->quantity},
                     {"pickup_at", core::FormatRfc3339(*pickup_at)}};
        if (!o->store_id.empty()) body["store_id"] = o->store_id;
        auto answer = session.client->Post("/v1/reservations", body, /*attempts=*/3);
        if (!answer.ok) {
            const int code = ReportFailure(answer.failure, js);
            if (answer.failure.kind != FailureKind::kRefused || answer.failure.status >= 500) {
                std::cerr << "The reservation may or may not have been made. Run the same "
                             "command with --reservation-id "
                          << id << " to retry safely.\n";
            }
            return code;
        }
        return PrintAnswer(answer, js, [&](const json& reply) {
            std::cout << (reply.value("replayed", false)
                              ? "Reservation already made (same id); nothing changed.\n"
                              : "Reserved.\n");
            PrintReservation(reply);
        });
    });
}

void AddReservations(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string member_id;
        int limit = 100;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = pos.add_subcommand(
        "reservations",
        "A member's reservations in this store's program, made online or at any of its shops");
    cmd->add_option("--member", o->member_id, "The member's id")->required();
    cmd->add_option("--limit", o->limit, "At most this many, newest first")
        ->capture_default_str()
        ->check(CLI::Range(1, 500));
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos reservations --member 1234567890",
                      "kizuna pos reservations --member 1234567890 --json"});
    OnRun(cmd, dispatcher, [o] {
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        auto answer =
            session.client->Get("/v1/reservations?member_id=" + HubClient::Escape(o->member_id) +
                                "&limit=" + std::to_string(o->limit));
        return PrintAnswer(answer, o->common.json, [&](const json& reply) {
            Table table({"reservation id", "status", "item", "qty", "pickup at", "pickup store",
                         "made by"});
            table.AlignRight(3);
            for (const json& r : reply.value("reservations", json::array())) {
                table.AddRow({JsonString(r, "reservation_id"), JsonString(r, "status"),
                              JsonString(r.value("item", json::object()), "name"),
                              GroupThousands(JsonInt(r, "quantity")),
                              LocalTime(JsonString(r, "pickup_at")), JsonString(r, "store_id"),
                              JsonString(r, "created_by")});
            }
            table.Print(std::cout, "No reservations for this member in this program.\n");
        });
    });
}

void AddReservationStatus(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string reservation_id, status, created_by;
    };
    auto o = std::make_shared<Options>();
    auto* cmd =
        pos.add_subcommand("reservation-status", "Mark a reservation picked up or cancelled");
    cmd->add_option("RESERVATION_ID", o->reservation_id, "The reservation's id")->required();
    cmd->add_option("STATUS", o->status, "picked_up or cancelled")
        ->required()
        ->check(CLI::IsMember({"picked_up", "cancelled"}));
    cmd->add_option("--created-by", o->created_by,
                    "store:<id> or member:<id>, when reservations of several creators share "
                    "the id");
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos reservation-status 2026-12-01-0007 picked_up",
                      "kizuna pos reservation-status 2026-12-01-0007 cancelled --json"});
    OnRun(cmd, dispatcher, [o] {
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        json body = {{"status", o->status}};
        if (!o->created_by.empty()) body["created_by"] = o->created_by;
        auto answer = session.client->Patch(
            "/v1/reservations/" + HubClient::Escape(o->reservation_id), body, /*attempts=*/3);
        return PrintAnswer(answer, o->common.json, [&](const json& reply) {
            std::cout << (reply.value("unchanged", false) ? "Already " : "Now ")
                      << JsonString(reply, "status", o->status) << ".\n";
            PrintReservation(reply);
        });
    });
}

}  // namespace

void AddReservationCommands(CLI::App& pos, Dispatcher& dispatcher) {
    AddReserve(pos, dispatcher);
    AddReservations(pos, dispatcher);
    AddReservationStatus(pos, dispatcher);
}

}  // namespace kizuna::cli
