#include "pos/hub_link.hpp"

namespace kizuna::pos {

std::unique_ptr<HubClient> CurlHubLink::Lease(const std::string* token) {
    if (token == nullptr) {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            std::unique_ptr<HubClient> client = std::move(idle_.back());
            idle_.pop_back();
            return client;
        }
    }
    HubClientOptions options = options_;
    if (token != nullptr) options.token = *token;
    return std::make_unique<HubClient>(std::move(options));
}

void CurlHubLink::Return(std::unique_ptr<HubClient> client) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(client));
}

HubReply CurlHubLink::Call(std::string_view method, std::string_view path, const std::string* body,
                           const std::string* token) {
    std::unique_ptr<HubClient> client = Lease(token);
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
    if (token == nullptr && reply.reached) Return(std::move(client));
    return reply;
}

}  // namespace kizuna::pos
