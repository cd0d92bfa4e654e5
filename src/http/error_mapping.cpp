#include "http/error_mapping.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "http/json.hpp"

namespace kizuna::http {
int HttpStatusOf(core::ErrorCode code) {
    using core::ErrorCode;
    switch (code) {
        case ErrorCode::kInvalidArgument:
            return 400;
        case ErrorCode::kPayloadTooLarge:
            return 413;
        case ErrorCode::kUnauthenticated:
            return 401;
        case ErrorCode::kWrongPassword:
            return 401;
        case ErrorCode::kForbidden:
            return 403;
        case ErrorCode::kNotFound:
            return 404;
        case ErrorCode::kAlreadyExists:
            return 409;
        case ErrorCode::kIdempotencyConflict:
            return 409;
        case ErrorCode::kCardRevoked:
            return 409;
        case ErrorCode::kInsufficientPoints:
            return 422;
        case ErrorCode::kRuleViolation:
            return 422;
        case ErrorCode::kRedemptionLimit:
            return 422;
        case ErrorCode::kTooManyRequests:
            return 429;
        case ErrorCode::kUnavailable:
            return 503;
        case ErrorCode::kInternal:
            return 500;
    }
    return 500;
}

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view field) {
    Json error = Json::object();
    error["code"] = code;
    error["message"] = message;
    if (!field.empty()) error["field"] = field;
    Json body = Json::object();
    body["error"] = std::move(error);
    HttpResponse response;
    response.status = status;
    response.body = DumpJson(body);
    return response;
}

namespace {

// 422 redemption_limit: the limit the redemption ran into is `limit` (the error's field), not a
// request field.
HttpResponse RedemptionLimitResponse(const core::Error& error) {
    Json body = Json::object();
    body["error"] = Json::object();
    body["error"]["code"] = core::ErrorCodeName(error.code);
    body["error"]["message"] = error.message;
    body["error"]["limit"] = error.field;
    HttpResponse response;
    response.status = HttpStatusOf(error.code);
    response.body = DumpJson(body);
    return response;
}

}  // namespace

HttpResponse ErrorResponse(const core::Error& error) {
    if (error.code == core::ErrorCode::kInternal) {
        spdlog::error("internal error: {}", error.message);
        return ErrorResponse(500, core::ErrorCodeName(error.code),
                             "internal error; the hub's log has the details", {});
    }
    if (error.code == core::ErrorCode::kRedemptionLimit) return RedemptionLimitResponse(error);
    HttpResponse response = ErrorResponse(HttpStatusOf(error.code), core::ErrorCodeName(error.code),
                                          error.message, error.field);
    if (error.code == core::ErrorCode::kTooManyRequests) {
        response.headers.emplace_back(
            "Retry-After", std::to_string(std::max<int64_t>(1, error.retry_after.count())));
    }
    if (error.code == core::ErrorCode::kUnauthenticated) {
        response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"kizuna\"");
    }
    return response;
}

}  // namespace kizuna::http
