#pragma once
// What every service shares: storage, clock, randomness, the card signer and the caches of
// things every request needs and that rarely change (API key -> store, store -> rules).
// Internal to src/hub.
//
// Thread-safety: every method may be called from any thread. The caches hold only what storage
// returned; a writer that changes a store or its rule calls Invalidate* after its commit, and a
// read that raced with that invalidation does not refill the cache with what it read (each
// cache keeps a generation counter), so a stale value never outlives an invalidation.
// The caches are per process: with several hub processes on one PostgreSQL database, a rule
// change is seen by the other processes only after their restart.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/card.hpp"
#include "core/earning_rule.hpp"
#include "core/offer.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "core/store.hpp"
#include "core/time.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext {
  public:
    HubContext(storage::Storage& storage, const core::Clock& clock, core::Random& random,
               std::string operator_token_digest, std::string card_public_key,
               std::string card_secret_key);

    storage::Storage& storage() { return storage_; }
    core::Timestamp Now() const { return clock_.Now(); }
    // Thread-safe wrapper over the injected Random.
    uint64_t Uniform(uint64_t upper_bound);
    std::string NewOpaqueId(std::string_view prefix);
    std::string NewMemberId();
    std::string NewCardNumber();

    const std::string& operator_token_digest() const { return operator_token_digest_; }
    const std::string& card_public_key() const { return card_public_key_; }
    // Signs a card record with the hub's key; returns the record's text form ("KZ1....").
    // Errors: kInternal when the card's fields cannot be encoded (a bug, not user input).
    core::Result<std::string> SignCardRecord(const core::Card& card);
    // Encrypts and authenticates `payload` under a key derived from the hub's secret and
    // `context`, as base64url text: tokens only this hub can read or have made.
    std::string SealToken(std::string_view payload, std::string_view context) const;
    // The payload of a token SealToken made with the same context; none for anything else.
    std::optional<std::string> UnsealToken(std::string_view token, std::string_view context) const;

    // Cached reads; storage is asked once, then again only after Invalidate*. Only stores that
    // exist are cached, so an unknown key costs one read each time.
    core::Result<std::optional<core::Store>> StoreByKeyHash(const std::string& hash);
    core::Result<std::optional<core::Store>> StoreById(const std::string& store_id);
    // Every version of the store's rule, oldest first (empty for an unknown store).
    core::Result<std::vector<core::EarningRule>> RulesOf(const std::string& store_id);
    // The store's offers that multiply points (not withdrawn), for the earning rule of its
    // purchases (core::WithOfferMultipliers).
    core::Result<std::vector<core::Offer>> MultiplierOffersOf(const std::string& store_id);

    // The same reads without a copy, for every request's path (authentication, purchases): the
    // cached value itself, shared and immutable (an invalidation replaces it, so a holder keeps
    // the value it was given). Null for an unknown store (no rule version for RulesRef).
    using StoreRef = std::shared_ptr<const core::Store>;
    core::Result<StoreRef> StoreRefByKeyHash(const std::string& hash);
    core::Result<StoreRef> StoreRefById(const std::string& store_id);
    core::Result<std::shared_ptr<const std::vector<core::EarningRule>>> RulesRef(
        const std::string& store_id);
    core::Result<std::shared_ptr<const std::vector<core::Offer>>> MultiplierOffersRef(
        const std::string& store_id);
    void InvalidateStore(const std::string& store_id);
    void InvalidateRules(const std::string& store_id);
    void InvalidateOffers(const std::string& store_id);

  private:
    template <typename Value>
    using Cache = std::unordered_map<std::string, std::shared_ptr<const Value>>;
    // The cache protocol shared by the lookups above: a hit under the lock; on a miss `read`
    // (ReadTxn& -> Result<std::optional<Value>>, none for "nothing there", which is not cached)
    // on a snapshot, kept unless `generation` moved meanwhile.
    template <typename Value, typename ReadFn>
    core::Result<std::shared_ptr<const Value>> CachedRead(Cache<Value>& cache,
                                                          const uint64_t& generation,
                                                          const std::string& key, ReadFn read);

    storage::Storage& storage_;
    const core::Clock& clock_;
    std::mutex random_mutex_;
    core::Random& random_;
    std::string operator_token_digest_;
    std::string card_public_key_;
    std::string card_secret_key_;

    std::mutex cache_mutex_;
    uint64_t store_generation_ = 0;   // bumped by InvalidateStore
    uint64_t rules_generation_ = 0;   // bumped by InvalidateRules
    uint64_t offers_generation_ = 0;  // bumped by InvalidateOffers
    Cache<core::Store> stores_by_key_;
    Cache<core::Store> stores_by_id_;
    Cache<std::vector<core::EarningRule>> rules_by_store_;
    Cache<std::vector<core::Offer>> multiplier_offers_by_store_;
};

}  // namespace kizuna::hub
