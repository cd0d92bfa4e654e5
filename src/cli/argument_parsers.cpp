#include "cli/argument_parsers.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <limits>

#include "core/text.hpp"
#include "crypto/crypto.hpp"

namespace kizuna::cli {
namespace {

using core::ErrorCode;
using core::MakeError;

core::Error Invalid(std::string_view field, std::string message) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(field) + ": " + message,
                     std::string(field));
}

std::string Lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool AllDigits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(),
                                        [](unsigned char c) { return std::isdigit(c) != 0; });
}

// Reads "YYYY-MM-DD[(T| )HH:MM[:SS]]" with no zone into a broken-down local time.
bool ParseLocalDateTime(std::string_view text, std::tm& tm) {
    auto number = [&](std::size_t pos, std::size_t len, int& out) {
        if (pos + len > text.size() || !AllDigits(text.substr(pos, len))) return false;
        std::from_chars(text.data() + pos, text.data() + pos + len, out);
        return true;
    };
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!number(0, 4, year) || text.size() < 10 || text[4] != '-' || !number(5, 2, month) ||
        text[7] != '-' || !number(8, 2, day)) {
        return false;
    }
    if (text.size() > 10) {
        if ((text[10] != 'T' && text[10] != ' ') || !number(11, 2, hour) || text.size() < 16 ||
            text[13] != ':' || !number(14, 2, minute)) {
            return false;
        }
        if (text.size() > 16) {
            if (text.size() != 19 || text[16] != ':' || !number(17, 2, second)) return false;
        }
    }
    if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
    const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(month),
                                          std::chrono::day(day)};
    if (!ymd.ok()) return false;
    tm = {};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    tm.tm_isdst = -1;
    return true;
}

}  // namespace

core::Result<std::vector<std::string>> SplitCsvRecord(std::string_view record,
                                                      std::string_view field) {
    std::vector<std::string> fields;
    std::size_t i = 0;
    while (true) {
        std::string value;
        while (i < record.size() && record[i] == ' ') ++i;
        if (i < record.size() && record[i] == '"') {
            ++i;
            bool closed = false;
            while (i < record.size()) {
                if (record[i] == '"') {
                    if (i + 1 < record.size() && record[i + 1] == '"') {
                        value.push_back('"');
                        i += 2;
                        continue;
                    }
                    closed = true;
                    ++i;
                    break;
                }
                value.push_back(record[i++]);
            }
            if (!closed) return Invalid(field, "a quoted value is not closed with '\"'");
            while (i < record.size() && record[i] == ' ') ++i;
            if (i < record.size() && record[i] != ',') {
                return Invalid(field, "unexpected text after a closing quote");
            }
        } else {
            const std::size_t end = record.find(',', i);
            const std::size_t stop = end == std::string_view::npos ? record.size() : end;
            value = core::Trim(record.substr(i, stop - i));
            i = stop;
        }
        fields.push_back(std::move(value));
        if (i >= record.size()) break;
        ++i;  // the comma
    }
    return fields;
}

core::Result<int64_t> ParsePositiveInteger(std::string_view text, std::string_view field) {
    if (!AllDigits(text)) {
        return Invalid(field, "'" + std::string(text) + "' is not a whole number");
    }
    int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
        return Invalid(field, "'" + std::string(text) + "' is too large");
    }
    if (value <= 0) return Invalid(field, "must be greater than zero");
    return value;
}

namespace {

core::Result<int64_t> ParsePrice(std::string_view text, std::string_view field) {
    if (!AllDigits(text)) {
        return Invalid(field, "price '" + std::string(text) +
                                  "' must be a whole number of minor units (e.g. 1980 for "
                                  "1,980 yen), without separators or decimals");
    }
    int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
        return Invalid(field, "price '" + std::string(text) + "' is too large");
    }
    return value;
}

struct ItemColumns {
    int name = 0, category = 1, price = 2, quantity = 3, sku = 4;
};

