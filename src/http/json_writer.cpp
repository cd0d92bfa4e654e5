#include "http/json_writer.hpp"

#include <charconv>

#include "core/json_string.hpp"
#include "http/json.hpp"

namespace kizuna::http {

void JsonWriter::Key(std::string_view key) {
    BeforeValue();
    AppendQuoted(key);
    out_ += ':';
    need_comma_ = false;
}

void JsonWriter::String(std::string_view value) {
    BeforeValue();
    AppendQuoted(value);
    need_comma_ = true;
}

void JsonWriter::Int(int64_t value) {
    BeforeValue();
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    (void)ec;  // 24 characters hold any int64_t
    out_.append(digits, end);
    need_comma_ = true;
}

void JsonWriter::Bool(bool value) {
    BeforeValue();
    out_ += value ? "true" : "false";
    need_comma_ = true;
}

void JsonWriter::AppendQuoted(std::string_view text) {
    if (!core::AppendJsonString(out_, text)) out_ += DumpJson(Json(std::string(text)));
}

}  // namespace kizuna::http
