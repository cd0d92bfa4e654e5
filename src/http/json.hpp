#pragma once
// The JSON type every handler uses: insertion-ordered, so answers read in the order the API
// documents them.

#include <nlohmann/json.hpp>
#include <string>

namespace kizuna::http {

using Json = nlohmann::ordered_json;

// Compact text. Invalid UTF-8 (which validated data never holds) is replaced, never thrown.
inline std::string DumpJson(const Json& value) {
    return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace kizuna::http
