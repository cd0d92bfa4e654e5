#include "hub/login_throttle.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace kizuna::hub {
namespace {

std::string PairKey(const std::string& account, const std::string& client) {
    return account + '\n' + client;
}

// "2026-12-07 19:15:03 JST (2026-12-07T10:15:03Z)": the hub's local time for people, UTC for
// the record.
std::string LocalAndUtc(core::Timestamp t) {
    const std::time_t seconds = static_cast<std::time_t>(core::ToUnixSeconds(t));
    std::tm local{};
    char text[64] = "";
    if (localtime_r(&seconds, &local) != nullptr) {
        std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %Z", &local);
    }
    return std::string(text) + " (" + core::FormatRfc3339(t) + ")";
}

}  // namespace

template <typename Value>
Value& LoginThrottle::Recent<Value>::Touch(const std::string& key, const Value& fresh) {
    auto found = index_.find(key);
    if (found != index_.end()) {
        entries_.splice(entries_.begin(), entries_, found->second);
        return found->second->second;
    }
    if (index_.size() >= kMaxTracked) {
        index_.erase(entries_.back().first);
        entries_.pop_back();
    }
    entries_.emplace_front(key, fresh);
    index_.emplace(key, entries_.begin());
    return entries_.front().second;
}

template <typename Value>
Value* LoginThrottle::Recent<Value>::Find(const std::string& key) {
    auto found = index_.find(key);
    return found == index_.end() ? nullptr : &found->second->second;
}

template <typename Value>
void LoginThrottle::Recent<Value>::Erase(const std::string& key) {
    auto found = index_.find(key);
    if (found == index_.end()) return;
    entries_.erase(found->second);
    index_.erase(found);
}

void LoginThrottle::Refill(Client& client, core::Timestamp now) {
    if (now <= client.refilled_at) return;
    const double earned = std::chrono::duration<double>(now - client.refilled_at).count() /
                          static_cast<double>(kClientRefill.count());
    client.tokens = std::min<double>(kClientBurst, client.tokens + earned);
    client.refilled_at = now;
}

core::Error LoginThrottle::TooMany(core::Timestamp until, core::Timestamp now,
                                   std::string_view why) {
    core::Error error =
        core::MakeError(core::ErrorCode::kTooManyRequests,
                        std::string(why) + "; try again after " + LocalAndUtc(until));
    error.retry_after = std::max(std::chrono::seconds(1), until - now);
    return error;
}

core::Status LoginThrottle::Begin(const std::string& account, const std::string& client_key,
                                  core::Timestamp now, std::string_view what) {
    std::lock_guard lock(mutex_);
    Client& client = clients_.Touch(client_key, Client{kClientBurst, 0, now});
    Refill(client, now);
    if (client.tokens - client.pending < 1.0) {
        // Whole seconds until one failure's worth has refilled beyond those in flight.
        const double missing = 1.0 - (client.tokens - client.pending);
        const auto wait = std::chrono::seconds(
            static_cast<int64_t>(std::ceil(missing * static_cast<double>(kClientRefill.count()))));
        return TooMany(now + wait, now, "too many " + std::string(what) + " from your address");
    }

    const std::string key = PairKey(account, client_key);
    Pair& pair = pairs_.Touch(key, Pair{});
    if (pair.failures > 0 && now - pair.last_failure > kForgetAfter) {
        pair.failures = 0;
        pair.next_allowed = {};
    }
    if (now < pair.next_allowed) {
        return TooMany(pair.next_allowed, now, "too many " + std::string(what) + " for this login");
    }
    // Past the free failures, one attempt at a time: each failure sets the next delay.
    if (pair.failures + pair.pending >= kFreeFailures && pair.pending > 0) {
        return TooMany(now + std::chrono::seconds(1), now,
                       "too many attempts at once for this login");
    }
    ++pair.pending;
    ++client.pending;
    return core::Status::Ok();
}

void LoginThrottle::Failed(const std::string& account, const std::string& client_key,
                           core::Timestamp now) {
    std::lock_guard lock(mutex_);
    Client& client = clients_.Touch(client_key, Client{kClientBurst, 0, now});
    Refill(client, now);
    if (client.pending > 0) --client.pending;
    client.tokens = std::max(0.0, client.tokens - 1.0);

    Pair& pair = pairs_.Touch(PairKey(account, client_key), Pair{});
    if (pair.pending > 0) --pair.pending;
    ++pair.failures;
    pair.last_failure = now;
    if (pair.failures >= kFreeFailures) {
        // 1 s after the last free failure, then 2, 4, ... up to kMaxDelay.
        const int doublings = std::min(pair.failures - kFreeFailures, 20);
        const auto delay = std::min<std::chrono::seconds>(
            std::chrono::seconds(int64_t{1} << doublings), kMaxDelay);
        pair.next_allowed = now + delay;
    }
}

void LoginThrottle::Succeeded(const std::string& account, const std::string& client_key) {
    std::lock_guard lock(mutex_);
    if (Client* client = clients_.Find(client_key); client != nullptr && client->pending > 0) {
        --client->pending;
    }
    const std::string key = PairKey(account, client_key);
    Pair* pair = pairs_.Find(key);
    if (pair == nullptr) return;
    if (pair->pending > 1) {
        // Another attempt is still being checked: keep its reservation, forget the failures.
        --pair->pending;
        pair->failures = 0;
        pair->next_allowed = {};
        return;
    }
    pairs_.Erase(key);
}

}  // namespace kizuna::hub
