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

std::string HubContext::SealToken(std::string_view payload, std::string_view context) const {
    return core::Base64UrlEncode(crypto::Seal(payload, card_secret_key_, context));
}

std::optional<std::string> HubContext::UnsealToken(std::string_view token,
                                                   std::string_view context) const {
    auto sealed = core::Base64UrlDecode(token);
    if (!sealed) return std::nullopt;
    return crypto::Unseal(*sealed, card_secret_key_, context);
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

template <typename Value, typename ReadFn>
core::Result<std::shared_ptr<const Value>> HubContext::CachedRead(Cache<Value>& cache,
                                                                  const uint64_t& generation,
                                                                  const std::string& key,
                                                                  ReadFn read) {
    uint64_t generation_before;
    {
        std::lock_guard lock(cache_mutex_);
        if (auto it = cache.find(key); it != cache.end()) return it->second;
        generation_before = generation;
    }
    std::optional<Value> found;
    KZ_RETURN_IF_ERROR(storage_.Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(found, read(txn));
        return core::Status::Ok();
    }));
    if (!found) return std::shared_ptr<const Value>();
    auto value = std::make_shared<const Value>(std::move(*found));
    std::lock_guard lock(cache_mutex_);
    // An invalidation since the read began means `found` may be stale: do not keep it.
    if (generation == generation_before) cache.emplace(key, value);
    return value;
}

core::Result<HubContext::StoreRef> HubContext::StoreRefByKeyHash(const std::string& hash) {
    return CachedRead<core::Store>(
        stores_by_key_, store_generation_, hash,
        [&](storage::ReadTxn& txn) { return txn.FindStoreByKeyHash(hash); });
}

core::Result<HubContext::StoreRef> HubContext::StoreRefById(const std::string& store_id) {
    return CachedRead<core::Store>(stores_by_id_, store_generation_, store_id,
                                   [&](storage::ReadTxn& txn) { return txn.FindStore(store_id); });
}

core::Result<std::shared_ptr<const std::vector<core::EarningRule>>> HubContext::RulesRef(
    const std::string& store_id) {
    return CachedRead<std::vector<core::EarningRule>>(
        rules_by_store_, rules_generation_, store_id,
        [&](storage::ReadTxn& txn) -> core::Result<std::optional<std::vector<core::EarningRule>>> {
            KZ_ASSIGN_OR_RETURN(auto versions, txn.RuleVersions(store_id));
            if (versions.empty()) return std::optional<std::vector<core::EarningRule>>();
            return std::optional(std::move(versions));
        });
}

core::Result<std::shared_ptr<const std::vector<core::Offer>>> HubContext::MultiplierOffersRef(
    const std::string& store_id) {
    // Cached even when empty: most stores have none, and every purchase asks.
    return CachedRead<std::vector<core::Offer>>(
        multiplier_offers_by_store_, offers_generation_, store_id,
        [&](storage::ReadTxn& txn) -> core::Result<std::optional<std::vector<core::Offer>>> {
            KZ_ASSIGN_OR_RETURN(auto offers, txn.MultiplierOffersOf(store_id, core::Timestamp{}));
            return std::optional(std::move(offers));
        });
}

namespace {

template <typename Value>
std::optional<Value> CopyOf(const std::shared_ptr<const Value>& ref) {
    return ref ? std::optional<Value>(*ref) : std::nullopt;
}

}  // namespace

core::Result<std::optional<core::Store>> HubContext::StoreByKeyHash(const std::string& hash) {
    KZ_ASSIGN_OR_RETURN(auto store, StoreRefByKeyHash(hash));
    return CopyOf(store);
}

core::Result<std::optional<core::Store>> HubContext::StoreById(const std::string& store_id) {
    KZ_ASSIGN_OR_RETURN(auto store, StoreRefById(store_id));
    return CopyOf(store);
}

core::Result<std::vector<core::EarningRule>> HubContext::RulesOf(const std::string& store_id) {
    KZ_ASSIGN_OR_RETURN(auto rules, RulesRef(store_id));
    return rules ? *rules : std::vector<core::EarningRule>();
}

core::Result<std::vector<core::Offer>> HubContext::MultiplierOffersOf(const std::string& store_id) {
    KZ_ASSIGN_OR_RETURN(auto offers, MultiplierOffersRef(store_id));
    return offers ? *offers : std::vector<core::Offer>();
}

void HubContext::InvalidateOffers(const std::string& store_id) {
    std::lock_guard lock(cache_mutex_);
    ++offers_generation_;
    multiplier_offers_by_store_.erase(store_id);
}

void HubContext::InvalidateStore(const std::string& store_id) {
    std::lock_guard lock(cache_mutex_);
    ++store_generation_;
    stores_by_id_.erase(store_id);
    std::erase_if(stores_by_key_, [&](const auto& kv) { return kv.second->store_id == store_id; });
}

void HubContext::InvalidateRules(const std::string& store_id) {
    std::lock_guard lock(cache_mutex_);
    ++rules_generation_;
    rules_by_store_.erase(store_id);
}

}  // namespace kizuna::hub
