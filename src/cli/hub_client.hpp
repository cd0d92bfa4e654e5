#pragma once
// HubClient: the client commands' HTTP(S) connection to the hub's /v1 API (libcurl). One handle
// is reused for every call so the connection stays open (keep-alive) across a command's
// requests. Every answer is either a reply (2xx, JSON body) or a HubFailure that says whether the
// hub refused (its {"error":{"code","message","field"}} body) or could not be reached.
// Thread-safety: one HubClient per thread.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/exit_codes.hpp"

namespace kizuna::cli {

struct HubClientOptions {
    std::string base_url;  // "http://127.0.0.1:8080"; a trailing '/' is ignored
    std::string token;     // bearer token: operator token, API key or member session; may be empty
    std::string ca_cert;   // PEM file trusted for HTTPS instead of the system store; may be empty
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds timeout{30000};  // whole request
};

enum class FailureKind {
    kRefused,      // the hub answered 4xx/5xx
    kUnreachable,  // connection, TLS or timeout failure
    kBadAnswer,    // a 2xx answer that is not JSON
};

struct HubFailure {
    FailureKind kind = FailureKind::kUnreachable;
    long status = 0;      // HTTP status when the hub answered
    std::string code;     // the hub's error code, "unreachable" or "bad_answer"
    std::string message;  // for a person
    std::string field;    // the request field the hub named, if any
    nlohmann::json body;  // {"error":{...}} as the hub sent it, or as built here

    int ExitCode() const;
    // "insufficient_points: the balance is 120 points (HTTP 422)".
    std::string Describe() const;
};

struct HubAnswer {
    bool ok = false;
    long status = 0;
    nlohmann::json body;  // the reply when ok (null for an empty body)
    HubFailure failure;   // when !ok
};

class HubClient {
  public:
    explicit HubClient(HubClientOptions options);
    ~HubClient();
    HubClient(const HubClient&) = delete;
    HubClient& operator=(const HubClient&) = delete;

    // `path` starts with '/', e.g. "/v1/purchases". `attempts` > 1 retries transport failures
    // (never refusals) with a short pause: only for requests that carry an idempotency key.
    HubAnswer Get(std::string_view path);
    HubAnswer Post(std::string_view path, const nlohmann::json& body, int attempts = 1);
    HubAnswer Put(std::string_view path, const nlohmann::json& body, int attempts = 1);
    HubAnswer Patch(std::string_view path, const nlohmann::json& body, int attempts = 1);
    // A body only when `body` is not null.
    HubAnswer Delete(std::string_view path, const nlohmann::json& body = nullptr);

    const std::string& base_url() const { return options_.base_url; }

    // Percent-encodes one path segment or query value.
    static std::string Escape(std::string_view text);

  private:
    HubAnswer Send(const char* method, std::string_view path, const nlohmann::json* body,
                   int attempts);
    HubAnswer SendOnce(const char* method, std::string_view path, const std::string* payload);

    HubClientOptions options_;
    void* curl_ = nullptr;  // CURL*, kept out of the header
};

}  // namespace kizuna::cli
