#pragma once
// Identifiers a person types or reads aloud: member ids and card numbers carry check digits so
// a mistyped digit is caught before any lookup.

#include <string>
#include <string_view>

#include "core/random.hpp"

namespace kizuna::core {

// Luhn (ISO/IEC 7812) check digit over a string of decimal digits; '\0' if the input holds
// anything but digits. The *Valid functions are false for fewer than 2 characters or non-digits.
char LuhnCheckDigit(std::string_view digits_without_check);
bool LuhnValid(std::string_view digits_with_check);

// Damm check digit: catches every single-digit error and every adjacent transposition; '\0' if
// the input holds anything but digits.
char DammCheckDigit(std::string_view digits_without_check);
bool DammValid(std::string_view digits_with_check);

// Member id: 10 decimal digits, 9 random (first non-zero) + a Damm check digit.
std::string NewMemberId(Random& random);
bool IsValidMemberId(std::string_view text);

// Card number: 16 digits = kCardPrefix + random digits + a Luhn check digit.
inline constexpr std::string_view kCardPrefix = "9810";
std::string NewCardNumber(Random& random);
bool IsValidCardNumber(std::string_view text);
// Why `text` is not a card number, in words a person can act on: a 16-digit number whose check
// digit does not match says "check digit" (a digit is mistyped); anything else says what a card
// number looks like. Empty for a valid card number.
std::string CardNumberProblem(std::string_view text);

// Opaque ids for stores, programs, offers, reservations: a prefix and 16 random lowercase
// base32 characters, e.g. "st_k3j2...". Not typed by people, so no check digit.
std::string NewOpaqueId(Random& random, std::string_view prefix);

}  // namespace kizuna::core
