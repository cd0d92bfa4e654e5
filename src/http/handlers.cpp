#include "http/handlers.hpp"

#include "core/ids.hpp"
#include "http/error_mapping.hpp"

namespace kizuna::http {

HttpResponse JsonResponse(int status, const Json& body) {
    HttpResponse response;
    response.status = status;
    response.body = DumpJson(body);
    return response;
}

HttpResponse IdempotentWriteResponse(bool replayed, const Json& body) {
    return JsonResponse(replayed ? 200 : 201, body);
}

HttpResponse IdempotentWriteResponse(bool replayed, std::string body) {
    HttpResponse response;
    response.status = replayed ? 200 : 201;
    response.body = std::move(body);
    return response;
}

HttpResponse NotFound(std::string_view what, std::string_view id) {
    std::string message(what);
    message += " ";
    message += id;
    message += " does not exist";
    return ErrorResponse(core::MakeError(core::ErrorCode::kNotFound, std::move(message)));
}

std::optional<int> QueryLimit(const HttpRequest& request, int fallback, int max,
                              HttpResponse& refusal) {
    auto it = request.query.find("limit");
    if (it == request.query.end()) return fallback;
    const std::string& text = it->second;
    const bool digits = !text.empty() && text.size() <= 4 &&
                        text.find_first_not_of("0123456789") == std::string::npos;
    const int limit = digits ? std::stoi(text) : 0;
    if (limit < 1 || limit > max) {
        refusal = ErrorResponse(core::MakeError(
            core::ErrorCode::kInvalidArgument,
            "limit must be an integer between 1 and " + std::to_string(max), "limit"));
        return std::nullopt;
    }
    return limit;
}

bool IsMemberIdParam(std::string_view id) { return core::IsValidMemberId(id); }

}  // namespace kizuna::http
