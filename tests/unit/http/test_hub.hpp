#pragma once
// One real hub (SQLite in a temporary directory) served on 127.0.0.1 on a free port, shared by
// the server tests of this binary, with a few actors made through the API itself: the operator,
// two stores in different programs, and a member with a session.

#include <filesystem>
#include <memory>
#include <string>

#include "http/hub_server.hpp"
#include "hub/hub.hpp"
#include "test_client.hpp"

namespace kizuna::http::testing {

// A fresh temporary directory, removed by the destructor.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

struct Actor {
    std::string store_id;
    std::string program_id;
    std::string api_key;
};

class TestHub {
  public:
    // The shared instance, started on first use; fails the calling test if it cannot start.
    static TestHub& Get();
    // Stops and removes the shared instance (after the last test).
    static void Shutdown();
    static constexpr std::size_t kBodyLimit = 64 * 1024;

    hub::Hub& hub() { return *hub_; }
    std::string base_url() const { return server_->BaseUrl(); }
    TestClient& client() { return *client_; }

    std::string operator_token;
    Actor store;        // "Shibuya Books", its own program
    Actor other_store;  // "Umeda Foods", another program
    std::string member_id;
    std::string member_password = "correct horse battery";
    std::string member_email = "hanako@example.jp";
    std::string member_token;
    std::string card_number;

    // Enrolls a member through the API, as the operator; returns the 201 answer's JSON.
    nlohmann::json Enroll(const std::string& email, const std::string& password);
    std::string Login(const std::string& login, const std::string& password);

    ~TestHub();

  private:
    TestHub() = default;
    void Start();
    Actor MakeStore(const std::string& name);

    TempDir dir_;  // declared first: removed after everything in it is closed
    std::unique_ptr<hub::Hub> hub_;
    std::unique_ptr<HubServer> server_;
    std::unique_ptr<TestClient> client_;
};

}  // namespace kizuna::http::testing
