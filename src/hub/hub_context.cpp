#include "hub/hub_context.hpp"

#include <utility>

#include "core/card_record.hpp"
#include "core/ids.hpp"
#include "crypto/crypto.hpp"

namespace kizuna::hub {

HubContext::HubContext(storage::Storage& storage, const core::Clock& clock, core::Random& random,
                       std::string operator_token_digest, std::string card_public_key,
                       std::string card_secret_key)
    : storage_(storage),
      clock_(clock),
      random_(random),
      operator_token_digest_(std::move(operator_token_digest)),
      card_public_key_(std::move(card_public_key)),
      card_secret_key_(std::move(card_secret_key)) {}

uint64_t HubContext::Uniform(uint64_t upper_bound) {
    std::lock_guard lock(random_mutex_);
    return random_.Uniform(upper_bound);
}

std::string HubContext::NewOpaqueId(std::string_view prefix) {
    std::lock_guard lock(random_mutex_);
    return core::NewOpaqueId(random_, prefix);
}

std::string HubContext::NewMemberId() {
    std::lock_guard lock(random_mutex_);
    return core::NewMemberId(random_);
}

std::string HubContext::NewCardNumber() {
    std::lock_guard lock(random_mutex_);
    return core::NewCardNumber(random_);
}

core::Result<std::string> HubContext::SignCardRecord(const core::Card& card) {
    core::CardRecord record;
    record.card_number = card.card_number;
    record.member_id = card.member_id;
    record.generation = card.generation;
    record.issued_at = card.issued_at;
    record.issuing_store = card.issued_by_store;
    auto portion = core::SignedPortion(record);
    if (!portion) {
        return core::MakeError(core::ErrorCode::kInternal,
                               "cannot encode card record: " + portion.error().message);
    }
    record.signature = crypto::Sign(*portion, card_secret_key_);
    return core::CardRecordToText(record);
}

core::Result<std::optional<core::Store>> HubContext::StoreByKeyHash(const std::string& hash) {
    uint64_t generation;
    {
        std::lock_guard lock(cache_mutex_);
        if (auto it = stores_by_key_.find(hash); it != stores_by_key_.end()) {
            return std::optional<core::Store>(it->second);
        }
        generation = store_generation_;
    }
    std::optional<core::Store> found;
    KZ_RETURN_IF_ERROR(storage_.Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(found, txn.FindStoreByKeyHash(hash));
        return core::Status::Ok();
    }));
    if (found) {
        std::lock_guard lock(cache_mutex_);
        if (generation == store_generation_) stores_by_key_.emplace(hash, *found);
    }
    return found;
}

core::Result<std::optional<core::Store>> HubContext::StoreById(const std::string& store_id) {
    uint64_t generation;
    {
        std::lock_guard lock(cache_mutex_);
        if (auto it = stores_by_id_.find(store_id); it != stores_by_id_.end()) {
            return std::optional<core::Store>(it->second);
        }
        generation = store_generation_;
    }
    std::optional<core::Store> found;
    KZ_RETURN_IF_ERROR(storage_.Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(found, txn.FindStore(store_id));
        return core::Status::Ok();
    }));
    if (found) {
        std::lock_guard lock(cache_mutex_);
        if (generation == store_generation_) stores_by_id_.emplace(store_id, *found);
    }
    return found;
}

core::Result<std::vector<core::EarningRule>> HubContext::RulesOf(const std::string& store_id) {
    uint64_t generation;
    {
        std::lock_guard lock(cache_mutex_);
        if (auto it = rules_by_store_.find(store_id); it != rules_by_store_.end()) {
            return it->second;
        }
        generation = rules_generation_;
    }
    std::vector<core::EarningRule> versions;
    KZ_RETURN_IF_ERROR(storage_.Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(versions, txn.RuleVersions(store_id));
        return core::Status::Ok();
    }));
    if (!versions.empty()) {
        std::lock_guard lock(cache_mutex_);
        if (generation == rules_generation_) rules_by_store_.emplace(store_id, versions);
    }
    return versions;
}

void HubContext::InvalidateStore(const std::string& store_id) {
    std::lock_guard lock(cache_mutex_);
    ++store_generation_;
    stores_by_id_.erase(store_id);
    std::erase_if(stores_by_key_, [&](const auto& kv) { return kv.second.store_id == store_id; });
}

void HubContext::InvalidateRules(const std::string& store_id) {
    std::lock_guard lock(cache_mutex_);
    ++rules_generation_;
    rules_by_store_.erase(store_id);
}

}  // namespace kizuna::hub
