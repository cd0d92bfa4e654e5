// The reference-model test of the ledger: random sequences of purchases, redemptions, refunds
// (full, partial, by amount or lines, after expiry, after spending), expiry passes, clock jumps,
// replays, reused ids and rule changes, applied through the real hub services on SQLite and to
// LedgerModel; after every step the answers, the balances, the open lots and the ledger entries
// of every account the sequence touches agree, and the ledger's invariants hold.
//
// KIZUNA_MODEL_SEED=<n> picks the first sequence's seed (default: a fresh one, printed);
// KIZUNA_MODEL_SEQUENCES=<n> how many sequences (default 2000), KIZUNA_MODEL_STEPS=<n> steps in
// each (default 30). Sequence i runs with seed + i; a failure prints the command that replays
// that one sequence alone, and the steps that led to it. KIZUNA_MODEL_KEEP_GOING=<n> reports up
// to n failing sequences instead of stopping at the first.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "core/time.hpp"
#include "hub/hub.hpp"
#include "ledger_model.hpp"

namespace kizuna::model {
namespace {

using core::ErrorCode;
using core::ErrorCodeName;
using core::Timestamp;

constexpr int64_t kDay = 86400;
// 2026-11-22T09:00:00Z; every sequence starts here.
constexpr int64_t kStart = 1795338000;

class ModelClock final : public core::Clock {
  public:
    Timestamp Now() const override { return core::FromUnixSeconds(now_.load()); }
    int64_t seconds() const { return now_.load(); }
    void Set(int64_t s) { now_.store(s); }

