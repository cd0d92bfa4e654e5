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

HttpResponse NotFound(std::string_view what, std::string_view id) {
    std::string message(what);
    message += " ";
    message += id;
    message += " does not exist";
    return ErrorResponse(core::MakeError(core::ErrorCode::kNotFound, std::move(message)));
}

bool IsMemberIdParam(std::string_view id) { return core::IsValidMemberId(id); }

}  // namespace kizuna::http
