#include "ledger_model.hpp"

#include <algorithm>
#include <numeric>

namespace kizuna::model {
namespace {

using core::ErrorCode;

constexpr int64_t kDaySeconds = 86400;
constexpr int64_t kFutureSkewSeconds = 300;  // a purchase may be 5 minutes ahead
// The README's limits.
constexpr int64_t kMaxPurchaseTotal = 1'000'000'000'000;
constexpr int64_t kMaxPurchasePoints = 1'000'000'000'000;
constexpr int64_t kMaxRedeemPoints = 1'000'000'000'000;
constexpr int64_t kMaxBalance = 1'000'000'000'000'000;
constexpr int64_t kMaxAmountPerPoint = 1'000'000'000;

bool SameMemberRef(const hub::MemberRef& a, const hub::MemberRef& b) {
    return a.member_id == b.member_id && a.card_number == b.card_number;
}

bool SamePurchase(const hub::PurchaseRequest& a, const hub::PurchaseRequest& b) {
    return a.purchase_id == b.purchase_id && SameMemberRef(a.member, b.member) &&
           a.occurred_at == b.occurred_at && a.currency == b.currency && a.lines == b.lines;
}

bool SameRedemption(const hub::RedemptionRequest& a, const hub::RedemptionRequest& b) {
    return a.redemption_id == b.redemption_id && SameMemberRef(a.member, b.member) &&
           a.points == b.points;
}

// A refund's lines count as the client named them: sku, name and quantity.
bool SameRefund(const hub::RefundRequest& a, const hub::RefundRequest& b) {
    if (a.refund_id != b.refund_id || a.purchase_id != b.purchase_id || a.amount != b.amount ||
        a.lines.size() != b.lines.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.lines.size(); ++i) {
        const auto& x = a.lines[i];
        const auto& y = b.lines[i];
        if (x.sku != y.sku || x.name != y.name || x.quantity != y.quantity) return false;
    }
    return true;
}

// Draws up to `wanted` from the lots in `order`; returns what was drawn.
int64_t DrawInOrder(std::vector<ModelLot>& lots, const std::vector<std::size_t>& order,
                    int64_t wanted) {
    int64_t drawn = 0;
    for (std::size_t i : order) {
        if (drawn == wanted) break;
        const int64_t take = std::min(wanted - drawn, lots[i].remaining);
        lots[i].remaining -= take;
        drawn += take;
    }
    return drawn;
}

// Lots with points left that have not expired at `now`, the soonest to expire first, the older
// lot first among equals.
std::vector<std::size_t> SpendingOrder(const std::vector<ModelLot>& lots, int64_t now) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < lots.size(); ++i) {
        if (lots[i].remaining > 0 && lots[i].expires_at > now) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return lots[a].expires_at < lots[b].expires_at;
    });
    return order;
}

int64_t Seconds(core::Timestamp t) { return t.time_since_epoch().count(); }

}  // namespace

int64_t ModelAccount::Balance() const {
    int64_t sum = 0;
    for (const auto& e : entries) sum += e.delta;
    return sum;
}

__int128 ModelPoints(const core::EarningRule& rule, const std::vector<core::PurchaseLine>& lines,
                     int64_t at) {
    // Multipliers are thousandths: amount x (category/1000) x (bonus/1000) / amount_per_point.
    __int128 weighted = 0;
    for (const auto& line : lines) {
        int64_t category = 1000;
        auto it = rule.category_multipliers_milli.find(line.category);
        if (it != rule.category_multipliers_milli.end()) category = it->second;
        weighted += static_cast<__int128>(line.quantity) * line.unit_price * category;
    }
    std::optional<int64_t> bonus;
    for (const auto& w : rule.bonus_windows) {
        if (Seconds(w.start) <= at && at < Seconds(w.end)) {
            bonus = std::max(bonus.value_or(w.multiplier_milli), w.multiplier_milli);
        }
    }
    const __int128 n = weighted * bonus.value_or(1000);
    const __int128 d = static_cast<__int128>(1000) * 1000 * rule.amount_per_point;
    if (n <= 0) return 0;
    switch (rule.rounding) {
        case core::Rounding::kFloor:
            return n / d;
        case core::Rounding::kCeil:
            return n / d + (n % d != 0 ? 1 : 0);
        case core::Rounding::kNearest:
            return n / d + (2 * (n % d) >= d ? 1 : 0);
    }
    return 0;
}

