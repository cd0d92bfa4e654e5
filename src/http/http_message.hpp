#pragma once
// The plain request and response the router and handlers see. The server (hub_server.cpp) is the
// only code that knows Beast; it fills an HttpRequest from the wire and writes an HttpResponse
// back. Plain values; not thread-safe beyond that.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kizuna::http {

struct HttpRequest {
    std::string method;  // "GET", "POST", ... as sent
    std::string path;    // the target without the query, still percent-encoded
    std::map<std::string, std::string, std::less<>> query;  // decoded; the last value of a repeat
    std::string authorization;                              // the Authorization header, verbatim
    std::string content_type;                               // the Content-Type header, verbatim
    std::string staff;  // the Kizuna-Staff header ("STAFF_ID:PIN", the till), verbatim
    std::string body;
    std::string remote_address;                           // peer IP, for login throttling and logs
    std::chrono::steady_clock::time_point received_at{};  // when the request was read in full
    // Set only when the server checks store node certificates (ServerOptions::node_ca_file): the
    // store the client's certificate names once the node CA verified it, empty without one.
    std::optional<std::string> node_store;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow
};

// Splits "path?a=1&b=x%20y" into the path and decoded query parameters. Malformed percent
// escapes are kept literally (the router then finds no match or the handler rejects the value).
void SplitTarget(std::string_view target, HttpRequest& request);
// Decodes %XX escapes (and '+' as a space when `plus_is_space`). Returns false on a malformed
// escape, leaving `out` unspecified.
bool PercentDecode(std::string_view text, bool plus_is_space, std::string& out);

}  // namespace kizuna::http
