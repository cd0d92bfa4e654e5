#pragma once
// A small synchronous HTTP(S) client for the server tests, on libcurl. One client is one curl
// handle, so consecutive requests reuse one kept-alive connection.

#include <curl/curl.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kizuna::http::testing {

struct Reply {
    CURLcode curl = CURLE_OK;  // transport result; status is 0 unless CURLE_OK
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // names lower-cased
    long new_connections = 0;                    // connections opened for this request

    nlohmann::json Json() const;
    // error.code and error.field of an error body ("" when absent).
    std::string ErrorCode() const;
    std::string ErrorField() const;
};

class TestClient {
  public:
    // `ca_file`: the certificate to trust for https (the test's self-signed one).
    explicit TestClient(std::string base_url, std::string ca_file = "");
    ~TestClient();
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    // `token` empty: no Authorization header. `raw_authorization` overrides the header verbatim.
    Reply Send(const std::string& method, const std::string& path, const std::string& body = "",
               const std::string& token = "", const std::vector<std::string>& extra_headers = {});
    Reply Get(const std::string& path, const std::string& token = "") {
        return Send("GET", path, "", token);
    }
    Reply Post(const std::string& path, const nlohmann::json& body, const std::string& token = "") {
        return Send("POST", path, body.dump(), token);
    }

  private:
    std::string base_url_;
    std::string ca_file_;
    CURL* curl_;
};

}  // namespace kizuna::http::testing