void LedgerModel::AddStore(const std::string& store_id, const std::string& program_id,
                           int64_t now) {
    core::EarningRule rule;
    rule.amount_per_point = 100;
    rule.rounding = core::Rounding::kFloor;
    rule.validity_days = 365;
    stores_[store_id] = StoreState{program_id, {Version{rule, 1, now}}};
}

Outcome<int> LedgerModel::SetRule(const std::string& store_id, core::EarningRule rule,
                                  int64_t now) {
    bool valid = rule.amount_per_point > 0 && rule.amount_per_point <= kMaxAmountPerPoint &&
                 rule.validity_days >= 1 && rule.validity_days <= 3650 &&
                 rule.bonus_windows.size() <= 100;
    for (const auto& [category, m] : rule.category_multipliers_milli) {
        valid = valid && !category.empty() && m >= 0 && m <= 100'000;
    }
    for (const auto& w : rule.bonus_windows) {
        valid =
            valid && w.start < w.end && w.multiplier_milli >= 0 && w.multiplier_milli <= 100'000;
    }
    if (!valid) return Outcome<int>::Fail(ErrorCode::kInvalidArgument);
    StoreState& store = stores_.at(store_id);
    const int version = store.versions.back().version + 1;
    store.versions.push_back(Version{std::move(rule), version, now});
    return Outcome<int>::Ok(version);
}

const LedgerModel::Version& LedgerModel::VersionAt(const StoreState& store, int64_t at) const {
    // Versions are kept in the order they were set, so effective_from never decreases and a
    // later version set at the same second comes later.
    const Version* found = nullptr;
    for (const Version& v : store.versions) {
        if (v.effective_from <= at) found = &v;
    }
    if (found != nullptr) return *found;
    // Before the first version: the earliest moment's winning version.
    const Version* earliest = &store.versions.front();
    for (const Version& v : store.versions) {
        if (v.effective_from == earliest->effective_from) earliest = &v;
    }
    return *earliest;
}

std::optional<std::string> LedgerModel::MemberOf(const hub::MemberRef& ref) const {
    if (!ref.member_id.empty()) return ref.member_id;
    auto it = cards_.find(ref.card_number);
    if (it == cards_.end()) return std::nullopt;
    return it->second;
}

int64_t LedgerModel::BookExpiries(ModelAccount& account, int64_t now) {
    int64_t count = 0;
    for (ModelLot& lot : account.lots) {
        if (lot.remaining > 0 && lot.expires_at <= now) {
            // Named after the store that issued the lot, as every entry names its store
            // (settlement counts the expiry against the issuer).
            account.entries.push_back({"expire", -lot.remaining,
                                       "lot:" + lot.store_id + "/" + lot.purchase_id,
                                       lot.store_id});
            lot.expired += lot.remaining;
            lot.remaining = 0;
            ++count;
        }
    }
    return count;
}

Outcome<hub::PurchaseReceipt> LedgerModel::Purchase(const std::string& store_id,
                                                    const hub::PurchaseRequest& r, int64_t now) {
    using Out = Outcome<hub::PurchaseReceipt>;
    const StoreState& store = stores_.at(store_id);
    __int128 total = 0;
    for (const auto& line : r.lines)
        total += static_cast<__int128>(line.quantity) * line.unit_price;
    if (total > kMaxPurchaseTotal) return Out::Fail(ErrorCode::kInvalidArgument);
    const int64_t at = r.occurred_at ? Seconds(*r.occurred_at) : now;
    if (at > now + kFutureSkewSeconds) return Out::Fail(ErrorCode::kRuleViolation);
    if (!r.currency.empty() && r.currency != "JPY") return Out::Fail(ErrorCode::kRuleViolation);
    if (auto it = purchases_.find({store_id, r.purchase_id}); it != purchases_.end()) {
        if (!SamePurchase(it->second.request, r)) {
            return Out::Fail(ErrorCode::kIdempotencyConflict);
        }
        hub::PurchaseReceipt again = it->second.receipt;
        again.replayed = true;
        return Out::Ok(again);
    }
    const Version& version = VersionAt(store, at);
    const __int128 points = ModelPoints(version.rule, r.lines, at);
    if (points > kMaxPurchasePoints) return Out::Fail(ErrorCode::kRuleViolation);
    const std::optional<std::string> member = MemberOf(r.member);
    if (!member) return Out::Fail(ErrorCode::kNotFound);

    PurchaseState p;
    p.store_id = store_id;
    p.request = r;
    p.account = AccountKey{*member, store.program_id};
    p.lines = r.lines;
    p.refunded_quantity.assign(r.lines.size(), 0);
    p.total = static_cast<int64_t>(total);
    p.points = static_cast<int64_t>(points);
    ModelAccount& account = accounts_[p.account];
    if (account.Balance() + p.points > kMaxBalance) return Out::Fail(ErrorCode::kRuleViolation);
    if (p.points > 0) {
        p.lot = account.lots.size();
        account.lots.push_back(ModelLot{store_id, r.purchase_id, p.points, p.points, 0, at,
                                        at + version.rule.validity_days * kDaySeconds});
        account.entries.push_back({"earn", p.points, r.purchase_id, store_id});
    }
    p.receipt.purchase_id = r.purchase_id;
    p.receipt.member_id = *member;
    p.receipt.total = p.total;
    p.receipt.points_earned = p.points;
    p.receipt.balance = account.Balance();
    p.receipt.program_id = store.program_id;
    p.receipt.replayed = false;
    hub::PurchaseReceipt receipt = p.receipt;
    purchases_.emplace(IdKey{store_id, r.purchase_id}, std::move(p));
    return Out::Ok(receipt);
}