  private:
    std::atomic<int64_t> now_{kStart};
};

int64_t EnvInt(const char* name, int64_t fallback) {
    const char* text = ::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    return std::stoll(text);
}

// Thrown at the first disagreement between the hub and the model; caught per sequence.
struct Mismatch {
    std::string what;
};

std::string Describe(const hub::MemberRef& m) {
    return m.member_id.empty() ? "card " + m.card_number : "member " + m.member_id;
}

// Purchase lines with their prices; refund lines (`priced` false) name an item and a quantity.
std::string Describe(const std::vector<core::PurchaseLine>& lines, bool priced = true) {
    std::string out = "[";
    for (const auto& l : lines) {
        if (out.size() > 1) out += ", ";
        out += (l.sku.empty() ? "name " + l.name : l.sku) + " x" + std::to_string(l.quantity);
        if (priced) out += " @" + std::to_string(l.unit_price);
        if (!l.category.empty()) out += " (" + l.category + ")";
    }
    return out + "]";
}

std::string Describe(const hub::PurchaseReceipt& r) {
    return "{total " + std::to_string(r.total) + ", points " + std::to_string(r.points_earned) +
           ", balance " + std::to_string(r.balance) + (r.replayed ? ", replayed" : "") + "}";
}
std::string Describe(const hub::RedemptionReceipt& r) {
    return "{points " + std::to_string(r.points) + ", balance " + std::to_string(r.balance) +
           (r.replayed ? ", replayed" : "") + "}";
}
std::string Describe(const hub::RefundReceipt& r) {
    return "{amount " + std::to_string(r.amount) + ", reversed " +
           std::to_string(r.points_reversed) + ", unrecovered " +
           std::to_string(r.points_unrecovered) + ", expired " + std::to_string(r.points_expired) +
           ", balance " + std::to_string(r.balance) + (r.replayed ? ", replayed" : "") + "}";
}

bool Same(const hub::PurchaseReceipt& a, const hub::PurchaseReceipt& b) {
    return a.purchase_id == b.purchase_id && a.member_id == b.member_id && a.total == b.total &&
           a.points_earned == b.points_earned && a.balance == b.balance &&
           a.program_id == b.program_id && a.replayed == b.replayed;
}
bool Same(const hub::RedemptionReceipt& a, const hub::RedemptionReceipt& b) {
    return a.redemption_id == b.redemption_id && a.member_id == b.member_id &&
           a.points == b.points && a.balance == b.balance && a.program_id == b.program_id &&
           a.replayed == b.replayed;
}
bool Same(const hub::RefundReceipt& a, const hub::RefundReceipt& b) {
    return a.refund_id == b.refund_id && a.purchase_id == b.purchase_id && a.amount == b.amount &&
           a.points_reversed == b.points_reversed && a.points_unrecovered == b.points_unrecovered &&
           a.points_expired == b.points_expired && a.balance == b.balance &&
           a.replayed == b.replayed;
}

template <typename R>
std::string DescribeResult(const core::Result<R>& r) {
    if (r.has_value()) return Describe(*r);
    return std::string(ErrorCodeName(r.error().code)) + " (" + r.error().message + ")";
}
template <typename R>
std::string DescribeOutcome(const Outcome<R>& o) {
    if (o.value) return Describe(*o.value);
    return std::string(ErrorCodeName(o.error));
}

// The hub's answer must be the model's: the same receipt, or the same error code.
template <typename R>
void ExpectSame(const core::Result<R>& real, const Outcome<R>& expected) {
    const bool agree = real.has_value() ? expected.value && Same(*real, *expected.value)
                                        : !expected.value && real.error().code == expected.error;
    if (!agree) {
        throw Mismatch{"the hub answered " + DescribeResult(real) + ", the model " +
                       DescribeOutcome(expected)};
    }
}

struct StoreInSequence {
    std::string store_id;
    std::string program_id;
    hub::Caller caller;
};

struct MemberInPool {
    std::string member_id;
    std::string card_number;
};

// What the catalogue of a sequence sells; lines are drawn from it.
struct Item {
    const char* sku;
    const char* name;
    const char* category;
    int64_t unit_price;
};
constexpr Item kItems[] = {
    {"B-1", "Novel", "books", 990},
    {"B-2", "Magazine", "books", 550},
    {"F-1", "Rice ball", "food", 150},
    {"G-1", "Bookmark", "goods", 300},
    {"P-1", "Pen", "", 120},
    {"Z-0", "Paper bag", "goods", 0},
    {"X-1", "Kettle", "kitchen", 12345},
    {"S-1", "Stamp", "", 1},
};

// One hub on a real SQLite database, shared by many sequences: each sequence creates its own
// stores and programs (so its accounts are new) and leaves no lot with points behind.
class ModelRun {
  public:
    ModelRun() {
        std::string templ = (std::filesystem::temp_directory_path() / "kizuna-model-XXXXXX");
        if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = templ;
        hub::HubOptions options;
        options.data_dir = dir_ / "data";
        options.storage_url = "sqlite::memory:";
        options.clock = &clock_;
        auto opened = hub::Hub::Open(options);
        if (!opened) throw std::runtime_error("hub: " + opened.error().message);
        hub_ = std::move(*opened);
        // The pool's cards are issued long before the sequences' sales, which go back at most
        // 400 days (a sale is never dated before the member's card: issue 17).
        clock_.Set(kStart - 1000 * kDay);
        for (int i = 0; i < 4; ++i) {
            hub::NewMember request;
            request.password = "correct horse model " + std::to_string(i);
            request.profile.name = "Model member " + std::to_string(i);
            request.profile.email = "model" + std::to_string(i) + "@example.jp";
            // Enrolled by the operator: self-service with an email is confirmed by mail first.
            auto enrolled = hub_->members().Enroll(hub::Caller::Operator(), request);
            if (!enrolled) throw std::runtime_error("enroll: " + enrolled.error().message);
            members_.push_back({enrolled->member_id, enrolled->card.card.card_number});
        }
    }
    ~ModelRun() {
        hub_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    hub::Hub& hub() { return *hub_; }
    ModelClock& clock() { return clock_; }
    const std::vector<MemberInPool>& members() const { return members_; }
    int next_sequence() { return sequences_++; }

    std::vector<std::string> LedgerProblems() {
        std::vector<std::string> problems;
        auto status = hub_->storage().Read([&](storage::ReadTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(problems, txn.CheckLedgerInvariants());
            return core::Status::Ok();
        });
        if (!status.ok()) problems.push_back("CheckLedgerInvariants: " + status.error().message);
        return problems;
    }

  private:
    std::filesystem::path dir_;
    ModelClock clock_;
    std::unique_ptr<hub::Hub> hub_;
    std::vector<MemberInPool> members_;
    int sequences_ = 0;
};

class Sequence {
  public:
    Sequence(ModelRun& run, uint64_t seed)
        : hub_(run.hub()),
          clock_(run.clock()),
          rng_(seed),
          prefix_("q" + std::to_string(run.next_sequence()) + "-") {
        clock_.Set(kStart);
        // Two stores sharing a program (a chain) and one on its own.
        auto program = hub_.admin().CreateProgram(hub::Caller::Operator(), "Model chain");
        if (!program) throw std::runtime_error("program: " + program.error().message);
        for (int i = 0; i < 3; ++i) {
            hub::NewStore request;
            request.name = "Model store " + std::to_string(i);
            if (i < 2) request.program_id = program->program_id;
            auto created = hub_.admin().CreateStore(hub::Caller::Operator(), request);
            if (!created) throw std::runtime_error("store: " + created.error().message);
            auto caller = hub_.auth().Authenticate(created->api_key);
            if (!caller) throw std::runtime_error("store key: " + caller.error().message);
            // Limits at the core's bounds, which the model knows (the till's sale limits
            // are tested in tests/e2e/till_test.py).
            core::TillSettings limits;
            limits.max_sale_total = core::kMaxPurchaseTotal;
            limits.max_points_per_sale = core::kMaxPointsPerPurchase;
            auto set = hub_.terminals().SetSettings(*caller, limits);
            if (!set) throw std::runtime_error("limits: " + set.error().message);
            stores_.push_back({created->store.store_id, created->store.program_id, *caller});
        }
        // Two members of the pool, in a seeded order.
        std::vector<MemberInPool> pool = run.members();
        std::shuffle(pool.begin(), pool.end(), rng_);
        members_.assign(pool.begin(), pool.begin() + 2);
        std::map<std::string, std::string> cards;
        for (const auto& m : run.members()) cards[m.card_number] = m.member_id;
        model_ = std::make_unique<LedgerModel>(std::move(cards));
        for (const auto& s : stores_) model_->AddStore(s.store_id, s.program_id, kStart);
    }

