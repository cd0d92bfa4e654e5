#pragma once
// Throttling of password checks (log-in, card reissue), so that guessing is slow while the
// member, and a store at its counter, can still get in.
//
// Two limits, both on failures only (a right password costs nothing):
// - per (account, client): kFreeFailures wrong passwords, then each further attempt from that
//   client on that account waits twice as long as the previous one, from 1 s up to kMaxDelay.
//   The count is forgotten kForgetAfter after the last failure, and at once on a success.
// - per client, across accounts (one password tried on many accounts): a bucket of
//   kClientBurst failures that refills one every kClientRefill.
// An attempt refused by either gets kTooManyRequests with the time it may be made again. No
// account is ever locked for everybody: an attacker slows down only their own address, and a
// store reissuing a card at its counter is its own client ("store:<id>"), never held up by
// failed log-ins from elsewhere.
//
// The client is the TCP peer's address: a request through a reverse proxy would share the
// proxy's budget, since forwarded headers are not trusted (anyone can send them).
// Memory is bounded: at most kMaxTracked accounts × clients and kMaxTracked clients; past that
// the least recently used is forgotten.
// Thread-safety: every method may be called from any thread.

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::hub {

class LoginThrottle {
  public:
    static constexpr int kFreeFailures = 5;
    static constexpr std::chrono::seconds kMaxDelay{15 * 60};
    static constexpr std::chrono::seconds kForgetAfter{60 * 60};
    static constexpr int kClientBurst = 20;
    static constexpr std::chrono::seconds kClientRefill{30};
    static constexpr std::size_t kMaxTracked = 100000;

    // Reserves an attempt by `client` on `account` at `now`; exactly one of Failed/Succeeded
    // must end a reserved attempt. Attempts started at once count as if they had failed, so
    // that parallel guesses get no more tries than serial ones. Errors: kTooManyRequests with
    // retry_after and a message naming the time (local and UTC).
    // `what` names the attempts in that message ("wrong passwords").
    core::Status Begin(const std::string& account, const std::string& client, core::Timestamp now,
                       std::string_view what = "wrong passwords");
    void Failed(const std::string& account, const std::string& client, core::Timestamp now);
    void Succeeded(const std::string& account, const std::string& client);

  private:
    struct Pair {
        int failures = 0;
        int pending = 0;
        core::Timestamp last_failure{};
        core::Timestamp next_allowed{};
    };
    struct Client {
        double tokens = kClientBurst;
        int pending = 0;
        core::Timestamp refilled_at{};
    };
    // A map that forgets its least recently used entry beyond kMaxTracked.
    template <typename Value>
    class Recent {
      public:
        // The entry for `key`, made (as `fresh`) if missing; it becomes the most recent.
        Value& Touch(const std::string& key, const Value& fresh);
        Value* Find(const std::string& key);
        void Erase(const std::string& key);

      private:
        using Entries = std::list<std::pair<std::string, Value>>;
        Entries entries_;  // most recent first
        std::unordered_map<std::string, typename Entries::iterator> index_;
    };

    static void Refill(Client& client, core::Timestamp now);
    static core::Error TooMany(core::Timestamp until, core::Timestamp now, std::string_view why);

    std::mutex mutex_;
    Recent<Pair> pairs_;  // key: account + '\n' + client
    Recent<Client> clients_;
};

}  // namespace kizuna::hub
