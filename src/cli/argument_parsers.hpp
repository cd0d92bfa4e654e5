#pragma once
// Parsers for the values people type on the command line: purchase items, category multipliers,
// bonus windows, times, refund items. Each returns a core::Error of kind kInvalidArgument whose
// `field` names the option ("--item") and whose message says what is wrong and what is expected.
// Pure functions, thread-safe (ParseTimeArgument reads the process's local time zone).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/earning_rule.hpp"
#include "core/purchase.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::cli {

// One record of comma-separated values. Fields may be double-quoted so they can hold commas;
// "" inside quotes is a quote. Surrounding spaces of unquoted fields are trimmed.
// Errors: an unterminated quote, text after a closing quote.
core::Result<std::vector<std::string>> SplitCsvRecord(std::string_view record,
                                                      std::string_view field);

// "name,category,price[,qty[,sku]]": price a whole number of minor units (yen for JPY),
// qty a positive integer (default 1). Category may be empty ("Tea,,300").
core::Result<core::PurchaseLine> ParseItem(std::string_view text,
                                           std::string_view field = "--item");

// A CSV file of items, one per line, in the column order of ParseItem, or in any order when the
// first line is a header naming the columns (name, category, price, qty|quantity, sku). Blank
// lines and lines starting with '#' are skipped. Errors name the line ("--items-file:3").
core::Result<std::vector<core::PurchaseLine>> ParseItemsCsv(std::string_view content,
                                                            std::string_view field);

// A non-negative decimal with at most three fractional digits, as thousandths: "1.5" -> 1500.
core::Result<int64_t> ParseMilli(std::string_view text, std::string_view field);
// Thousandths back to the shortest decimal text: 1500 -> "1.5", 2000 -> "2".
std::string FormatMilli(int64_t milli);

// "category=1.5" -> {"category", 1500}. The category is everything before the last '='.
core::Result<std::pair<std::string, int64_t>> ParseMultiplier(
    std::string_view text, std::string_view field = "--multiplier");

// "START,END,MULT": two times (see ParseTimeArgument) and a multiplier; START before END.
core::Result<core::BonusWindow> ParseBonusWindow(std::string_view text,
                                                 std::string_view field = "--bonus");

// A time: RFC 3339 ("2026-11-22T15:04:05Z", "...+09:00"), or local time without a zone
// ("2026-11-22", "2026-11-22T15:04", "2026-11-22 15:04:05"), or "now" (given as `now`).
core::Result<core::Timestamp> ParseTimeArgument(std::string_view text, std::string_view field,
                                                core::Timestamp now);

// A refund item "sku-or-name,qty" (qty defaults to 1).
struct RefundItem {
    std::string key;  // a SKU or a line name of the purchase
    int64_t quantity = 1;
};
core::Result<RefundItem> ParseRefundItem(std::string_view text, std::string_view field = "--item");

// A positive whole number ("1980"); rejects signs, spaces, decimals and overflow.
core::Result<int64_t> ParsePositiveInteger(std::string_view text, std::string_view field);

// A fresh random id in the UUID v4 text form, for purchase/redemption/refund ids: printed so that
// a retry of the same operation can reuse it (the hub treats a repeated id as the same request).
std::string NewClientId();

}  // namespace kizuna::cli
