#pragma once
// The process exit codes every `kizuna` command uses, so scripts can tell failures apart.

namespace kizuna::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;        // the hub answered with an error
inline constexpr int kExitUsage = 2;          // bad command line or input
inline constexpr int kExitUnreachable = 3;    // no answer from the hub, or a local I/O error
inline constexpr int kExitInterrupted = 130;  // Ctrl-C before the work was done (128 + SIGINT)

}  // namespace kizuna::cli
