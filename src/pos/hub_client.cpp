#include "pos/hub_client.hpp"

#include <curl/curl.h>

#include <stdexcept>
#include <thread>

#include "mail/curl_init.hpp"

namespace kizuna::pos {
namespace {

std::size_t AppendBody(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<std::string*>(user)->append(data, size * count);
    return size * count;
}

HubFailure Unreachable(const std::string& url, CURLcode code, const char* detail) {
    HubFailure failure;
    failure.kind = FailureKind::kUnreachable;
    failure.code = "unreachable";
    std::string reason = detail != nullptr && *detail != '\0' ? detail : curl_easy_strerror(code);
    failure.message = "cannot reach the hub at " + url + ": " + reason;
    if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST) {
        failure.message += " (is `kizuna hub serve` running? check --hub or KIZUNA_HUB)";
    } else if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE) {
        failure.message += " (pass the hub's certificate with --cacert)";
    }
    failure.body = {{"error", {{"code", failure.code}, {"message", failure.message}}}};
    return failure;
}

HubFailure Refused(long status, const std::string& raw) {
    HubFailure failure;
    failure.kind = FailureKind::kRefused;
    failure.status = status;
    nlohmann::json body = nlohmann::json::parse(raw, nullptr, false);
    if (!body.is_discarded() && body.is_object() && body.contains("error") &&
        body["error"].is_object()) {
        const auto& error = body["error"];
        failure.code = error.value("code", "");
        failure.message = error.value("message", "");
        failure.field = error.value("field", "");
        failure.body = body;
    }
    if (failure.code.empty()) failure.code = "http_" + std::to_string(status);
    if (failure.message.empty()) {
        failure.message =
            raw.empty() ? "the hub answered HTTP " + std::to_string(status) : raw.substr(0, 300);
    }
    if (failure.body.is_null()) {
        failure.body = {{"error", {{"code", failure.code}, {"message", failure.message}}}};
    }
    return failure;
}

}  // namespace

std::string HubFailure::Describe() const {
    std::string text = code + ": " + message;
    if (!field.empty() && message.find(field) == std::string::npos) {
        text += " (field " + field + ")";
    }
    if (status != 0) text += " (HTTP " + std::to_string(status) + ")";
    return text;
}

HubClient::HubClient(HubClientOptions options) : options_(std::move(options)) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') {
        options_.base_url.pop_back();
    }
    mail::InitCurl();
    curl_ = curl_easy_init();
    if (curl_ == nullptr) throw std::runtime_error("libcurl could not create a handle");
}

HubClient::~HubClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

std::string HubClient::Escape(std::string_view text) {
    char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
    if (escaped == nullptr) throw std::runtime_error("libcurl could not escape a URL part");
    std::string out(escaped);
    curl_free(escaped);
    return out;
}

HubAnswer HubClient::Get(std::string_view path) { return Send("GET", path, nullptr, 1); }

HubAnswer HubClient::GetBytes(std::string_view path) {
    return SendOnce("GET", path, nullptr, false);
}

HubAnswer HubClient::Post(std::string_view path, const nlohmann::json& body, int attempts) {
    return Send("POST", path, &body, attempts);
}

HubAnswer HubClient::Put(std::string_view path, const nlohmann::json& body, int attempts) {
    return Send("PUT", path, &body, attempts);
}

HubAnswer HubClient::Patch(std::string_view path, const nlohmann::json& body, int attempts) {
    return Send("PATCH", path, &body, attempts);
}

HubAnswer HubClient::Request(std::string_view method, std::string_view path,
                             const std::string* payload) {
    return SendOnce(std::string(method).c_str(), path, payload);
}

HubAnswer HubClient::Delete(std::string_view path, const nlohmann::json& body) {
    return Send("DELETE", path, body.is_null() ? nullptr : &body, 1);
}

HubAnswer HubClient::Send(const char* method, std::string_view path, const nlohmann::json* body,
                          int attempts) {
    const std::string payload = body != nullptr ? body->dump() : std::string();
    HubAnswer answer;
    for (int attempt = 1; attempt <= std::max(1, attempts); ++attempt) {
        answer = SendOnce(method, path, body != nullptr ? &payload : nullptr);
        if (answer.ok || answer.failure.kind != FailureKind::kUnreachable) break;
        if (attempt < attempts)
            std::this_thread::sleep_for(std::chrono::milliseconds(500 * attempt));
    }
    return answer;
}

HubAnswer HubClient::Download(std::string_view path, std::string& bytes) {
    HubAnswer answer = GetBytes(path);
    if (answer.ok) bytes = std::move(answer.text);
    return answer;
}

HubAnswer HubClient::SendOnce(const char* method, std::string_view path, const std::string* payload,
                              bool json_answer) {
    CURL* curl = static_cast<CURL*>(curl_);
    const std::string url = options_.base_url + std::string(path);
    std::string response;
    char error_buffer[CURL_ERROR_SIZE] = {0};

    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, json_answer ? "Accept: application/json" : "Accept: */*");
    if (payload != nullptr) headers = curl_slist_append(headers, "Content-Type: application/json");
    // An empty Expect: stops curl waiting for "100 Continue" on larger bodies.
    headers = curl_slist_append(headers, "Expect:");
    std::string authorization;
    if (!options_.token.empty()) {
        authorization = "Authorization: Bearer " + options_.token;
        headers = curl_slist_append(headers, authorization.c_str());
    }
    std::string staff;
    if (!options_.staff.empty()) {
        staff = "Kizuna-Staff: " + options_.staff;
        headers = curl_slist_append(headers, staff.c_str());
    }

    // Reset per-request options but keep the handle, so its connection cache survives.
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (payload != nullptr) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload->data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(payload->size()));
    } else if (std::string_view(method) == "GET") {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "kizuna-cli/0.1");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!options_.ca_cert.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_cert.c_str());
    if (!options_.client_cert.empty()) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, options_.client_cert.c_str());
        curl_easy_setopt(curl, CURLOPT_SSLKEY, options_.client_key.c_str());
    }

    const CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(headers);

    HubAnswer answer;
    if (code != CURLE_OK) {
        answer.failure = Unreachable(options_.base_url, code, error_buffer);
        return answer;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    answer.status = status;
    answer.text = response;
    if (status >= 400 || status < 200) {
        answer.failure = Refused(status, response);
        return answer;
    }
    if (json_answer && !response.empty()) {
        answer.body = nlohmann::json::parse(response, nullptr, false);
        if (answer.body.is_discarded()) {
            answer.failure.kind = FailureKind::kBadAnswer;
            answer.failure.status = status;
            answer.failure.code = "bad_answer";
            answer.failure.message = "the hub's answer to " + std::string(method) + " " +
                                     std::string(path) + " is not JSON (is " + options_.base_url +
                                     " a Kizuna hub?)";
            answer.failure.body = {
                {"error", {{"code", answer.failure.code}, {"message", answer.failure.message}}}};
            return answer;
        }
    }
    answer.ok = true;
    return answer;
}

}  // namespace kizuna::pos
