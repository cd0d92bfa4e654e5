#pragma once
// The OpenAPI 3.0 document of the hub API (src/http/openapi.json, embedded at build time and
// served verbatim at GET /v1/openapi.json).

#include <string_view>

namespace kizuna::http {

std::string_view OpenApiDocument();

}  // namespace kizuna::http
