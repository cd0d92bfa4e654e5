#include "http/json_reader.hpp"

#include <cmath>
#include <limits>
#include <utility>

namespace kizuna::http {
namespace {

// The deepest nesting of arrays and objects in `text`, counted outside strings. Parsing is
// refused beyond kMaxDepth before the parser builds anything, so a body of a million '[' costs
// one scan.
bool NestingWithin(std::string_view text, int max_depth) {
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) return false;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return true;
}

}  // namespace

JsonReader JsonReader::ParseBody(std::string_view body) {
    auto state = std::make_shared<State>();
    JsonReader reader(state, &state->root, "");
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        reader.FailPath("body", "body is required: a JSON object");
        return reader;
    }
    if (!NestingWithin(body, kMaxDepth)) {
        reader.FailPath("body", "body nests arrays and objects too deeply");
        return reader;
    }
    state->root = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (state->root.is_discarded()) {
        reader.FailPath("body", "body is not valid JSON");
        return reader;
    }
    if (!state->root.is_object()) {
        reader.FailPath("body", "body must be a JSON object");
    }
    return reader;
}

std::string JsonReader::PathOf(std::string_view name) const {
    if (path_.empty()) return std::string(name);
    std::string path = path_;
    path += '.';
    path += name;
    return path;
}

void JsonReader::FailPath(std::string path, std::string message) {
    if (state_->error) return;
    state_->error =
        core::MakeError(core::ErrorCode::kInvalidArgument, std::move(message), std::move(path));
}

void JsonReader::Fail(std::string_view name, std::string message) {
    FailPath(PathOf(name), std::move(message));
}

bool JsonReader::Has(std::string_view name) {
    if (node_ == nullptr || !node_->is_object()) return false;
    auto it = node_->find(name);
    if (it == node_->end()) return false;
    if (it->is_null()) {
        Find(name, false);  // records the null
        return false;
    }
    return true;
}

const Json* JsonReader::Find(std::string_view name, bool required, bool nullable) {
    if (!ok() || node_ == nullptr || !node_->is_object()) return nullptr;
    auto it = node_->find(name);
    if (it == node_->end()) {
        if (required) Fail(name, PathOf(name) + " is required");
        return nullptr;
    }
    if (it->is_null()) {
        if (!nullable) {
            Fail(name, PathOf(name) + " must not be null: give a value or leave the field out");
        }
        return nullptr;
    }
    return &*it;
}

std::optional<std::string> JsonReader::OptionalString(std::string_view name) {
    const Json* value = Find(name, false);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) {
        Fail(name, PathOf(name) + " must be a string");
        return std::nullopt;
    }
    return value->get<std::string>();
}

std::optional<std::string> JsonReader::OptionalNullableString(std::string_view name) {
    if (Find(name, false, /*nullable=*/true) == nullptr) return std::nullopt;
    return OptionalString(name);
}

std::string JsonReader::RequiredString(std::string_view name) {
    if (Find(name, true) == nullptr) return {};
    return OptionalString(name).value_or(std::string());
}

std::optional<int64_t> JsonReader::ToInt(const Json& value, std::string_view name) {
    if (value.is_number_unsigned()) {
        auto v = value.get<uint64_t>();
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            Fail(name, PathOf(name) + " is too large");
            return std::nullopt;
        }
        return static_cast<int64_t>(v);
    }
    if (value.is_number_integer()) return value.get<int64_t>();
    Fail(name, PathOf(name) + " must be an integer");
    return std::nullopt;
}

std::optional<int64_t> JsonReader::OptionalInt(std::string_view name) {
    const Json* value = Find(name, false);
    if (value == nullptr) return std::nullopt;
    return ToInt(*value, name);
}

int64_t JsonReader::RequiredInt(std::string_view name) {
    if (Find(name, true) == nullptr) return 0;
    return OptionalInt(name).value_or(0);
}

std::optional<bool> JsonReader::OptionalBool(std::string_view name) {
    const Json* value = Find(name, false);
    if (value == nullptr) return std::nullopt;
    if (!value->is_boolean()) {
        Fail(name, PathOf(name) + " must be true or false");
        return std::nullopt;
    }
    return value->get<bool>();
}

bool JsonReader::IsString(std::string_view name) {
    const Json* value = Find(name, false);
    return value != nullptr && value->is_string();
}

