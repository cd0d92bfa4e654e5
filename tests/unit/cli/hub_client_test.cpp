// HubClient against a scripted HTTP/1.1 server on a loopback port: what goes on the wire, how
// answers and errors are mapped, and that one connection serves several calls (keep-alive).

#include "cli/hub_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kizuna::cli {
namespace {

struct Canned {
    int status;
    std::string body;
    std::string content_type = "application/json";
};

struct Seen {
    std::string method, path, authorization, body;
};

class ScriptedServer {
  public:
    explicit ScriptedServer(std::vector<Canned> answers)
        : answers_(answers.begin(), answers.end()) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        EXPECT_EQ(::listen(listener_, 8), 0);
        socklen_t len = sizeof addr;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { Serve(); });
    }
    ~ScriptedServer() {
        ::shutdown(listener_, SHUT_RDWR);
        ::close(listener_);
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int connections() const { return connections_.load(); }
    std::vector<Seen> seen() {
        std::lock_guard lock(mutex_);
        return seen_;
    }

  private:
    void Serve() {
        while (true) {
            const int fd = ::accept(listener_, nullptr, nullptr);
            if (fd < 0) return;
            ++connections_;
            HandleConnection(fd);
            ::close(fd);
        }
    }
    static std::string Header(const std::string& head, const std::string& name) {
        const std::string key = "\r\n" + name + ": ";
        auto pos = head.find(key);
        if (pos == std::string::npos) return "";
        pos += key.size();
        return head.substr(pos, head.find("\r\n", pos) - pos);
    }
    void HandleConnection(int fd) {
        std::string buffer;
        char chunk[4096];
        while (true) {
            std::size_t head_end;
            while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
                const ssize_t n = ::read(fd, chunk, sizeof chunk);
                if (n <= 0) return;
                buffer.append(chunk, static_cast<std::size_t>(n));
            }
            const std::string head = buffer.substr(0, head_end);
            const std::string length = Header(head, "Content-Length");
            const std::size_t body_length = length.empty() ? 0 : std::stoul(length);
            while (buffer.size() < head_end + 4 + body_length) {
                const ssize_t n = ::read(fd, chunk, sizeof chunk);
                if (n <= 0) return;
                buffer.append(chunk, static_cast<std::size_t>(n));
            }
            Seen seen;
            seen.method = head.substr(0, head.find(' '));
            const auto path_start = head.find(' ') + 1;
            seen.path = head.substr(path_start, head.find(' ', path_start) - path_start);
            seen.authorization = Header(head, "Authorization");
            seen.body = buffer.substr(head_end + 4, body_length);
            buffer.erase(0, head_end + 4 + body_length);
            Canned answer{500, "{}"};
            {
                std::lock_guard lock(mutex_);
                seen_.push_back(seen);
                if (!answers_.empty()) {
                    answer = answers_.front();
                    answers_.pop_front();
                }
            }
            const std::string response =
                "HTTP/1.1 " + std::to_string(answer.status) +
                " X\r\nContent-Type: " + answer.content_type +
                "\r\nContent-Length: " + std::to_string(answer.body.size()) + "\r\n\r\n" +
                answer.body;
            if (::write(fd, response.data(), response.size()) < 0) return;
        }
    }

    int listener_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<int> connections_{0};
    std::mutex mutex_;
    std::deque<Canned> answers_;
    std::vector<Seen> seen_;
};

HubClientOptions Options(const std::string& url, const std::string& token = "") {
    HubClientOptions options;
    options.base_url = url;
    options.token = token;
    options.connect_timeout = std::chrono::milliseconds(2000);
    return options;
}

TEST(HubClient, SendsJsonWithTheBearerTokenAndReadsTheReply) {
    ScriptedServer server({{201, R"({"purchase_id":"p1","points_earned":3,"balance":12})"}});
    HubClient client(Options(server.url() + "/", "sk_test"));
    auto answer = client.Post("/v1/purchases", {{"purchase_id", "p1"}});
    ASSERT_TRUE(answer.ok) << answer.failure.Describe();
    EXPECT_EQ(answer.status, 201);
    EXPECT_EQ(answer.body["balance"], 12);
    auto seen = server.seen();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "POST");
    EXPECT_EQ(seen[0].path, "/v1/purchases");
    EXPECT_EQ(seen[0].authorization, "Bearer sk_test");
    EXPECT_EQ(nlohmann::json::parse(seen[0].body)["purchase_id"], "p1");
}

