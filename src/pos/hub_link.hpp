#pragma once
// HubLink: how a store node reaches its hub. One call, one answer or none; the node decides what
// an answer means (a 5xx counts as "the hub is down", like no answer). CurlHubLink is the real
// one (libcurl through HubClient, optionally mutual TLS); tests give the node a link of their own.
// Thread-safety: Call is safe from any number of threads at once.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pos/hub_client.hpp"

namespace kizuna::pos {

struct HubReply {
    bool reached = false;  // false: no answer (connection refused, reset, timeout, TLS failure)
    long status = 0;       // when reached
    std::string body;      // the answer's body as sent
    std::string error;     // why not reached, for the log

    // No answer, or the hub failed (5xx): the node works offline.
    bool Down() const { return !reached || status >= 500; }
};

class HubLink {
  public:
    virtual ~HubLink() = default;
    // `path` with its query, e.g. "/v1/sync/pull?cursor=3&limit=500"; `body` sent as JSON when
    // not null. `token`, when not null, replaces the node's API key (a call passed through for
    // another caller, e.g. a terminal's key; empty: no Authorization at all). `staff`, when not
    // empty, is sent as the Kizuna-Staff header (the till's "STAFF_ID:PIN").
    virtual HubReply Call(std::string_view method, std::string_view path, const std::string* body,
                          const std::string* token = nullptr, std::string_view staff = {}) = 0;
};

class CurlHubLink final : public HubLink {
  public:
    // `options.token` is the store's API key. Connections are kept open and reused.
    explicit CurlHubLink(HubClientOptions options) : options_(std::move(options)) {}

    HubReply Call(std::string_view method, std::string_view path, const std::string* body,
                  const std::string* token = nullptr, std::string_view staff = {}) override;

  private:
    std::unique_ptr<HubClient> Lease(const std::string& token);
    void Return(const std::string& token, std::unique_ptr<HubClient> client);

    HubClientOptions options_;
    std::mutex mutex_;
    // Idle clients by the token they send (the node's own key, or a terminal's), so that a till
    // calling through the node keeps its connection to the hub.
    std::map<std::string, std::vector<std::unique_ptr<HubClient>>> idle_;
};

}  // namespace kizuna::pos
