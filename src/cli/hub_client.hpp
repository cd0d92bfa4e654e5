#pragma once
// The client commands' connection to the hub: pos::HubClient (src/pos/hub_client.hpp, shared
// with the store node, which forwards and syncs through it), named here for the cli code, and
// the exit code a failure maps to.

#include "cli/exit_codes.hpp"
#include "pos/hub_client.hpp"

namespace kizuna::cli {

using pos::FailureKind;
using pos::HubAnswer;
using pos::HubClient;
using pos::HubClientOptions;
using pos::HubFailure;

// kExitRefused when the hub answered with an error, else kExitUnreachable.
inline int ExitCodeOf(const HubFailure& failure) {
    return failure.kind == FailureKind::kRefused ? kExitRefused : kExitUnreachable;
}

}  // namespace kizuna::cli
