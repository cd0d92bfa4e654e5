#pragma once
// Where a command gets a member's password: from the terminal without echo (asked twice when a
// new password is being set), from the first line of standard input (--password-stdin, for
// scripts), or, only if the user insists, from --password (visible in `ps`; a warning says so).
// Thread-safety: touches the process's terminal; call from the main thread.

#include <iosfwd>
#include <string>

#include "core/result.hpp"

namespace kizuna::cli {

struct PasswordOptions {
    bool from_stdin = false;  // --password-stdin
    std::string plain;        // --password (discouraged)
};

// Reads one line (without its line ending). Errors: kInvalidArgument at end of input or for an
// empty line.
core::Result<std::string> ReadPasswordLine(std::istream& in);

// Asks on the controlling terminal (/dev/tty) with echo off. With `confirm`, asks again and
// insists the two match. Errors: kInvalidArgument when there is no terminal (use
// --password-stdin), when the answers differ, or when the password is empty.
core::Result<std::string> PromptPassword(const std::string& prompt, bool confirm);

// Applies PasswordOptions in order: --password, --password-stdin, then the terminal prompt.
core::Result<std::string> ObtainPassword(const PasswordOptions& options, const std::string& prompt,
                                         bool confirm);

}  // namespace kizuna::cli