TEST(HubClient, MapsTheHubsErrorBodyToARefusal) {
    ScriptedServer server({{422, R"({"error":{"code":"insufficient_points",)"
                                 R"("message":"only 120 left","field":"points"}})"}});
    HubClient client(Options(server.url()));
    auto answer = client.Post("/v1/redemptions", {{"points", 500}});
    ASSERT_FALSE(answer.ok);
    EXPECT_EQ(answer.failure.kind, FailureKind::kRefused);
    EXPECT_EQ(answer.failure.status, 422);
    EXPECT_EQ(answer.failure.code, "insufficient_points");
    EXPECT_EQ(answer.failure.field, "points");
    EXPECT_EQ(ExitCodeOf(answer.failure), kExitRefused);
    EXPECT_EQ(answer.failure.Describe(),
              "insufficient_points: only 120 left (field points) (HTTP 422)");
    EXPECT_EQ(answer.failure.body["error"]["code"], "insufficient_points");
}

TEST(HubClient, AnErrorWithoutTheErrorShapeStillSaysWhatHappened) {
    ScriptedServer server({{502, "Bad Gateway", "text/plain"}});
    HubClient client(Options(server.url()));
    auto answer = client.Get("/v1/offers");
    ASSERT_FALSE(answer.ok);
    EXPECT_EQ(answer.failure.code, "http_502");
    EXPECT_EQ(answer.failure.message, "Bad Gateway");
    EXPECT_EQ(answer.failure.body["error"]["code"], "http_502");
}

TEST(HubClient, ASuccessThatIsNotJsonIsABadAnswer) {
    ScriptedServer server({{200, "<html>hello</html>", "text/html"}});
    HubClient client(Options(server.url()));
    auto answer = client.Get("/v1/offers");
    ASSERT_FALSE(answer.ok);
    EXPECT_EQ(answer.failure.kind, FailureKind::kBadAnswer);
    EXPECT_EQ(ExitCodeOf(answer.failure), kExitUnreachable);
}

TEST(HubClient, ReusesOneConnectionForSeveralCalls) {
    ScriptedServer server(
        {{200, R"({"offers":[]})"}, {200, R"({"offers":[]})"}, {201, R"({"offer_id":"of_1"})"}});
    HubClient client(Options(server.url()));
    EXPECT_TRUE(client.Get("/v1/offers").ok);
    EXPECT_TRUE(client.Get("/v1/offers").ok);
    EXPECT_TRUE(client.Post("/v1/offers", {{"title", "x"}}).ok);
    EXPECT_EQ(server.connections(), 1);
}

TEST(HubClient, NoServerIsUnreachableWithAHint) {
    int port = 0;
    {
        // A port that was free a moment ago and has no listener now.
        ScriptedServer probe({});
        port = std::stoi(probe.url().substr(probe.url().rfind(':') + 1));
    }
    HubClient client(Options("http://127.0.0.1:" + std::to_string(port)));
    auto answer = client.Get("/healthz");
    ASSERT_FALSE(answer.ok);
    EXPECT_EQ(answer.failure.kind, FailureKind::kUnreachable);
    EXPECT_EQ(ExitCodeOf(answer.failure), kExitUnreachable);
    EXPECT_NE(answer.failure.message.find("kizuna hub serve"), std::string::npos)
        << answer.failure.message;
}

TEST(HubClient, RetriesTransportFailuresOnlyWhenAsked) {
    ScriptedServer server({{409, R"({"error":{"code":"idempotency_conflict","message":"m"}})"}});
    HubClient client(Options(server.url()));
    auto answer = client.Post("/v1/purchases", {{"purchase_id", "p"}}, /*attempts=*/3);
    ASSERT_FALSE(answer.ok);
    EXPECT_EQ(server.seen().size(), 1u) << "a refusal is never retried";
}

TEST(HubClient, EscapesPathSegments) {
    EXPECT_EQ(HubClient::Escape("a b/c"), "a%20b%2Fc");
    EXPECT_EQ(HubClient::Escape("2026-11-22.0001"), "2026-11-22.0001");
}

}  // namespace
}  // namespace kizuna::cli
