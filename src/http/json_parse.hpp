#pragma once
// Parsing a request body into the Json DOM, faster than the JSON library's own parser (which
// copies every character into two buffers for its diagnostics, reads numbers through strtoull
// and grows each object one member at a time): about a third of an I/O thread's work on a
// purchase, before this. The result is exactly the library's: the same documents are accepted
// (RFC 8259, UTF-8 checked, a leading byte-order mark skipped, no comments, a NUL byte after the
// value ending the input), with the same types
// (a non-negative integer is unsigned, a negative one signed, either as a float when it does not
// fit in 64 bits), the same values and member order (a repeated key keeps its first place and
// its last value). A differential test checks both on many generated and mutated inputs.
// Nesting is not limited here: the caller bounds it first (JsonReader::kMaxDepth).
// Thread-safety: a pure function.

#include <string_view>

#include "http/json.hpp"

namespace kizuna::http {

// `text` as one JSON value into `out`; false (and `out` unspecified) when it is not valid JSON.
bool ParseJson(std::string_view text, Json& out);

}  // namespace kizuna::http