    // Runs `steps` random steps, comparing after each. Throws Mismatch.
    void Run(int steps) {
        for (step_ = 1; step_ <= steps; ++step_) {
            RandomStep();
            CompareState();
        }
    }

    // Expires everything the sequence left (far in the future), so that later sequences' expiry
    // passes find only their own lots, and checks that too; then puts the clock back.
    void Drain() {
        clock_.Set(clock_.seconds() + 3651 * kDay);
        step_ = 0;
        Log("drain: expiry pass at +3651 days");
        ExpiryPass();
        CompareState();
        clock_.Set(kStart);
    }

    const std::vector<std::string>& log() const { return log_; }

  private:
    // --- randomness -----------------------------------------------------------------------
    int64_t Uniform(int64_t lo, int64_t hi) {  // inclusive
        return lo + static_cast<int64_t>(rng_() % static_cast<uint64_t>(hi - lo + 1));
    }
    bool Chance(int percent) { return Uniform(1, 100) <= percent; }
    template <typename T>
    const T& Pick(const std::vector<T>& v) {
        return v[static_cast<std::size_t>(Uniform(0, static_cast<int64_t>(v.size()) - 1))];
    }

    void Log(const std::string& line) {
        log_.push_back((step_ > 0 ? "step " + std::to_string(step_) + " " : "") + "[t+" +
                       std::to_string(clock_.seconds() - kStart) + "s] " + line);
    }

    // --- requests -------------------------------------------------------------------------
    hub::MemberRef RefTo(const MemberInPool& m) {
        hub::MemberRef ref;
        if (Chance(50)) {
            ref.member_id = m.member_id;
        } else {
            ref.card_number = m.card_number;
        }
        return ref;
    }

    int CurrentValidityDays(std::size_t store) const { return validity_days_[store]; }

