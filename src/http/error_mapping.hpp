#pragma once
// The one mapping from core::ErrorCode to an HTTP status, and the one JSON error body:
//   {"error":{"code":"insufficient_points","message":"...","field":"points"}}
// ("field" only when the error names one). Internal errors are logged, never shown.
// Thread-safety: pure functions.

#include <string_view>

#include "core/result.hpp"
#include "http/http_message.hpp"

namespace kizuna::http {

// The status for a code: 400, 401, 403, 404, 409, 413, 422, 429, 500 or 503.
int HttpStatusOf(core::ErrorCode code);

// The response for a service or validation error. kInternal messages are logged and replaced
// by a generic one; kTooManyRequests carries Retry-After.
HttpResponse ErrorResponse(const core::Error& error);

// For protocol-level errors that have no ErrorCode (405 method_not_allowed).
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view field = {});

}  // namespace kizuna::http
