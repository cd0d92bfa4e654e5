#include "core/purchase.hpp"

#include <limits>

#include "core/limits.hpp"
#include "core/text.hpp"

namespace kizuna::core {

namespace {

constexpr std::size_t kMaxClientIdChars = 64;
constexpr std::size_t kMaxLineNameChars = 200;
constexpr std::size_t kMaxSkuChars = 100;
constexpr std::size_t kMaxCategoryChars = 100;

bool IsClientIdCharacter(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

// Appends one field as "<byte length>:<bytes>;". The length prefix makes the encoding
// injective: no choice of field contents can make two different requests read the same.
void AppendField(std::string& out, std::string_view value) {
    out += std::to_string(value.size());
    out += ':';
    out += value;
    out += ';';
}
void AppendField(std::string& out, int64_t value) { AppendField(out, std::to_string(value)); }

void AppendLines(std::string& out, const std::vector<PurchaseLine>& lines) {
    AppendField(out, static_cast<int64_t>(lines.size()));
    for (const PurchaseLine& line : lines) {
        AppendField(out, line.name);
        AppendField(out, line.sku);
        AppendField(out, line.category);
        AppendField(out, line.quantity);
        AppendField(out, line.unit_price);
    }
}

}  // namespace

Status ValidateClientId(std::string_view id, std::string_view field) {
    bool ok = !id.empty() && id.size() <= kMaxClientIdChars;
    for (const char c : id) ok = ok && IsClientIdCharacter(c);
    if (!ok) {
        return InvalidField(std::string(field),
                            "must be 1 to 64 characters of letters, digits, '.', '_', ':' or '-'");
    }
    return Status::Ok();
}

Status ValidateLines(const std::vector<PurchaseLine>& lines) {
    if (lines.empty()) return InvalidField("lines", "must hold at least one line");
    if (lines.size() > kMaxLinesPerPurchase) {
        return InvalidField("lines",
                            "must hold at most " + std::to_string(kMaxLinesPerPurchase) + " lines");
    }
    int64_t total = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const PurchaseLine& line = lines[i];
        const std::string prefix = "lines[" + std::to_string(i) + "]";
        KZ_RETURN_IF_ERROR(CheckText(line.name, prefix + ".name", 1, kMaxLineNameChars));
        KZ_RETURN_IF_ERROR(CheckText(line.sku, prefix + ".sku", 0, kMaxSkuChars));
        KZ_RETURN_IF_ERROR(CheckText(line.category, prefix + ".category", 0, kMaxCategoryChars));
        if (line.quantity < 1 || line.quantity > kMaxLineQuantity) {
            return InvalidField(prefix + ".quantity",
                                "must be between 1 and " + std::to_string(kMaxLineQuantity));
        }
        if (line.unit_price < 0 || line.unit_price > kMaxUnitPrice) {
            return InvalidField(prefix + ".unit_price",
                                "must be between 0 and " + std::to_string(kMaxUnitPrice));
        }
        // quantity x unit_price is at most 10^15, and the running total at most 10^12 before
        // it: neither overflows; checked all the same, so a change of the limits cannot make
        // it wrap.
        int64_t amount = 0;
        if (__builtin_mul_overflow(line.quantity, line.unit_price, &amount) ||
            __builtin_add_overflow(total, amount, &total) || total > kMaxPurchaseTotal) {
            return InvalidField("lines", "must total at most " + std::to_string(kMaxPurchaseTotal) +
                                             " (10^12 minor units)");
        }
    }
    return Status::Ok();
}

int64_t TotalOf(const std::vector<PurchaseLine>& lines) {
    __int128 total = 0;
    for (const PurchaseLine& line : lines) {
        total += static_cast<__int128>(line.quantity) * line.unit_price;
    }
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    if (total > kMax) return kMax;
    if (total < kMin) return kMin;
    return static_cast<int64_t>(total);
}

std::string CanonicalPurchase(const Purchase& p) {
    std::string out = "purchase/1;";
    AppendField(out, p.purchase_id);
    AppendField(out, p.member_id);
    AppendField(out, p.card_number);
    AppendField(out, p.store_id);
    AppendField(out, ToUnixSeconds(p.occurred_at));
    AppendField(out, p.currency);
    AppendLines(out, p.lines);
    return out;
}

std::string CanonicalRedemption(const Redemption& r) {
    std::string out = "redemption/1;";
    AppendField(out, r.redemption_id);
    AppendField(out, r.member_id);
    AppendField(out, r.store_id);
    AppendField(out, r.points);
    return out;
}

std::string CanonicalRefund(const Refund& r, const std::vector<PurchaseLine>& refunded_lines) {
    std::string out = "refund/1;";
    AppendField(out, r.refund_id);
    AppendField(out, r.purchase_id);
    AppendField(out, r.store_id);
    AppendField(out, r.amount);
    AppendLines(out, refunded_lines);
    return out;
}

}  // namespace kizuna::core
