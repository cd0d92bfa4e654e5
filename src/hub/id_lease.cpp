#include "hub/id_lease.hpp"

#include "hub/hub_context.hpp"
#include "hub/sync_service.hpp"

namespace kizuna::hub {
namespace {

using core::ErrorCode;
using core::MakeError;

// Random ids collide only by bad luck (1 in 10^9 per member id, 10^11 per card number); a few
// retries make a failure practically impossible while still ending if the space is exhausted.
constexpr int kIdAttempts = 16;

// A fresh id from `generate` that `taken` (id -> Result<bool>) does not know.
template <typename Generate, typename Taken>
core::Result<std::string> UnusedId(Generate generate, Taken taken, std::string_view what) {
    for (int i = 0; i < kIdAttempts; ++i) {
        std::string id = generate();
        KZ_ASSIGN_OR_RETURN(bool is_taken, taken(id));
        if (!is_taken) return id;
    }
    return MakeError(ErrorCode::kInternal, "could not find an unused " + std::string(what));
}

}  // namespace

core::Result<std::string> UnusedMemberId(HubContext& context, storage::WriteTxn& txn) {
    return UnusedId([&] { return context.NewMemberId(); },
                    [&](const std::string& id) -> core::Result<bool> {
                        KZ_ASSIGN_OR_RETURN(bool exists, txn.MemberExists(id));
                        if (exists) return true;
                        KZ_ASSIGN_OR_RETURN(auto lease, txn.FindIdLease(kLeaseMemberId, id));
                        return lease.has_value();
                    },
                    "member id");
}

core::Result<std::string> UnusedCardNumber(HubContext& context, storage::WriteTxn& txn) {
    return UnusedId([&] { return context.NewCardNumber(); },
                    [&](const std::string& number) -> core::Result<bool> {
                        KZ_ASSIGN_OR_RETURN(auto card, txn.FindCard(number));
                        if (card) return true;
                        KZ_ASSIGN_OR_RETURN(auto lease, txn.FindIdLease(kLeaseCardNumber, number));
                        return lease.has_value();
                    },
                    "card number");
}

core::Result<std::vector<std::string>> LeaseIds(HubContext& context, storage::WriteTxn& txn,
                                                std::string_view kind, int count,
                                                const std::string& store_id, core::Timestamp now) {
    if (kind != kLeaseMemberId && kind != kLeaseCardNumber) {
        return MakeError(ErrorCode::kInvalidArgument, "kind must be member_id or card_number",
                         "kind");
    }
    if (count < 1 || count > kMaxLeaseCount) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "count must be 1.." + std::to_string(kMaxLeaseCount), "count");
    }
    std::vector<std::string> values;
    values.reserve(count);
    for (int i = 0; i < count; ++i) {
        std::string value;
        if (kind == kLeaseMemberId) {
            KZ_ASSIGN_OR_RETURN(value, UnusedMemberId(context, txn));
        } else {
            KZ_ASSIGN_OR_RETURN(value, UnusedCardNumber(context, txn));
        }
        // The lease's primary key (kind, value) is the final word: a value two units picked at
        // once is leased by one of them only (the writer runs units one at a time).
        KZ_RETURN_IF_ERROR(txn.InsertIdLease(
            storage::IdLease{std::string(kind), value, store_id, now, std::nullopt}));
        values.push_back(std::move(value));
    }
    return values;
}

}  // namespace kizuna::hub
