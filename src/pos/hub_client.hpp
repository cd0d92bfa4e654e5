#pragma once
// HubClient: an HTTP(S) connection to the hub's /v1 API (libcurl), used by the client commands
// (src/cli) and by the store node to forward, push and pull (src/pos). One handle is reused for
// every call so the connection stays open (keep-alive) across requests. Every answer is either a
// reply (2xx, JSON body) or a HubFailure that says whether the hub refused (its
// {"error":{"code","message","field"}} body) or could not be reached. Thread-safety: one HubClient
// per thread.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kizuna::pos {

struct HubClientOptions {
    std::string base_url;  // "http://127.0.0.1:8080"; a trailing '/' is ignored
    std::string token;     // bearer token: operator token, API key or member session; may be empty
    std::string ca_cert;   // PEM file trusted for HTTPS instead of the system store; may be empty
    std::string client_cert{};  // PEM certificate shown to the hub (mutual TLS); may be empty
    std::string client_key{};   // its PEM private key
    std::string staff{};  // "STAFF_ID:PIN" sent as Kizuna-Staff (a store's till); may be empty
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

    // "insufficient_points: the balance is 120 points (HTTP 422)".
    std::string Describe() const;
};

struct HubAnswer {
    bool ok = false;
    long status = 0;
    nlohmann::json body;  // the reply when ok (null for an empty body)
    std::string text;     // the body as the hub sent it, whatever the status
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
    // GET of a file (a CSV or PDF export): the reply's bytes in HubAnswer::text, not parsed.
    HubAnswer GetBytes(std::string_view path);
    // GetBytes into `bytes` (a PDF), answered as HubAnswer without a body.
    HubAnswer Download(std::string_view path, std::string& bytes);
    HubAnswer Post(std::string_view path, const nlohmann::json& body, int attempts = 1);
    HubAnswer Put(std::string_view path, const nlohmann::json& body, int attempts = 1);
    HubAnswer Patch(std::string_view path, const nlohmann::json& body, int attempts = 1);
    // DELETE, with a JSON body when `body` is not null (a password re-entered to leave).
    HubAnswer Delete(std::string_view path, const nlohmann::json& body = nullptr);
    // One request as given: `payload` is sent verbatim as JSON when not null. No retry.
    HubAnswer Request(std::string_view method, std::string_view path, const std::string* payload);

    const std::string& base_url() const { return options_.base_url; }
    // The Kizuna-Staff value sent with the requests that follow (empty: none).
    void set_staff(std::string staff) { options_.staff = std::move(staff); }

    // Percent-encodes one path segment or query value.
    static std::string Escape(std::string_view text);

  private:
    HubAnswer Send(const char* method, std::string_view path, const nlohmann::json* body,
                   int attempts);
    HubAnswer SendOnce(const char* method, std::string_view path, const std::string* payload,
                       bool json_answer = true);

    HubClientOptions options_;
    void* curl_ = nullptr;  // CURL*, kept out of the header
};

}  // namespace kizuna::pos
