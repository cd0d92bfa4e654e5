#pragma once
// UTF-8 text checks shared by every validator: Japanese and English names, addresses, offers.

#include <cstddef>
#include <string>
#include <string_view>

namespace kizuna::core {

bool IsValidUtf8(std::string_view text);
// Number of code points; text must be valid UTF-8.
std::size_t CodePointCount(std::string_view text);
// True when the text contains C0/C1 control characters other than the allowed ones.
bool HasControlCharacters(std::string_view text, bool allow_newlines);
// Strips leading and trailing ASCII and ideographic (U+3000) spaces.
std::string Trim(std::string_view text);

}  // namespace kizuna::core