    hub::PurchaseRequest NewPurchase(std::size_t store) {
        hub::PurchaseRequest r;
        r.purchase_id = prefix_ + "p" + std::to_string(++ids_);
        r.member = RefTo(Pick(members_));
        // Sales of past days, as a store node's sync books them (a till may not).
        r.origin = core::PurchaseOrigin::kNodeSync;
        const int64_t now = clock_.seconds();
        const int64_t validity = CurrentValidityDays(store) * kDay;
        const int64_t when = Uniform(1, 100);
        if (when <= 30) {
            // now, by leaving occurred_at out
        } else if (when <= 55) {
            r.occurred_at = core::FromUnixSeconds(now - Uniform(0, 3 * kDay));
        } else if (when <= 70) {
            r.occurred_at = core::FromUnixSeconds(now - validity - Uniform(0, 2 * kDay));
        } else if (when <= 78) {
            r.occurred_at = core::FromUnixSeconds(now - validity + Uniform(-1, 1));
        } else if (when <= 92) {
            r.occurred_at = core::FromUnixSeconds(now + Uniform(0, 300));
        } else if (when <= 97) {
            r.occurred_at = core::FromUnixSeconds(now + Uniform(301, 3600));
        } else {
            r.occurred_at = core::FromUnixSeconds(now - Uniform(30, 400) * kDay);
        }
        const int64_t currency = Uniform(1, 100);
        if (currency > 97) {
            r.currency = "USD";
        } else if (currency > 80) {
            r.currency = "JPY";
        }
        if (Chance(2)) {
            // Near the limits: a total around 10^12, points around 10^12.
            r.lines.push_back({"Jet", "J-1", Chance(50) ? "books" : "", Uniform(1, 100'000),
                               Uniform(1'000'000, 10'000'000'000)});
            return r;
        }
        const int64_t count = Uniform(1, 3);
        for (int64_t i = 0; i < count; ++i) {
            const Item& item = kItems[Uniform(0, std::size(kItems) - 1)];
            core::PurchaseLine line{item.name, item.sku, item.category, Uniform(1, 4),
                                    item.unit_price};
            // Now and then the same sku at another price (a line of its own).
            if (Chance(10)) line.unit_price = Uniform(1, 5000);
            r.lines.push_back(line);
        }
        return r;
    }

    hub::RedemptionRequest NewRedemption(std::size_t store) {
        hub::RedemptionRequest r;
        r.redemption_id = prefix_ + "r" + std::to_string(++ids_);
        const MemberInPool& m = Pick(members_);
        r.member = RefTo(m);
        const ModelAccount& account = model_->account({m.member_id, stores_[store].program_id});
        int64_t spendable = 0;
        for (const auto& lot : account.lots) {
            if (lot.expires_at > clock_.seconds()) spendable += lot.remaining;
        }
        const int64_t balance = account.Balance();
        const int64_t how = Uniform(1, 100);
        if (how <= 20) {
            r.points = std::max<int64_t>(1, spendable);
        } else if (how <= 50) {
            r.points = Uniform(1, std::max<int64_t>(1, spendable));
        } else if (how <= 62) {
            r.points = spendable + 1;
        } else if (how <= 74) {
            r.points = std::max<int64_t>(1, balance);  // counts points that are due to expire
        } else if (how <= 90) {
            r.points = Uniform(1, 5);
        } else if (how <= 96) {
            r.points = Uniform(1, 3 * std::max<int64_t>(1, balance));
        } else if (how <= 98) {
            r.points = 0;
        } else {
            r.points = 1'000'000'000'001;
        }
        return r;
    }

    hub::RefundRequest NewRefund() {
        hub::RefundRequest r;
        r.refund_id = prefix_ + "f" + std::to_string(++ids_);
        if (purchases_.empty() || Chance(3)) {
            r.purchase_id = prefix_ + "no-such-purchase";
            r.amount = 100;
            return r;
        }
        const auto& [store, p] = Pick(purchases_);
        r.purchase_id = p.purchase_id;
        int64_t total = 0;
        for (const auto& l : p.lines) total += l.quantity * l.unit_price;
        const int64_t left = total - refunded_[{store, p.purchase_id}];
        if (Chance(60)) {
            const int64_t how = Uniform(1, 100);
            if (how <= 30) {
                r.amount = std::max<int64_t>(1, left);
            } else if (how <= 60) {
                r.amount = Uniform(1, std::max<int64_t>(1, left));
            } else if (how <= 72) {
                r.amount = left + 1;
            } else if (how <= 84) {
                r.amount = 1;
            } else if (how <= 96) {
                r.amount = std::max<int64_t>(1, total);
            } else {
                r.amount = Chance(50) ? 0 : -5;
            }
        } else {
            const int64_t count = Chance(75) ? 1 : 2;
            for (int64_t i = 0; i < count; ++i) {
                const core::PurchaseLine& bought = Pick(p.lines);
                core::PurchaseLine want;
                if (Chance(80)) {
                    want.sku = bought.sku;
                } else {
                    want.name = bought.name;
                }
                want.quantity = Chance(85) ? Uniform(1, bought.quantity) : bought.quantity + 1;
                if (Chance(3)) want.sku = "NO-SUCH-SKU";
                r.lines.push_back(want);
            }
        }
        return r;
    }

    // A store to refund from: usually the purchase's, else another (of the chain or not),
    // which has no such purchase of its own (unless it used the same id).
    std::size_t RefundingStore(const hub::RefundRequest& r) {
        for (const auto& [store, p] : purchases_) {
            if (p.purchase_id == r.purchase_id) return Chance(85) ? store : Uniform(0, 2);
        }
        return Uniform(0, 2);
    }

    core::EarningRule NewRule() {
        core::EarningRule rule;
        static constexpr int64_t kAmounts[] = {1, 10, 50, 100, 100, 250};
        static constexpr int kValidity[] = {1, 2, 3, 7, 30, 365};
        rule.amount_per_point = kAmounts[Uniform(0, 5)];
        rule.rounding = static_cast<core::Rounding>(Uniform(0, 2));
        rule.validity_days = kValidity[Uniform(0, 5)];
        if (Chance(50))
            rule.category_multipliers_milli["books"] = PickOf<int64_t>({1500, 2000, 3000});
        if (Chance(30)) rule.category_multipliers_milli["food"] = PickOf<int64_t>({500, 1250});
        if (Chance(15)) rule.category_multipliers_milli["goods"] = 0;
        const int64_t now = clock_.seconds();
        const int64_t windows = Uniform(0, 2);
        for (int64_t i = 0; i < windows; ++i) {
            const int64_t start = now - Uniform(0, 2 * kDay);
            rule.bonus_windows.push_back({core::FromUnixSeconds(start),
                                          core::FromUnixSeconds(now + Uniform(1, 3 * kDay)),
                                          PickOf<int64_t>({500, 1500, 2000, 3000})});
        }
        const int64_t broken = Uniform(1, 100);
        if (broken == 1) rule.amount_per_point = 0;
        if (broken == 2) rule.validity_days = 0;
        if (broken == 3 && !rule.bonus_windows.empty()) {
            rule.bonus_windows[0].end = rule.bonus_windows[0].start;
        }
        return rule;
    }

    template <typename T>
    T PickOf(std::initializer_list<T> values) {
        return *(values.begin() + Uniform(0, static_cast<int64_t>(values.size()) - 1));
    }

    // --- steps ----------------------------------------------------------------------------
    void RandomStep() {
        const int64_t what = Uniform(1, 100);
        if (what <= 26) return DoPurchase(Uniform(0, 2), NewPurchase(Uniform(0, 2)));
        if (what <= 40) {
            const std::size_t store = Uniform(0, 2);
            return DoRedemption(store, NewRedemption(store));
        }
        if (what <= 58) {
            hub::RefundRequest r = NewRefund();
            return DoRefund(RefundingStore(r), r);
        }
        if (what <= 64) return ExpiryPass();
        if (what <= 76) return ClockJump();
        if (what <= 84) return SendAgain(/*elsewhere=*/false);
        if (what <= 89) return ReuseId();
        if (what <= 94) return ChangeRule();
        return Batch();
    }

    // What the model expects of a write, logged and remembered for later steps (replays, reused
    // ids, refunds) before the hub is asked.
    Outcome<hub::PurchaseReceipt> Expect(std::size_t store, const hub::PurchaseRequest& r) {
        Log("purchase " + r.purchase_id + " at store " + std::to_string(store) + ": " +
            Describe(r.member) + ", occurred_at " +
            (r.occurred_at ? std::to_string(core::ToUnixSeconds(*r.occurred_at) - kStart) + "s"
                           : std::string("none")) +
            (r.currency.empty() ? "" : ", " + r.currency) + ", " + Describe(r.lines));
        auto expected = model_->Purchase(stores_[store].store_id, r, clock_.seconds());
        all_purchases_.push_back({store, r});
        if (expected.value && !expected.value->replayed) purchases_.push_back({store, r});
        return expected;
    }
    Outcome<hub::RedemptionReceipt> Expect(std::size_t store, const hub::RedemptionRequest& r) {
        Log("redemption " + r.redemption_id + " at store " + std::to_string(store) + ": " +
            Describe(r.member) + ", " + std::to_string(r.points) + " points");
        redemptions_.push_back({store, r});
        return model_->Redeem(stores_[store].store_id, r, clock_.seconds());
    }
    Outcome<hub::RefundReceipt> Expect(std::size_t store, const hub::RefundRequest& r) {
        Log("refund " + r.refund_id + " at store " + std::to_string(store) + " of " +
            r.purchase_id + ": " +
            (r.amount ? "amount " + std::to_string(*r.amount)
                      : "lines " + Describe(r.lines, false)));
        auto expected = model_->Refund(stores_[store].store_id, r, clock_.seconds());
        if (expected.value && !expected.value->replayed) {
            refunded_[{store, r.purchase_id}] += expected.value->amount;
        }
        refunds_.push_back({store, r});
        return expected;
    }

    void DoPurchase(std::size_t store, const hub::PurchaseRequest& r) {
        auto expected = Expect(store, r);
        Answered(hub_.points().RecordPurchase(stores_[store].caller, r), expected);
    }
    void DoRedemption(std::size_t store, const hub::RedemptionRequest& r) {
        auto expected = Expect(store, r);
        Answered(hub_.points().Redeem(stores_[store].caller, r), expected);
    }
    void DoRefund(std::size_t store, const hub::RefundRequest& r) {
        auto expected = Expect(store, r);
        Answered(hub_.points().Refund(stores_[store].caller, r), expected);
    }

    template <typename R>
    void Answered(const core::Result<R>& real, const Outcome<R>& expected) {
        Log("  -> " + DescribeResult(real));
        ExpectSame(real, expected);
    }

    void ExpiryPass() {
        const int64_t expected = model_->RunExpiry(clock_.seconds());
        auto real = hub_.points().RunExpiry();
        Log("expiry pass -> " + (real ? std::to_string(*real) + " lots"
                                      : std::string(ErrorCodeName(real.error().code))));
        if (!real || *real != expected) {
            throw Mismatch{"the expiry pass expired " +
                           (real ? std::to_string(*real) : real.error().message) +
                           " lots, the model " + std::to_string(expected)};
        }
    }

    void ClockJump() {
        int64_t by = 0;
        const int64_t how = Uniform(1, 100);
        // The next moment a lot expires, exactly or a second before: where off-by-ones live.
        std::optional<int64_t> next_expiry;
        for (const auto& [key, account] : model_->accounts()) {
            for (const auto& lot : account.lots) {
                if (lot.remaining > 0 && lot.expires_at > clock_.seconds() &&
                    (!next_expiry || lot.expires_at < *next_expiry)) {
                    next_expiry = lot.expires_at;
                }
            }
        }
        if (how <= 20 && next_expiry) {
            by = *next_expiry - clock_.seconds() - (Chance(50) ? 1 : 0);
        } else if (how <= 35) {
            by = Uniform(1, 3600);
        } else if (how <= 60) {
            by = kDay;
        } else if (how <= 80) {
            by = Uniform(2, 8) * kDay;
        } else {
            by = Uniform(9, 400) * kDay + Uniform(0, kDay);
        }
        clock_.Set(clock_.seconds() + by);
        Log("clock +" + std::to_string(by) + "s");
    }

    // A request sent before, again: from the same store (a replay), or from another store, for
    // which the id is new.
    void SendAgain(bool elsewhere) {
        const int64_t kind = Uniform(1, 3);
        const std::size_t other = Uniform(0, 2);
        Log(elsewhere ? "the same id at another store:" : "again:");
        if (kind == 1 && !all_purchases_.empty()) {
            const auto [store, r] = Pick(all_purchases_);
            return DoPurchase(elsewhere ? other : store, r);
        }
        if (kind == 2 && !redemptions_.empty()) {
            const auto [store, r] = Pick(redemptions_);
            return DoRedemption(elsewhere ? other : store, r);
        }
        if (!refunds_.empty()) {
            const auto [store, r] = Pick(refunds_);
            return DoRefund(elsewhere ? other : store, r);
        }
    }

    // An id used before, with something else in the request; or the same request from another
    // store, for which the id is new.
    void ReuseId() {
        if (Chance(25)) return SendAgain(/*elsewhere=*/true);
        const int64_t kind = Uniform(1, 3);
        if (kind == 1 && !all_purchases_.empty()) {
            auto [store, r] = Pick(all_purchases_);
            const int64_t change = Uniform(1, 3);
            if (change == 1) {
                r.lines[0].quantity += 1;
            } else if (change == 2) {
                r.occurred_at = core::FromUnixSeconds(clock_.seconds() - Uniform(1, kDay));
            } else {
                // The same member, named the other way (by card instead of id, or back).
                for (const auto& m : members_) {
                    if (r.member.member_id == m.member_id && !m.member_id.empty()) {
                        r.member = {"", m.card_number};
                        break;
                    }
                    if (r.member.card_number == m.card_number && !m.card_number.empty()) {
                        r.member = {m.member_id, ""};
                        break;
                    }
                }
            }
            Log("same id, another request:");
            return DoPurchase(store, r);
        }
        if (kind == 2 && !redemptions_.empty()) {
            auto [store, r] = Pick(redemptions_);
            r.points += 1;
            Log("same id, another request:");
            return DoRedemption(store, r);
        }
        if (!refunds_.empty()) {
            auto [store, r] = Pick(refunds_);
            if (r.amount) {
                *r.amount += 1;
            } else {
                r.lines[0].quantity += 1;
            }
            Log("same id, another request:");
            return DoRefund(store, r);
        }
    }

    void ChangeRule() {
        const std::size_t store = Uniform(0, 2);
        core::EarningRule rule = NewRule();
        std::string text = "rule of store " + std::to_string(store) + ": 1 point per " +
                           std::to_string(rule.amount_per_point) + ", " +
                           std::string(core::RoundingName(rule.rounding)) + ", " +
                           std::to_string(rule.validity_days) + " days";
        for (const auto& [c, m] : rule.category_multipliers_milli) {
            text += ", " + c + " x" + std::to_string(m) + "/1000";
        }
        for (const auto& w : rule.bonus_windows) {
            text += ", bonus x" + std::to_string(w.multiplier_milli) + "/1000 from " +
                    std::to_string(core::ToUnixSeconds(w.start) - kStart) + "s to " +
                    std::to_string(core::ToUnixSeconds(w.end) - kStart) + "s";
        }
        Log(text);
        auto expected = model_->SetRule(stores_[store].store_id, rule, clock_.seconds());
        auto real = hub_.rules().SetRule(stores_[store].caller, stores_[store].store_id, rule);
        Log("  -> " + (real ? "version " + std::to_string(real->version)
                            : std::string(ErrorCodeName(real.error().code))));
        const bool agree = real ? expected.value && *expected.value == real->version
                                : !expected.value && real.error().code == expected.error;
        if (!agree) {
            throw Mismatch{"setting the rule: the hub and the model disagree (model: " +
                           (expected.value ? "version " + std::to_string(*expected.value)
                                           : std::string(ErrorCodeName(expected.error))) +
                           ")"};
        }
        if (expected.value) validity_days_[store] = rule.validity_days;
    }

    // A write answered later: `start` hands the hub its completion.
    struct Pending {
        std::function<void()> wait;
        std::function<void()> check;
    };
    template <typename Receipt, typename Start>
    Pending Submit(Start start, Outcome<Receipt> expected) {
        auto promise = std::make_shared<std::promise<core::Result<Receipt>>>();
        auto future = std::make_shared<std::future<core::Result<Receipt>>>(promise->get_future());
        start([promise](core::Result<Receipt> out) { promise->set_value(std::move(out)); });
        return {[future] { future->wait(); },
                [this, future, expected] { Answered(future->get(), expected); }};
    }

    std::string MemberOf(const hub::MemberRef& ref) const {
        for (const auto& m : members_) {
            if (!ref.card_number.empty() && m.card_number == ref.card_number) return m.member_id;
        }
        return ref.member_id;
    }

    // Two or three writes on different accounts at once, through the asynchronous paths, so
    // that they may share one group-commit transaction (and its rerun when one fails).
    void Batch() {
        std::vector<Pending> pending;
        std::set<AccountKey> accounts;
        const int64_t count = Uniform(2, 3);
        Log("batch of up to " + std::to_string(count) + ":");
        for (int64_t i = 0; i < count; ++i) {
            const int64_t kind = Uniform(1, 3);
            const std::size_t store = Uniform(0, 2);
            const hub::Caller& caller = stores_[store].caller;
            if (kind == 1) {
                hub::PurchaseRequest r = NewPurchase(store);
                if (!accounts.insert({MemberOf(r.member), stores_[store].program_id}).second) {
                    continue;
                }
                pending.push_back(
                    Submit([&](auto done) { hub_.points().RecordPurchaseAsync(caller, r, done); },
                           Expect(store, r)));
            } else if (kind == 2) {
                hub::RedemptionRequest r = NewRedemption(store);
                if (!accounts.insert({MemberOf(r.member), stores_[store].program_id}).second) {
                    continue;
                }
                pending.push_back(
                    Submit([&](auto done) { hub_.points().RedeemAsync(caller, r, done); },
                           Expect(store, r)));
            } else {
                hub::RefundRequest r = NewRefund();
                const std::size_t from = RefundingStore(r);
                auto account = model_->AccountOfPurchase(stores_[from].store_id, r.purchase_id);
                if (account && !accounts.insert(*account).second) continue;
                pending.push_back(Submit(
                    [&](auto done) { hub_.points().RefundAsync(stores_[from].caller, r, done); },
                    Expect(from, r)));
            }
        }
        // Wait for every answer before comparing any, so none is left running on a failure.
        for (auto& p : pending) p.wait();
        for (auto& p : pending) p.check();
    }

    // --- comparison -----------------------------------------------------------------------
    void CompareState() {
        for (const std::string& problem : model_->SelfCheck()) throw Mismatch{problem};
        std::set<std::string> programs;
        for (const auto& s : stores_) programs.insert(s.program_id);
        for (const auto& m : members_) {
            for (const auto& program : programs) CompareAccount({m.member_id, program});
        }
    }

    void CompareAccount(const AccountKey& key) {
        int64_t balance = 0;
        std::vector<core::Lot> lots;
        std::vector<core::LedgerEntry> entries;
        auto status = hub_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(balance, txn.BalanceOf(key.member_id, key.program_id));
            KZ_ASSIGN_OR_RETURN(lots, txn.OpenLots(key.member_id, key.program_id));
            KZ_ASSIGN_OR_RETURN(entries,
                                txn.EntriesOf(key.member_id, key.program_id, {100000, {}}));
            return core::Status::Ok();
        });
        if (!status.ok()) throw Mismatch{"reading the account: " + status.error().message};
        const ModelAccount& account = model_->account(key);
        const std::string who = "member " + key.member_id + " in program " + key.program_id;

        if (balance != account.Balance()) {
            throw Mismatch{who + ": balance " + std::to_string(balance) + ", the model " +
                           std::to_string(account.Balance())};
        }
        // Open lots: (purchase, earned, remaining, expires_at).
        using LotView = std::tuple<std::string, int64_t, int64_t, int64_t>;
        std::vector<LotView> real_lots;
        std::vector<LotView> model_lots;
        for (const auto& lot : lots) {
            const std::string name = lot.store_id + "/" + lot.purchase_id;
            lot_purchase_[lot.lot_id] = name;
            real_lots.emplace_back(name, lot.earned, lot.remaining,
                                   core::ToUnixSeconds(lot.expires_at));
        }
        for (const auto& lot : account.lots) {
            if (lot.remaining > 0) {
                model_lots.emplace_back(lot.store_id + "/" + lot.purchase_id, lot.earned,
                                        lot.remaining, lot.expires_at);
            }
        }
        std::sort(real_lots.begin(), real_lots.end());
        std::sort(model_lots.begin(), model_lots.end());
        if (real_lots != model_lots) {
            auto show = [](const std::vector<LotView>& v) {
                std::string out;
                for (const auto& [p, e, r, x] : v) {
                    out += " {" + p + ": " + std::to_string(r) + " of " + std::to_string(e) +
                           ", expires t+" + std::to_string(x - kStart) + "s}";
                }
                return out.empty() ? std::string(" none") : out;
            };
            throw Mismatch{who + ": open lots" + show(real_lots) + "; the model's" +
                           show(model_lots)};
        }
        // Entries as a multiset of (kind, delta, what it refers to, store).
        std::vector<ModelEntry> real_entries;
        for (const auto& e : entries) {
            std::string ref = e.ref;
            if (e.kind == core::EntryKind::kExpire) {
                auto it = lot_purchase_.find(std::stoll(e.ref));
                ref = "lot:" + (it == lot_purchase_.end() ? "#" + e.ref : it->second);
            }
            real_entries.push_back(
                {std::string(core::EntryKindName(e.kind)), e.delta, ref, e.store_id});
        }
        std::vector<ModelEntry> model_entries = account.entries;
        std::sort(real_entries.begin(), real_entries.end());
        std::sort(model_entries.begin(), model_entries.end());
        if (real_entries != model_entries) {
            auto show = [](const std::vector<ModelEntry>& v) {
                std::string out;
                for (const auto& e : v) {
                    out += " {" + e.kind + " " + std::to_string(e.delta) + " " + e.ref + "}";
                }
                return out.empty() ? std::string(" none") : out;
            };
            throw Mismatch{who + ": ledger entries" + show(real_entries) + "; the model's" +
                           show(model_entries)};
        }
    }

    hub::Hub& hub_;
    ModelClock& clock_;
    std::mt19937_64 rng_;
    std::string prefix_;
    std::vector<StoreInSequence> stores_;
    std::vector<MemberInPool> members_;
    std::unique_ptr<LedgerModel> model_;
    std::vector<int> validity_days_ = {365, 365, 365};
    int step_ = 0;
    int ids_ = 0;
    std::vector<std::string> log_;
    std::vector<std::pair<std::size_t, hub::PurchaseRequest>> all_purchases_;
    std::vector<std::pair<std::size_t, hub::PurchaseRequest>> purchases_;  // recorded ones
    std::vector<std::pair<std::size_t, hub::RedemptionRequest>> redemptions_;
    std::vector<std::pair<std::size_t, hub::RefundRequest>> refunds_;
    // Amount refunded per (store, purchase id), per the model.
    std::map<std::pair<std::size_t, std::string>, int64_t> refunded_;
    std::map<int64_t, std::string> lot_purchase_;
};

TEST(LedgerModel, RandomSequencesAgreeWithTheModel) {
    const auto seed = static_cast<uint64_t>(
        EnvInt("KIZUNA_MODEL_SEED", static_cast<int64_t>(std::random_device{}() >> 1)));
    const int64_t sequences = EnvInt("KIZUNA_MODEL_SEQUENCES", 2000);
    const int steps = static_cast<int>(EnvInt("KIZUNA_MODEL_STEPS", 30));
    const int64_t keep_going = EnvInt("KIZUNA_MODEL_KEEP_GOING", 1);
    std::cout << "ledger model: KIZUNA_MODEL_SEED=" << seed
              << " KIZUNA_MODEL_SEQUENCES=" << sequences << " KIZUNA_MODEL_STEPS=" << steps
              << std::endl;

    // A fresh database and members every so many sequences: the members' histories grow with
    // every sequence, and reading one program's entries walks all of a member's.
    constexpr int64_t kSequencesPerRun = 100;
    std::unique_ptr<ModelRun> run;
    int64_t failures = 0;
    for (int64_t i = 0; i < sequences && failures < keep_going; ++i) {
        if (i % kSequencesPerRun == 0) {
            run.reset();
            run = std::make_unique<ModelRun>();
        }
        const uint64_t sequence_seed = seed + static_cast<uint64_t>(i);
        Sequence sequence(*run, sequence_seed);
        std::optional<std::string> failure;
        try {
            sequence.Run(steps);
        } catch (const Mismatch& m) {
            failure = m.what;
        }
        try {
            sequence.Drain();
        } catch (const Mismatch& m) {
            if (!failure) failure = "after the sequence: " + m.what;
        }
        if (failure) {
            ++failures;
            std::ostringstream out;
            out << "the hub and the model disagree: " << *failure << "\n"
                << "replay this sequence alone with KIZUNA_MODEL_SEED=" << sequence_seed
                << " KIZUNA_MODEL_SEQUENCES=1 KIZUNA_MODEL_STEPS=" << steps << "\n";
            for (const auto& line : sequence.log()) out << "  " << line << "\n";
            ADD_FAILURE() << out.str();
        }
        // The full scan of every account, before each database is left.
        if (i % kSequencesPerRun == kSequencesPerRun - 1 || i + 1 == sequences) {
            for (const auto& p : run->LedgerProblems()) ADD_FAILURE() << "ledger invariant: " << p;
        }
    }
}

}  // namespace
}  // namespace kizuna::model