Outcome<hub::RedemptionReceipt> LedgerModel::Redeem(const std::string& store_id,
                                                    const hub::RedemptionRequest& r, int64_t now) {
    using Out = Outcome<hub::RedemptionReceipt>;
    if (r.points <= 0 || r.points > kMaxRedeemPoints) return Out::Fail(ErrorCode::kInvalidArgument);
    const StoreState& store = stores_.at(store_id);
    if (auto it = redemptions_.find({store_id, r.redemption_id}); it != redemptions_.end()) {
        if (!SameRedemption(it->second.request, r)) {
            return Out::Fail(ErrorCode::kIdempotencyConflict);
        }
        hub::RedemptionReceipt again = it->second.receipt;
        again.replayed = true;
        return Out::Ok(again);
    }
    const std::optional<std::string> member = MemberOf(r.member);
    if (!member) return Out::Fail(ErrorCode::kNotFound);
    const AccountKey key{*member, store.program_id};
    ModelAccount& account = accounts_[key];
    const std::vector<std::size_t> order = SpendingOrder(account.lots, now);
    int64_t available = 0;
    for (std::size_t i : order) available += account.lots[i].remaining;
    // Refused before anything is booked: a refused redemption changes nothing.
    if (r.points > available) return Out::Fail(ErrorCode::kInsufficientPoints);
    BookExpiries(account, now);
    DrawInOrder(account.lots, order, r.points);
    account.entries.push_back({"redeem", -r.points, r.redemption_id, store_id});
    RedemptionState state{store_id, r, {}};
    state.receipt.redemption_id = r.redemption_id;
    state.receipt.member_id = *member;
    state.receipt.points = r.points;
    state.receipt.balance = account.Balance();
    state.receipt.program_id = store.program_id;
    state.receipt.replayed = false;
    redemptions_.emplace(IdKey{store_id, r.redemption_id}, state);
    return Out::Ok(state.receipt);
}

