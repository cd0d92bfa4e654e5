#include "test_hub.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <stdexcept>

#include "crypto/crypto.hpp"

namespace kizuna::http::testing {

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kizuna-http-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

namespace {

std::unique_ptr<TestHub>& Instance() {
    static std::unique_ptr<TestHub> instance;
    return instance;
}

// Stops the shared server and removes its directory after the last test.
class TestHubEnvironment : public ::testing::Environment {
  public:
    void TearDown() override { TestHub::Shutdown(); }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new TestHubEnvironment);

}  // namespace

TestHub& TestHub::Get() {
    std::unique_ptr<TestHub>& instance = Instance();
    if (!instance) {
        instance.reset(new TestHub());
        instance->Start();
    }
    return *instance;
}

void TestHub::Shutdown() { Instance().reset(); }

TestHub::~TestHub() {
    if (server_) server_->Stop();
    client_.reset();
    server_.reset();
    hub_.reset();
}

void TestHub::Start() {
    crypto::InitCrypto();
    hub::HubOptions options;
    options.data_dir = dir_.path() / "data";
    auto hub = hub::Hub::Open(options);
    if (!hub) throw std::runtime_error("Hub::Open: " + hub.error().message);
    hub_ = std::move(*hub);

    ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_options.io_threads = 2;
    server_options.worker_threads = 8;
    server_options.body_limit = kBodyLimit;
    server_ = std::make_unique<HubServer>(*hub_, server_options);
    auto started = server_->Start();
    if (!started.ok()) throw std::runtime_error("HubServer::Start: " + started.error().message);
    client_ = std::make_unique<TestClient>(server_->BaseUrl());

    std::ifstream token_file(hub_->operator_token_path());
    std::getline(token_file, operator_token);

    store = MakeStore("Shibuya Books");
    other_store = MakeStore("Umeda Foods");
    nlohmann::json enrolled = Enroll(member_email, member_password);
    member_id = enrolled["member_id"];
    card_number = enrolled["card"]["card_number"];
    member_token = Login(member_id, member_password);
}

Actor TestHub::MakeStore(const std::string& name) {
    Reply reply =
        client_->Post("/v1/stores", {{"name", name}, {"kind", "physical"}}, operator_token);
    if (reply.status != 201) throw std::runtime_error("POST /v1/stores: " + reply.body);
    auto json = reply.Json();
    return Actor{json["store_id"], json["program_id"], json["api_key"]};
}

nlohmann::json TestHub::Enroll(const std::string& email, const std::string& password) {
    nlohmann::json body = {
        {"password", password},
        {"profile", {{"name", "山田 花子"}, {"name_kana", "ヤマダ ハナコ"}, {"email", email}}},
        {"consents", {{"email_offers", true}, {"postal_offers", false}, {"share_profile", true}}}};
    // By the operator: self-service with an email is confirmed by mail first.
    Reply reply = client_->Post("/v1/members", body, operator_token);
    if (reply.status != 201) throw std::runtime_error("POST /v1/members: " + reply.body);
    return reply.Json();
}

std::string TestHub::Login(const std::string& login, const std::string& password) {
    Reply reply = client_->Post("/v1/sessions", {{"login", login}, {"password", password}});
    if (reply.status != 201) throw std::runtime_error("POST /v1/sessions: " + reply.body);
    return reply.Json()["token"];
}

}  // namespace kizuna::http::testing
