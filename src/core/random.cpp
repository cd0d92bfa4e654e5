#include "core/random.hpp"

namespace kizuna::core {

std::string RandomDigits(Random& random, int digits) {
    std::string out;
    if (digits <= 0) return out;
    out.reserve(static_cast<std::size_t>(digits));
    out.push_back(static_cast<char>('1' + random.Uniform(9)));
    for (int i = 1; i < digits; ++i) out.push_back(static_cast<char>('0' + random.Uniform(10)));
    return out;
}

}  // namespace kizuna::core
