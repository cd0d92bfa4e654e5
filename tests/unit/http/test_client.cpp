#include "test_client.hpp"

#include <algorithm>
#include <stdexcept>

namespace kizuna::http::testing {
namespace {

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* out) {
    std::string line(data, size * count);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
        (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
    }
    return size * count;
}

}  // namespace

nlohmann::json Reply::Json() const {
    auto parsed = nlohmann::json::parse(body, nullptr, false);
    return parsed;
}

std::string Reply::ErrorCode() const {
    auto json = Json();
    if (json.is_discarded() || !json.contains("error")) return "";
    return json["error"].value("code", "");
}

std::string Reply::ErrorField() const {
    auto json = Json();
    if (json.is_discarded() || !json.contains("error")) return "";
    return json["error"].value("field", "");
}

TestClient::TestClient(std::string base_url, std::string ca_file)
    : base_url_(std::move(base_url)), ca_file_(std::move(ca_file)), curl_(curl_easy_init()) {
    if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
}

TestClient::~TestClient() { curl_easy_cleanup(curl_); }

Reply TestClient::Send(const std::string& method, const std::string& path, const std::string& body,
                       const std::string& token, const std::vector<std::string>& extra_headers) {
    Reply reply;
    std::string url = base_url_ + path;
    curl_easy_reset(curl_);  // keeps the connection cache
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, AppendHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &reply.headers);
    if (!ca_file_.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file_.c_str());

    curl_slist* headers = nullptr;
    std::string authorization = "Authorization: Bearer " + token;
    if (!token.empty()) headers = curl_slist_append(headers, authorization.c_str());
    bool has_body = !body.empty() || method == "POST" || method == "PUT";
    if (has_body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    bool sets_expect = false;
    for (const std::string& h : extra_headers) {
        headers = curl_slist_append(headers, h.c_str());
        if (h.rfind("Expect:", 0) == 0) sets_expect = true;
    }
    // curl adds "Expect: 100-continue" to large bodies by itself; tests choose explicitly.
    if (!sets_expect) headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);

    reply.curl = curl_easy_perform(curl_);
    if (reply.curl == CURLE_OK) {
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &reply.status);
        curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &reply.new_connections);
    }
    curl_slist_free_all(headers);
    return reply;
}

}  // namespace kizuna::http::testing
