#pragma once
// The one JSON string escaper: text written as a JSON string literal, for the writers that make
// JSON text without a JSON library on the hot path (http::JsonWriter, the dispatch items). A pure
// string function, so core keeps its rule of no I/O and no JSON library.

#include <string>
#include <string_view>

namespace kizuna::core {

// Appends `text` to `out` in double quotes with exactly the escapes nlohmann's dump() writes:
// \" \\ \b \f \n \r \t, every other control character below U+0020 as \u00xx (lower-case hex),
// and everything else, U+007F, '/', U+2028 and U+2029 included, as it is. One pass over the
// text that checks it is well-formed UTF-8 (no overlong forms, surrogates or code points above
// U+10FFFF) while it copies; no allocation beyond `out` growing.
// Returns false, with `out` as it was, when `text` is not valid UTF-8: the caller decides what
// to write then (the JSON layers hand such text to nlohmann's replacing dump).
[[nodiscard]] bool AppendJsonString(std::string& out, std::string_view text);

}  // namespace kizuna::core
