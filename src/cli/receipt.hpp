#pragma once
// The customer's receipt of a sale at the till (issue 17): the lines with the points each earns
// by the rule, the points used and what they paid, the amount due, the points earned, the
// balance and the next expiry; as text for the terminal, or as an 80 mm receipt PDF
// (cairo + pango, so Japanese renders).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/purchase.hpp"
#include "core/result.hpp"

namespace kizuna::cli {

struct ReceiptLine {
    std::string name;
    int64_t quantity = 1;
    int64_t amount = 0;  // quantity × unit price
    int64_t points = 0;  // by the store's rule, before points used as payment
};

struct Receipt {
    std::string purchase_id;
    std::string member_id;
    std::string currency;
    std::vector<ReceiptLine> lines;
    int64_t total = 0;
    int64_t points_used = 0;
    int64_t points_value = 0;
    int64_t amount_due = 0;
    int64_t points_earned = 0;
    int64_t balance = 0;
    int64_t next_expiry_points = 0;
    std::string next_expiry_date;  // YYYY-MM-DD, empty when no points remain
    bool replayed = false;
};

// From the lines sent and the hub's answer to POST /v1/purchases.
Receipt ReceiptFromAnswer(const std::vector<core::PurchaseLine>& lines,
                          const nlohmann::json& reply);
std::string ReceiptText(const Receipt& receipt);
// Writes an 80 mm wide PDF receipt to `path`. Errors: kUnavailable (cannot write).
core::Status WriteReceiptPdf(const std::string& path, const Receipt& receipt);

}  // namespace kizuna::cli
