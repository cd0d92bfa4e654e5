#pragma once
// Strict reading of a JSON request body into plain values. A reader remembers the first problem
// it meets, named by the field's full path ("lines[1].quantity must be an integer"), and keeps
// returning defaults after it, so a handler reads every field in a row and checks ok() once.
// Unknown fields are ignored. JSON null is refused ("must not be null", naming the field) except
// where a field is declared nullable in openapi.json and read with a *Nullable method here: a
// client generated from the document sends null only where it was told it may.
// Thread-safety: one reader (and the readers it hands out) per request.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"
#include "http/json.hpp"

namespace kizuna::http {

class JsonReader {
  public:
    // Parses a request body that must be one JSON object, nested at most kMaxDepth deep.
    // Malformed JSON, another type or an empty body put the reader in error (field "body").
    static JsonReader ParseBody(std::string_view body);
    static constexpr int kMaxDepth = 32;

    bool ok() const { return !state_->error.has_value(); }
    // The first problem; only when !ok().
    const core::Error& error() const { return *state_->error; }

    // Present and not null. Present and null records the error "must not be null".
    bool Has(std::string_view name);

    std::string RequiredString(std::string_view name);
    std::optional<std::string> OptionalString(std::string_view name);
    // As OptionalString, for a field declared nullable: null reads as absent.
    std::optional<std::string> OptionalNullableString(std::string_view name);
    int64_t RequiredInt(std::string_view name);
    std::optional<int64_t> OptionalInt(std::string_view name);
    std::optional<bool> OptionalBool(std::string_view name);
    // Whether the field is present and a string (for a field that is a number or a word).
    bool IsString(std::string_view name);
    core::Timestamp RequiredTime(std::string_view name);  // RFC 3339
    std::optional<core::Timestamp> OptionalTime(std::string_view name);
    // A number with at most 3 decimals (2, 1.5, 0.125) as thousandths (2000, 1500, 125).
    std::optional<int64_t> OptionalMilli(std::string_view name);
    // An object of such numbers, e.g. {"books":2,"food":1.5}.
    std::map<std::string, int64_t> OptionalMilliMap(std::string_view name);
    std::vector<std::string> OptionalStringArray(std::string_view name);

    // A nested object; none when absent (an error too if `required`) or not an object.
    std::optional<JsonReader> Object(std::string_view name, bool required);
    // An array whose elements must all be objects; empty when absent (an error too if
    // `required`) or malformed.
    std::vector<JsonReader> ObjectArray(std::string_view name, bool required);

    // Records a problem with a field of this object (if none was recorded before).
    void Fail(std::string_view name, std::string message);
    // The full path of a field of this object, e.g. "lines[1].quantity".
    std::string PathOf(std::string_view name) const;

  private:
    struct State {
        Json root;
        std::optional<core::Error> error;
    };
    JsonReader(std::shared_ptr<State> state, const Json* node, std::string path)
        : state_(std::move(state)), node_(node), path_(std::move(path)) {}

    // The member, or null when absent or JSON null; records "is required" when absent and
    // `required`, and "must not be null" when null and not `nullable`.
    const Json* Find(std::string_view name, bool required, bool nullable = false);
    void FailPath(std::string path, std::string message);
    std::optional<int64_t> ToInt(const Json& value, std::string_view name);
    std::optional<int64_t> ToMilli(const Json& value, const std::string& path);

    std::shared_ptr<State> state_;
    const Json* node_;
    std::string path_;
};

}  // namespace kizuna::http