Outcome<hub::RefundReceipt> LedgerModel::Refund(const std::string& store_id,
                                                const hub::RefundRequest& r, int64_t now) {
    using Out = Outcome<hub::RefundReceipt>;
    if (r.amount.has_value() == !r.lines.empty()) return Out::Fail(ErrorCode::kInvalidArgument);
    if (r.amount && (*r.amount <= 0 || *r.amount > kMaxPurchaseTotal)) {
        return Out::Fail(ErrorCode::kInvalidArgument);
    }
    if (auto it = refunds_.find({store_id, r.refund_id}); it != refunds_.end()) {
        if (!SameRefund(it->second.request, r)) {
            return Out::Fail(ErrorCode::kIdempotencyConflict);
        }
        hub::RefundReceipt again = it->second.receipt;
        again.replayed = true;
        return Out::Ok(again);
    }
    // A store refunds its own purchases: another store's of the same program is forbidden
    // (issue 17); one no store of the program has is not found.
    auto found = purchases_.find({store_id, r.purchase_id});
    if (found == purchases_.end()) {
        const std::string& program = stores_.at(store_id).program_id;
        for (const auto& [key, other] : purchases_) {
            if (key.second == r.purchase_id && key.first != store_id &&
                stores_.at(key.first).program_id == program) {
                return Out::Fail(ErrorCode::kForbidden);
            }
        }
        return Out::Fail(ErrorCode::kNotFound);
    }
    PurchaseState& p = found->second;

    // The amount: as given, or the named lines at the purchase's prices, each out of what is
    // left of the lines it names (bought less earlier refunds of lines and earlier request
    // lines); lines sharing a sku are taken in the purchase's order.
    int64_t amount = r.amount.value_or(0);
    std::vector<int64_t> quantity_after = p.refunded_quantity;
    for (const auto& want : r.lines) {
        auto matches = [&](const core::PurchaseLine& have) {
            return want.sku.empty() ? have.name == want.name : have.sku == want.sku;
        };
        int64_t bought = 0;
        int64_t left = 0;
        for (std::size_t i = 0; i < p.lines.size(); ++i) {
            if (!matches(p.lines[i])) continue;
            bought += p.lines[i].quantity;
            left += p.lines[i].quantity - quantity_after[i];
        }
        if (bought == 0) return Out::Fail(ErrorCode::kInvalidArgument);
        if (want.quantity > left) return Out::Fail(ErrorCode::kRuleViolation);
        int64_t quantity = want.quantity;
        for (std::size_t i = 0; i < p.lines.size() && quantity > 0; ++i) {
            if (!matches(p.lines[i])) continue;
            const int64_t take = std::min(quantity, p.lines[i].quantity - quantity_after[i]);
            quantity_after[i] += take;
            quantity -= take;
            amount += take * p.lines[i].unit_price;
        }
    }
    // Lines that cost nothing refund no amount, which is no refund.
    if (amount <= 0) return Out::Fail(ErrorCode::kInvalidArgument);
    const int64_t refunded_after = p.refunded_amount + amount;
    if (refunded_after > p.total) return Out::Fail(ErrorCode::kRuleViolation);

    ModelAccount& account = accounts_.at(p.account);
    BookExpiries(account, now);
    // The refund's share, cumulatively: floor(points x refunded in all / total) in all.
    int64_t owed = 0;
    if (p.total > 0 && p.points > 0) {
        const auto owed_in_all =
            static_cast<int64_t>(static_cast<__int128>(p.points) * refunded_after / p.total);
        owed = std::max<int64_t>(0, owed_in_all - p.owed);
    }
    // The purchase's expired points not yet counted by a refund count first, booked nowhere.
    const int64_t expired = p.lot ? account.lots[*p.lot].expired : 0;
    const int64_t counted_expired = std::min(owed, expired - p.counted_expired);
    const int64_t to_reverse = owed - counted_expired;
    // The rest: the purchase's own lot first, then the soonest-expiring ones.
    std::vector<std::size_t> order = SpendingOrder(account.lots, now);
    if (p.lot) {
        auto own = std::find(order.begin(), order.end(), *p.lot);
        if (own != order.end()) std::rotate(order.begin(), own, own + 1);
    }
    const int64_t reversed = DrawInOrder(account.lots, order, to_reverse);
    if (reversed > 0) {
        account.entries.push_back({"refund_reversal", -reversed, r.refund_id, store_id});
    }
    p.refunded_amount = refunded_after;
    p.refunded_quantity = quantity_after;
    p.owed += owed;
    p.counted_expired += counted_expired;
    RefundState state{store_id, r, {}};
    state.receipt.refund_id = r.refund_id;
    state.receipt.purchase_id = r.purchase_id;
    state.receipt.amount = amount;
    state.receipt.points_reversed = reversed;
    state.receipt.points_unrecovered = to_reverse - reversed;
    state.receipt.points_expired = counted_expired;
    state.receipt.balance = account.Balance();
    state.receipt.replayed = false;
    refunds_.emplace(IdKey{store_id, r.refund_id}, state);
    return Out::Ok(state.receipt);
}

int64_t LedgerModel::RunExpiry(int64_t now) {
    int64_t count = 0;
    for (auto& [key, account] : accounts_) count += BookExpiries(account, now);
    return count;
}

std::optional<AccountKey> LedgerModel::AccountOfPurchase(const std::string& store_id,
                                                         const std::string& purchase_id) const {
    auto it = purchases_.find({store_id, purchase_id});
    if (it == purchases_.end()) return std::nullopt;
    return it->second.account;
}

std::vector<std::string> LedgerModel::SelfCheck() const {
    std::vector<std::string> problems;
    for (const auto& [key, account] : accounts_) {
        int64_t in_lots = 0;
        for (const auto& lot : account.lots) {
            if (lot.remaining < 0) problems.push_back("model lot below zero");
            in_lots += lot.remaining;
        }
        if (account.Balance() != in_lots || account.Balance() < 0) {
            problems.push_back("model account " + key.member_id + "/" + key.program_id +
                               ": balance " + std::to_string(account.Balance()) + ", lots " +
                               std::to_string(in_lots));
        }
    }
    return problems;
}

}  // namespace kizuna::model
