#pragma once
// The one assertion of the fuzz targets: a property that must hold for every input. When it
// does not, the target says which and aborts, and libFuzzer keeps the input as a crash.

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(condition, message)                                                       \
    do {                                                                                     \
        if (!(condition)) {                                                                  \
            std::fprintf(stderr, "fuzz check failed at %s:%d: %s: %s\n", __FILE__, __LINE__, \
                         #condition, std::string(message).c_str());                          \
            std::abort();                                                                    \
        }                                                                                    \
    } while (false)