core::Result<core::PurchaseLine> ItemFromFields(const std::vector<std::string>& fields,
                                                const ItemColumns& columns,
                                                std::string_view field) {
    auto at = [&](int index) -> std::string {
        return index >= 0 && static_cast<std::size_t>(index) < fields.size() ? fields[index] : "";
    };
    const int known =
        std::max({columns.name, columns.category, columns.price, columns.quantity, columns.sku});
    if (fields.size() > static_cast<std::size_t>(known) + 1) {
        return Invalid(field, "too many values; expected name,category,price[,qty[,sku]]");
    }
    core::PurchaseLine line;
    line.name = at(columns.name);
    if (line.name.empty()) {
        return Invalid(field, "the item name is missing; expected name,category,price[,qty[,sku]]");
    }
    line.category = at(columns.category);
    const std::string price = at(columns.price);
    if (price.empty()) {
        return Invalid(field, "the price of '" + line.name +
                                  "' is missing; expected name,category,price[,qty[,sku]]");
    }
    KZ_ASSIGN_OR_RETURN(line.unit_price, ParsePrice(price, field));
    const std::string quantity = at(columns.quantity);
    if (!quantity.empty()) {
        auto parsed = ParsePositiveInteger(quantity, field);
        if (!parsed) {
            return Invalid(field, "quantity '" + quantity + "' of '" + line.name +
                                      "' must be a whole number greater than zero");
        }
        line.quantity = *parsed;
    }
    line.sku = at(columns.sku);
    return line;
}

}  // namespace

core::Result<core::PurchaseLine> ParseItem(std::string_view text, std::string_view field) {
    KZ_ASSIGN_OR_RETURN(auto fields, SplitCsvRecord(text, field));
    return ItemFromFields(fields, ItemColumns{}, field);
}

core::Result<std::vector<core::PurchaseLine>> ParseItemsCsv(std::string_view content,
                                                            std::string_view field) {
    std::vector<core::PurchaseLine> lines;
    ItemColumns columns;
    bool first_record = true;
    int line_number = 0;
    std::size_t pos = 0;
    while (pos <= content.size()) {
        std::size_t end = content.find('\n', pos);
        if (end == std::string_view::npos) end = content.size();
        std::string_view record = content.substr(pos, end - pos);
        pos = end + 1;
        ++line_number;
        if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
        if (line_number == 1 && record.substr(0, 3) == "\xEF\xBB\xBF") record.remove_prefix(3);
        const std::string trimmed = core::Trim(record);
        if (trimmed.empty() || trimmed[0] == '#') continue;
        const std::string where = std::string(field) + ":" + std::to_string(line_number);
        KZ_ASSIGN_OR_RETURN(auto fields, SplitCsvRecord(record, where));
        if (first_record) {
            first_record = false;
            // A header row names the columns; it is recognised by its first value.
            const std::string head = Lower(fields.empty() ? "" : fields[0]);
            if (head == "name" || head == "category" || head == "price" || head == "sku" ||
                head == "qty" || head == "quantity") {
                columns = ItemColumns{-1, -1, -1, -1, -1};
                for (std::size_t i = 0; i < fields.size(); ++i) {
                    const std::string name = Lower(fields[i]);
                    int* slot = name == "name"                            ? &columns.name
                                : name == "category"                      ? &columns.category
                                : name == "price" || name == "unit_price" ? &columns.price
                                : name == "qty" || name == "quantity"     ? &columns.quantity
                                : name == "sku"                           ? &columns.sku
                                                                          : nullptr;
                    if (slot == nullptr) {
                        return Invalid(where, "unknown column '" + fields[i] +
                                                  "' (use name, category, price, qty, sku)");
                    }
                    *slot = static_cast<int>(i);
                }
                if (columns.name < 0 || columns.price < 0) {
                    return Invalid(where,
                                   "the header must name at least the name and price "
                                   "columns");
                }
                continue;
            }
        }
        KZ_ASSIGN_OR_RETURN(auto line, ItemFromFields(fields, columns, where));
        lines.push_back(std::move(line));
    }
    if (lines.empty()) return Invalid(field, "no items found");
    return lines;
}

core::Result<int64_t> ParseMilli(std::string_view text, std::string_view field) {
    const std::string original(text);
    const std::size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    if (!AllDigits(whole) || (dot != std::string_view::npos && !AllDigits(fraction)) ||
        whole.size() > 6) {
        return Invalid(field, "'" + original + "' is not a number like 2 or 1.5");
    }
    if (fraction.size() > 3) {
        return Invalid(field, "'" + original + "' has more than three decimals");
    }
    int64_t value = 0;
    std::from_chars(whole.data(), whole.data() + whole.size(), value);
    int64_t milli = value * 1000;
    int64_t scale = 100;
    for (char c : fraction) {
        milli += (c - '0') * scale;
        scale /= 10;
    }
    return milli;
}

