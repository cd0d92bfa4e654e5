// Issue 14 item 4: an event loop never waits for a read connection. Usage reads used to run on
// the I/O thread and wait in the storage's reader pool while other threads held every reader,
// stalling every connection on that loop, /healthz included.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "test_hub.hpp"

namespace kizuna::http::testing {
namespace {

using namespace std::chrono_literals;

TEST(EventLoop, HealthAnswersWhileEveryReadConnectionIsHeld) {
    TestHub& t = TestHub::Get();
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.io_threads = 1;  // one loop: a request waiting on it would hold up every other
    options.worker_threads = 4;
    HubServer server(t.hub(), options);
    ASSERT_TRUE(server.Start().ok());

    // Hold every read connection of the storage (StorageOptions::read_connections).
    const int readers = storage::StorageOptions{}.read_connections;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<int> holding{0};
    std::vector<std::thread> holders;
    for (int i = 0; i < readers; ++i) {
        holders.emplace_back([&] {
            (void)t.hub().storage().Read([&](storage::ReadTxn&) {
                ++holding;
                released.wait();
                return core::Status::Ok();
            });
        });
    }
    while (holding.load() < readers) std::this_thread::sleep_for(1ms);
    // Whatever happens below, the readers come back after 3 s, so a stalled loop shows as a
    // slow answer rather than a hung test.
    std::thread releaser([&] {
        std::this_thread::sleep_for(3s);
        release.set_value();
    });

    // A usage read that cannot start until a reader is free...
    Reply usage;
    std::thread reading([&] {
        TestClient client(server.BaseUrl());
        usage = client.Get("/v1/members/" + t.member_id + "/usage", t.member_token);
    });
    std::this_thread::sleep_for(200ms);  // it has reached the loop
    // ...does not hold up the loop.
    TestClient probe(server.BaseUrl());
    const auto start = std::chrono::steady_clock::now();
    Reply health = probe.Get("/healthz");
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(health.status, 200);
    EXPECT_LT(took, 1s) << "the event loop waited for a read connection";

    releaser.join();
    reading.join();
    for (auto& holder : holders) holder.join();
    EXPECT_EQ(usage.status, 200) << usage.body;
    server.Stop();
}

}  // namespace
}  // namespace kizuna::http::testing
