#pragma once
// The one list of error codes. Each maps to one HTTP status (src/http/error_mapping) and one
// stable snake_case name that clients see in {"error":{"code":...}}.

#include <string_view>

namespace kizuna::core {

enum class ErrorCode {
    kInvalidArgument,  // 400 invalid_argument: malformed or missing input; Error::field names it
    kPayloadTooLarge,  // 413 payload_too_large
    kUnauthenticated,  // 401 unauthenticated: no or bad credentials
    kWrongPassword,    // 401 wrong_password
    kForbidden,        // 403 forbidden: authenticated but not entitled
    kNotFound,         // 404 not_found
    kAlreadyExists,    // 409 already_exists: e.g. an email already registered
    kIdempotencyConflict,  // 409 idempotency_conflict: same id, different body
    kCardRevoked,          // 409 card_revoked
    kInsufficientPoints,   // 422 insufficient_points
    kRuleViolation,        // 422 rule_violation: valid input that the domain refuses
    // 422 redemption_limit: a program's redemption limit refuses it; Error::field names the limit
    // (core/redemption_limits.hpp), sent as error.limit
    kRedemptionLimit,
    kTooManyRequests,  // 429 too_many_requests: login throttling
    kUnavailable,      // 503 unavailable: storage or a dependency is down; retry later
    kInternal,         // 500 internal
};

// Stable wire name, e.g. "insufficient_points".
std::string_view ErrorCodeName(ErrorCode code);

}  // namespace kizuna::core
