// How fast the hub drains a store node's backlog: a real hub (SQLite file in a temporary data
// directory, durable as always) and its API without the network (http::Api::Handle, so JSON
// reading and answering are counted); one store pushes `events` offline purchases through
// POST /v1/sync/push in batches of `batch`, one batch after the other as a node does, and the
// program prints events applied per second and how the storage batched them.
//
// Usage: sync_push_bench [events=100000] [batch=500] [members=50]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/api.hpp"
#include "hub/hub.hpp"
#include "hub/system_clock.hpp"

namespace kizuna {
namespace {

using nlohmann::json;

int Run(int total, int batch, int member_count) {
    // mkdtemp replaces the template's last six characters with a unique suffix.
    std::string dir_template =
        (std::filesystem::temp_directory_path() / "kizuna-sync-bench-XXXXXX").string();
    if (::mkdtemp(dir_template.data()) == nullptr) {
        std::perror(("cannot create " + dir_template).c_str());
        return 1;
    }
    const std::filesystem::path dir(dir_template);
    int code = 0;
    {
        hub::HubOptions options;
        options.data_dir = dir / "data";
        auto opened = hub::Hub::Open(options);
        if (!opened) {
            std::fprintf(stderr, "cannot open the hub: %s\n", opened.error().message.c_str());
            return 1;
        }
        hub::Hub& hub = **opened;
        http::Api api(hub);
        hub::NewStore new_store;
        new_store.name = "Bench store";
        auto store = hub.admin().CreateStore(hub::Caller::Operator(), new_store);
        if (!store) return 1;
        const std::string key = "Bearer " + store->api_key;
        std::vector<std::string> members;
        for (int i = 0; i < member_count; ++i) {
            hub::NewMember m;
            m.password = "correct horse battery";
            m.profile.name = "Bench " + std::to_string(i);
            auto enrolled = hub.members().Enroll(hub::Caller::Operator(), m);
            if (!enrolled) return 1;
            members.push_back(enrolled->member_id);
        }
        const std::string occurred_at =
            core::FormatRfc3339(hub::SystemClock().Now() - std::chrono::hours(1));

        int applied = 0;
        const auto start = std::chrono::steady_clock::now();
        const storage::StorageStats before = hub.storage().Stats();
        for (int first = 0; first < total; first += batch) {
            json events = json::array();
            for (int i = first; i < std::min(total, first + batch); ++i) {
                events.push_back({{"event_id", "ev-" + std::to_string(i)},
                                  {"type", "purchase.created"},
                                  {"occurred_at", occurred_at},
                                  {"terminal_id", "till-1"},
                                  {"body",
                                   {{"purchase_id", "p-" + std::to_string(i)},
                                    {"member_id", members[i % members.size()]},
                                    {"lines", json::array({{{"name", "弁当"},
                                                            {"unit_price", 980},
                                                            {"quantity", 1}}})}}}});
            }
            http::HttpRequest request;
            request.method = "POST";
            request.path = "/v1/sync/push";
            request.authorization = key;
            request.content_type = "application/json";
            request.body = json{{"events", events}}.dump();
            request.received_at = std::chrono::steady_clock::now();
            http::HttpResponse response = api.Handle(request);
            if (response.status != 200) {
                std::fprintf(stderr, "push answered %d: %s\n", response.status,
                             response.body.substr(0, 400).c_str());
                code = 1;
                break;
            }
            const json answer = json::parse(response.body);
            for (const auto& result : answer["results"]) {
                if (result["status"] == "applied") ++applied;
            }
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const storage::StorageStats after = hub.storage().Stats();
        const uint64_t units = after.write_units - before.write_units;
        const uint64_t commits = after.commits - before.commits;
        std::printf(
            "%d events in batches of %d: %d applied in %.2f s, %.0f events/s; %llu units in %llu "
            "commits (%.1f per commit), %llu log syncs\n",
            total, batch, applied, seconds, applied / seconds,
            static_cast<unsigned long long>(units), static_cast<unsigned long long>(commits),
            commits ? static_cast<double>(units) / commits : 0.0,
            static_cast<unsigned long long>(after.log_syncs - before.log_syncs));
        if (applied != total) code = 1;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return code;
}

}  // namespace
}  // namespace kizuna

int main(int argc, char** argv) {
    const int events = argc > 1 ? std::atoi(argv[1]) : 100000;
    const int batch = argc > 2 ? std::atoi(argv[2]) : 500;
    const int members = argc > 3 ? std::atoi(argv[3]) : 50;
    if (events < 1 || batch < 1 || batch > 500 || members < 1) {
        std::fprintf(stderr, "usage: sync_push_bench [events] [batch 1..500] [members]\n");
        return 2;
    }
    return kizuna::Run(events, batch, members);
}
