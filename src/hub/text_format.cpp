#include "hub/text_format.hpp"

#include <array>
#include <cstdlib>

namespace kizuna::hub {
namespace {

// ISO 4217 currencies whose minor unit is not 1/100 of the major one.
int MinorDigits(std::string_view currency) {
    static constexpr std::array<std::string_view, 15> kNoDecimals = {
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
        "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF"};
    static constexpr std::array<std::string_view, 7> kThreeDecimals = {"BHD", "IQD", "JOD", "KWD",
                                                                       "LYD", "OMR", "TND"};
    for (auto c : kNoDecimals) {
        if (c == currency) return 0;
    }
    for (auto c : kThreeDecimals) {
        if (c == currency) return 3;
    }
    return 2;
}

}  // namespace

std::string GroupThousands(int64_t value) {
    // Work on the unsigned magnitude so INT64_MIN does not overflow.
    uint64_t magnitude =
        value < 0 ? uint64_t{0} - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
    std::string digits = std::to_string(magnitude);
    std::string out;
    const std::size_t n = digits.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (i > 0 && (n - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return value < 0 ? "-" + out : out;
}

std::string FormatMoney(int64_t minor_units, std::string_view currency) {
    const int decimals = MinorDigits(currency);
    std::string text;
    if (decimals == 0) {
        text = GroupThousands(minor_units);
    } else {
        int64_t scale = decimals == 3 ? 1000 : 100;
        uint64_t magnitude = minor_units < 0 ? uint64_t{0} - static_cast<uint64_t>(minor_units)
                                             : static_cast<uint64_t>(minor_units);
        std::string fraction = std::to_string(magnitude % static_cast<uint64_t>(scale));
        fraction.insert(0, static_cast<std::size_t>(decimals) - fraction.size(), '0');
        text = GroupThousands(static_cast<int64_t>(magnitude / static_cast<uint64_t>(scale)));
        text = (minor_units < 0 ? "-" : "") + text + "." + fraction;
    }
    return text + " " + std::string(currency);
}

}  // namespace kizuna::hub
