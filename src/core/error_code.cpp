#include "core/error_code.hpp"

namespace kizuna::core {

std::string_view ErrorCodeName(ErrorCode code) {
    switch (code) {
        case ErrorCode::kInvalidArgument:
            return "invalid_argument";
        case ErrorCode::kPayloadTooLarge:
            return "payload_too_large";
        case ErrorCode::kUnauthenticated:
            return "unauthenticated";
        case ErrorCode::kWrongPassword:
            return "wrong_password";
        case ErrorCode::kForbidden:
            return "forbidden";
        case ErrorCode::kNotFound:
            return "not_found";
        case ErrorCode::kAlreadyExists:
            return "already_exists";
        case ErrorCode::kIdempotencyConflict:
            return "idempotency_conflict";
        case ErrorCode::kCardRevoked:
            return "card_revoked";
        case ErrorCode::kInsufficientPoints:
            return "insufficient_points";
        case ErrorCode::kRuleViolation:
            return "rule_violation";
        case ErrorCode::kRedemptionLimit:
            return "redemption_limit";
        case ErrorCode::kTooManyRequests:
            return "too_many_requests";
        case ErrorCode::kUnavailable:
            return "unavailable";
        case ErrorCode::kInternal:
            return "internal";
    }
    return "internal";
}

}  // namespace kizuna::core
