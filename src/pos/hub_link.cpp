#include "pos/hub_link.hpp"

namespace kizuna::pos {

namespace {
// Terminal keys the node pools connections for at most (the store's own key is always pooled).
constexpr std::size_t kMaxPooledTokens = 64;
}  // namespace

std::unique_ptr<HubClient> CurlHubLink::Lease(const std::string& token) {
    {
        std::lock_guard lock(mutex_);
        auto it = idle_.find(token);
        if (it != idle_.end() && !it->second.empty()) {
            std::unique_ptr<HubClient> client = std::move(it->second.back());
            it->second.pop_back();
            return client;
        }
    }
    HubClientOptions options = options_;
    options.token = token;
    return std::make_unique<HubClient>(std::move(options));
}

void CurlHubLink::Return(const std::string& token, std::unique_ptr<HubClient> client) {
    std::lock_guard lock(mutex_);
    if (!idle_.contains(token) && token != options_.token && idle_.size() >= kMaxPooledTokens) {
        return;  // dropped: too many callers' keys seen
    }
    idle_[token].push_back(std::move(client));
}

HubReply CurlHubLink::Call(std::string_view method, std::string_view path, const std::string* body,
                           const std::string* token, std::string_view staff) {
    const std::string& key = token != nullptr ? *token : options_.token;
    std::unique_ptr<HubClient> client = Lease(key);
    client->set_staff(std::string(staff));
    HubAnswer answer = client->Request(method, path, body);
    HubReply reply;
    if (answer.ok || answer.failure.kind != FailureKind::kUnreachable) {
        reply.reached = true;
        reply.status = answer.status;
        reply.body = std::move(answer.text);
    } else {
        reply.error = answer.failure.message;
    }
    // A client whose connection failed is dropped rather than reused.
    if (reply.reached) Return(key, std::move(client));
    return reply;
}

}  // namespace kizuna::pos
