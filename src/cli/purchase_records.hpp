#pragma once
// A person's purchases as the hub records them (GET /v1/members/{id} and .../usage), printed as a
// table for the store's customer lookup and the member's own usage: each purchase with what
// became of it — refunds, points used at checkout, a void — so that a voided sale reads as
// voided with its points undone, never as a live sale. Not thread-safe (writes to `out`).

#include <cstddef>
#include <iosfwd>

#include <nlohmann/json.hpp>

namespace kizuna::cli {

// The first `most` purchases of the array (0: all), in its order; "No purchases." when empty.
// Fields an older hub does not send fall back to the purchase's own figures.
void PrintPurchaseRecords(std::ostream& out, const nlohmann::json& purchases, std::size_t most = 0);

}  // namespace kizuna::cli
