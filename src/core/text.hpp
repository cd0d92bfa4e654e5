#pragma once
// UTF-8 text checks shared by every validator: Japanese and English names, addresses, offers.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace kizuna::core {

bool IsValidUtf8(std::string_view text);
// Number of code points; text must be valid UTF-8.
std::size_t CodePointCount(std::string_view text);
// True when the text contains C0/C1 control characters other than the allowed ones.
bool HasControlCharacters(std::string_view text, bool allow_newlines);
// Strips leading and trailing ASCII and ideographic (U+3000) spaces.
std::string Trim(std::string_view text);

// The common check for a free-text field: valid UTF-8, no control characters (tab, LF, CR allowed
// when allow_newlines), min_chars..max_chars code points, and when min_chars > 0 not blank.
// Errors: kInvalidArgument with `field` and a message naming it.
Status CheckText(std::string_view text, std::string_view field, std::size_t min_chars,
                 std::size_t max_chars, bool allow_newlines = false);

}  // namespace kizuna::core
