#include "core/ids.hpp"

#include <array>

namespace kizuna::core {

namespace {

bool AllDigits(std::string_view text) {
    if (text.empty()) return false;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// The weakly totally anti-symmetric quasigroup of order 10 from Damm's thesis (2004).
constexpr std::array<std::array<int, 10>, 10> kDammTable = {{
    {0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
    {7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
    {4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
    {1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
    {6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
    {3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
    {5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
    {8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
    {9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
    {2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}};

int DammInterim(std::string_view digits) {
    int interim = 0;
    for (const char c : digits) interim = kDammTable[interim][c - '0'];
    return interim;
}

// Luhn sum of the digits, doubling every second digit counting from the right when
// `double_rightmost` is set (computing a check digit) or from the one before it (validating).
int LuhnSum(std::string_view digits, bool double_rightmost) {
    int sum = 0;
    bool double_it = double_rightmost;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        int d = *it - '0';
        if (double_it) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
        double_it = !double_it;
    }
    return sum;
}

constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t kMemberIdLength = 10;
constexpr std::size_t kCardNumberLength = 16;
constexpr int kOpaqueIdChars = 16;

}  // namespace

char LuhnCheckDigit(std::string_view digits_without_check) {
    if (!digits_without_check.empty() && !AllDigits(digits_without_check)) return '\0';
    const int sum = LuhnSum(digits_without_check, true);
    return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool LuhnValid(std::string_view digits_with_check) {
    if (digits_with_check.size() < 2 || !AllDigits(digits_with_check)) return false;
    return LuhnSum(digits_with_check, false) % 10 == 0;
}

char DammCheckDigit(std::string_view digits_without_check) {
    if (!digits_without_check.empty() && !AllDigits(digits_without_check)) return '\0';
    return static_cast<char>('0' + DammInterim(digits_without_check));
}

bool DammValid(std::string_view digits_with_check) {
    if (digits_with_check.size() < 2 || !AllDigits(digits_with_check)) return false;
    return DammInterim(digits_with_check) == 0;
}

std::string NewMemberId(Random& random) {
    std::string id = RandomDigits(random, static_cast<int>(kMemberIdLength - 1));
    id.push_back(DammCheckDigit(id));
    return id;
}

bool IsValidMemberId(std::string_view text) {
    return text.size() == kMemberIdLength && DammValid(text);
}

std::string NewCardNumber(Random& random) {
    std::string number(kCardPrefix);
    while (number.size() < kCardNumberLength - 1) {
        number.push_back(static_cast<char>('0' + random.Uniform(10)));
    }
    number.push_back(LuhnCheckDigit(number));
    return number;
}

bool IsValidCardNumber(std::string_view text) {
    return text.size() == kCardNumberLength && text.starts_with(kCardPrefix) && LuhnValid(text);
}

std::string NewOpaqueId(Random& random, std::string_view prefix) {
    std::string id(prefix);
    id.push_back('_');
    for (int i = 0; i < kOpaqueIdChars; ++i) {
        id.push_back(kBase32Alphabet[random.Uniform(kBase32Alphabet.size())]);
    }
    return id;
}

std::string CardNumberProblem(std::string_view text) {
    if (IsValidCardNumber(text)) return {};
    if (text.size() == 16 && text.find_first_not_of("0123456789") == std::string_view::npos) {
        return "the check digit of card number " + std::string(text) +
               " does not match: a digit is mistyped; check the number on the card";
    }
    return "'" + std::string(text) + "' is not a card number (16 digits)";
}

}  // namespace kizuna::core
