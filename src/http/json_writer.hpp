#pragma once
// Compact JSON text written straight into a string, for answers on the hot path that would
// otherwise build an nlohmann DOM only to serialize it (the member usage answer). The bytes are
// exactly those DumpJson (json.hpp) gives for the same document: keys in the order written,
// integers in decimal, strings with the same escapes (\" \\ \b \f \n \r \t, other control
// characters as \u00xx) and UTF-8 passed through; text that is not valid UTF-8 (which validated
// data never holds) goes through DumpJson itself, so even its replacement characters match.
//
// The writer places the commas; the caller pairs Begin/End and gives a Key before each value
// inside an object. Ownership: the writer owns the text until Take. Thread-safety: none.

#include <cstdint>
#include <string>
#include <string_view>

namespace kizuna::http {

class JsonWriter {
  public:
    // `reserve`: bytes to allocate up front, a guess at the length of the document.
    explicit JsonWriter(std::size_t reserve = 0) { out_.reserve(reserve); }

    void BeginObject() { Open('{'); }
    void EndObject() { Close('}'); }
    void BeginArray() { Open('['); }
    void EndArray() { Close(']'); }

    // The key of the next value, inside an object.
    void Key(std::string_view key);
    void String(std::string_view value);
    void Int(int64_t value);
    void Bool(bool value);

    // Key then value, the common case.
    void Field(std::string_view key, std::string_view value) {
        Key(key);
        String(value);
    }
    void Field(std::string_view key, const char* value) { Field(key, std::string_view(value)); }
    void Field(std::string_view key, const std::string& value) {
        Field(key, std::string_view(value));
    }
    void Field(std::string_view key, int64_t value) {
        Key(key);
        Int(value);
    }
    void Field(std::string_view key, int value) { Field(key, static_cast<int64_t>(value)); }

    // The document written so far; the writer is empty afterwards.
    std::string Take() {
        need_comma_ = false;
        return std::move(out_);
    }

  private:
    // A comma goes before every key or value except the first in its container and a value
    // right after its key.
    void BeforeValue() {
        if (need_comma_) out_ += ',';
    }
    void Open(char bracket) {
        BeforeValue();
        out_ += bracket;
        need_comma_ = false;
    }
    void Close(char bracket) {
        out_ += bracket;
        need_comma_ = true;
    }
    void AppendQuoted(std::string_view text);

    std::string out_;
    bool need_comma_ = false;
};

}  // namespace kizuna::http