std::optional<core::Timestamp> JsonReader::OptionalTime(std::string_view name) {
    const Json* value = Find(name, false);
    if (value == nullptr) return std::nullopt;
    std::string path = PathOf(name);
    if (!value->is_string()) {
        FailPath(path, path + " must be an RFC 3339 time such as \"2026-11-22T15:04:05Z\"");
        return std::nullopt;
    }
    auto parsed = core::ParseRfc3339(value->get_ref<const std::string&>(), path);
    if (!parsed) {
        FailPath(path, parsed.error().message);
        return std::nullopt;
    }
    return *parsed;
}

core::Timestamp JsonReader::RequiredTime(std::string_view name) {
    if (Find(name, true) == nullptr) return core::Timestamp{};
    return OptionalTime(name).value_or(core::Timestamp{});
}

std::optional<int64_t> JsonReader::ToMilli(const Json& value, const std::string& path) {
    std::string problem = path + " must be a number with at most 3 decimals, such as 1.5";
    if (value.is_number_integer() || value.is_number_unsigned()) {
        // Multipliers are small; anything beyond a million times is refused as out of range.
        bool in_range = value.is_number_unsigned() ? value.get<uint64_t>() <= 1'000'000
                                                   : value.get<int64_t>() >= -1'000'000 &&
                                                         value.get<int64_t>() <= 1'000'000;
        if (!in_range) {
            FailPath(path, path + " is out of range");
            return std::nullopt;
        }
        return value.get<int64_t>() * 1000;
    }
    if (!value.is_number_float()) {
        FailPath(path, problem);
        return std::nullopt;
    }
    double v = value.get<double>();
    if (!std::isfinite(v) || std::fabs(v) > 1'000'000) {
        FailPath(path, path + " is out of range");
        return std::nullopt;
    }
    double scaled = v * 1000.0;
    double rounded = std::round(scaled);
    // Doubles near 1.5 or 0.125 are exact to ~1e-13 after scaling; a fourth decimal moves the
    // scaled value by at least 0.1.
    if (std::fabs(scaled - rounded) > 1e-6) {
        FailPath(path, problem);
        return std::nullopt;
    }
    return static_cast<int64_t>(rounded);
}

std::optional<int64_t> JsonReader::OptionalMilli(std::string_view name) {
    const Json* value = Find(name, false);
    if (value == nullptr) return std::nullopt;
    return ToMilli(*value, PathOf(name));
}

std::map<std::string, int64_t> JsonReader::OptionalMilliMap(std::string_view name) {
    std::map<std::string, int64_t> result;
    const Json* value = Find(name, false);
    if (value == nullptr) return result;
    if (!value->is_object()) {
        Fail(name, PathOf(name) + " must be an object such as {\"books\": 2}");
        return result;
    }
    for (auto it = value->begin(); it != value->end() && ok(); ++it) {
        auto milli = ToMilli(it.value(), PathOf(name) + "." + it.key());
        if (milli) result[it.key()] = *milli;
    }
    return result;
}

std::vector<std::string> JsonReader::OptionalStringArray(std::string_view name) {
    std::vector<std::string> result;
    const Json* value = Find(name, false);
    if (value == nullptr) return result;
    if (!value->is_array()) {
        Fail(name, PathOf(name) + " must be an array of strings");
        return result;
    }
    for (std::size_t i = 0; i < value->size(); ++i) {
        const Json& element = (*value)[i];
        if (!element.is_string()) {
            std::string path = PathOf(name) + "[" + std::to_string(i) + "]";
            FailPath(path, path + " must be a string");
            return {};
        }
        result.push_back(element.get<std::string>());
    }
    return result;
}

std::optional<JsonReader> JsonReader::Object(std::string_view name, bool required) {
    const Json* value = Find(name, required);
    if (value == nullptr) return std::nullopt;
    if (!value->is_object()) {
        Fail(name, PathOf(name) + " must be an object");
        return std::nullopt;
    }
    return JsonReader(state_, value, PathOf(name));
}

std::vector<JsonReader> JsonReader::ObjectArray(std::string_view name, bool required) {
    std::vector<JsonReader> result;
    const Json* value = Find(name, required);
    if (value == nullptr) return result;
    if (!value->is_array()) {
        Fail(name, PathOf(name) + " must be an array of objects");
        return result;
    }
    for (std::size_t i = 0; i < value->size(); ++i) {
        std::string path = PathOf(name) + "[" + std::to_string(i) + "]";
        const Json& element = (*value)[i];
        if (!element.is_object()) {
            FailPath(path, path + " must be an object");
            return {};
        }
        result.push_back(JsonReader(state_, &element, std::move(path)));
    }
    return result;
}

}  // namespace kizuna::http