std::string FormatMilli(int64_t milli) {
    std::string text = std::to_string(milli / 1000);
    int64_t rest = milli % 1000;
    if (rest != 0) {
        std::string fraction = std::to_string(rest);
        fraction.insert(0, 3 - fraction.size(), '0');
        while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
        text += "." + fraction;
    }
    return text;
}

core::Result<std::pair<std::string, int64_t>> ParseMultiplier(std::string_view text,
                                                              std::string_view field) {
    const std::size_t eq = text.rfind('=');
    if (eq == std::string_view::npos) {
        return Invalid(field, "'" + std::string(text) +
                                  "' should be category=multiplier, e.g. "
                                  "books=2 or tea=1.5");
    }
    std::string category = core::Trim(text.substr(0, eq));
    if (category.empty()) return Invalid(field, "the category before '=' is empty");
    KZ_ASSIGN_OR_RETURN(int64_t milli, ParseMilli(core::Trim(text.substr(eq + 1)), field));
    return std::make_pair(std::move(category), milli);
}

core::Result<core::BonusWindow> ParseBonusWindow(std::string_view text, std::string_view field) {
    KZ_ASSIGN_OR_RETURN(auto fields, SplitCsvRecord(text, field));
    if (fields.size() != 3) {
        return Invalid(field, "'" + std::string(text) +
                                  "' should be START,END,MULTIPLIER, e.g. "
                                  "2026-12-01,2026-12-25,2");
    }
    const core::Timestamp now =
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    core::BonusWindow window;
    KZ_ASSIGN_OR_RETURN(window.start, ParseTimeArgument(fields[0], field, now));
    KZ_ASSIGN_OR_RETURN(window.end, ParseTimeArgument(fields[1], field, now));
    KZ_ASSIGN_OR_RETURN(window.multiplier_milli, ParseMilli(fields[2], field));
    if (!(window.start < window.end)) {
        return Invalid(field, "the window's start must be before its end");
    }
    return window;
}

core::Result<core::Timestamp> ParseTimeArgument(std::string_view text, std::string_view field,
                                                core::Timestamp now) {
    const std::string trimmed = core::Trim(text);
    if (Lower(trimmed) == "now") return now;
    std::tm tm{};
    if (ParseLocalDateTime(trimmed, tm)) {
        errno = 0;
        const std::time_t t = std::mktime(&tm);
        if (t == static_cast<std::time_t>(-1) && errno != 0) {
            return Invalid(field, "'" + trimmed + "' is not a representable local time");
        }
        return core::FromUnixSeconds(static_cast<int64_t>(t));
    }
    auto parsed = core::ParseRfc3339(trimmed, field);
    if (!parsed) {
        return Invalid(field, "'" + trimmed +
                                  "' is not a time; use 2026-11-22, 2026-11-22T15:04 (local) or "
                                  "2026-11-22T15:04:05+09:00");
    }
    return *parsed;
}

core::Result<RefundItem> ParseRefundItem(std::string_view text, std::string_view field) {
    KZ_ASSIGN_OR_RETURN(auto fields, SplitCsvRecord(text, field));
    if (fields.empty() || fields.size() > 2 || fields[0].empty()) {
        return Invalid(
            field, "'" + std::string(text) + "' should be SKU-OR-NAME[,QTY], e.g. 4901234567894,1");
    }
    RefundItem item;
    item.key = fields[0];
    if (fields.size() == 2 && !fields[1].empty()) {
        KZ_ASSIGN_OR_RETURN(item.quantity, ParsePositiveInteger(fields[1], field));
    }
    return item;
}

std::string NewClientId() {
    static constexpr char kHex[] = "0123456789abcdef";
    crypto::SystemRandom random;
    std::string id;
    for (int i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) id.push_back('-');
        uint64_t nibble = random.Uniform(16);
        if (i == 12) nibble = 4;                   // version 4
        if (i == 16) nibble = 8 + (nibble & 0x3);  // RFC 4122 variant
        id.push_back(kHex[nibble]);
    }
    return id;
}

}  // namespace kizuna::cli
