#pragma once
// Fresh member ids and card numbers, and their leases to store nodes. An id leased to a store
// (table id_leases) is reserved for that store's node to hand out offline: the hub's own
// enrollment never picks one, and no other store is leased it. Internal to src/hub.
// Thread-safety: pure functions of their arguments; the txn belongs to one unit of work.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext;

inline constexpr std::string_view kLeaseMemberId = "member_id";
inline constexpr std::string_view kLeaseCardNumber = "card_number";

// A fresh member id (card number) that no member (card) has and no store holds a lease on.
// Errors: kInternal after many collisions (the id space is exhausted), those of storage.
core::Result<std::string> UnusedMemberId(HubContext& context, storage::WriteTxn& txn);
core::Result<std::string> UnusedCardNumber(HubContext& context, storage::WriteTxn& txn);

// Leases `count` fresh values of `kind` (kLeaseMemberId or kLeaseCardNumber) to the store, in
// the caller's unit of work. Errors: kInvalidArgument (kind, count 1..kMaxLeaseCount), storage.
core::Result<std::vector<std::string>> LeaseIds(HubContext& context, storage::WriteTxn& txn,
                                                std::string_view kind, int count,
                                                const std::string& store_id, core::Timestamp now);

}  // namespace kizuna::hub
