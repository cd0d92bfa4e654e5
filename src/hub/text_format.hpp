#pragma once
// Numbers in the words of ledger notes ("Purchase 1,980 JPY at Shibuya Books"). Internal to
// src/hub; pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace kizuna::hub {

// 1980 -> "1,980"; -12345 -> "-12,345".
std::string GroupThousands(int64_t value);
// An amount in the currency's minor unit, in its major unit with the ISO 4217 number of
// decimals: (1980, "JPY") -> "1,980 JPY"; (1980, "USD") -> "19.80 USD"; (1980, "KWD") ->
// "1.980 KWD".
std::string FormatMoney(int64_t minor_units, std::string_view currency);

}  // namespace kizuna::hub
