#include "cli/output.hpp"

#include <algorithm>
#include <ctime>
#include <iostream>

#include "core/time.hpp"

namespace kizuna::cli {
namespace {

int CodePointWidth(uint32_t cp) {
    if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) ||
        (cp >= 0x3099 && cp <= 0x309A) || (cp >= 0xFE00 && cp <= 0xFE0F)) {
        return 0;
    }
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
                      (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
                      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
                      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD);
    return wide ? 2 : 1;
}

void PadTo(std::ostream& out, std::string_view text, std::size_t width, bool right) {
    const std::size_t used = DisplayWidth(text);
    const std::string pad(width > used ? width - used : 0, ' ');
    if (right)
        out << pad << text;
    else
        out << text << pad;
}

}  // namespace

std::size_t DisplayWidth(std::string_view text) {
    std::size_t width = 0;
    for (std::size_t i = 0; i < text.size();) {
        const auto byte = static_cast<unsigned char>(text[i]);
        int length = byte < 0x80           ? 1
                     : (byte >> 5) == 0x6  ? 2
                     : (byte >> 4) == 0xE  ? 3
                     : (byte >> 3) == 0x1E ? 4
                                           : 1;
        if (i + length > text.size()) length = 1;
        uint32_t cp = length == 1 ? byte : byte & (0x7F >> length);
        for (int k = 1; k < length; ++k) {
            cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        }
        width += static_cast<std::size_t>(CodePointWidth(cp));
        i += static_cast<std::size_t>(length);
    }
    return width;
}

void Table::Print(std::ostream& out) const {
    std::vector<std::size_t> widths(headers_.size(), 0);
    for (std::size_t c = 0; c < headers_.size(); ++c) widths[c] = DisplayWidth(headers_[c]);
    for (const auto& row : rows_) {
        for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) {
            widths[c] = std::max(widths[c], DisplayWidth(row[c]));
        }
    }
    auto print_row = [&](const std::vector<std::string>& row) {
        for (std::size_t c = 0; c < widths.size(); ++c) {
            const std::string& cell = c < row.size() ? row[c] : std::string();
            const bool right = std::find(right_.begin(), right_.end(), c) != right_.end();
            const bool last = c + 1 == widths.size();
            if (last && !right)
                out << cell;
            else
                PadTo(out, cell, widths[c], right);
            if (!last) out << "  ";
        }
        out << '\n';
    };
    print_row(headers_);
    for (const auto& row : rows_) print_row(row);
}

void Table::Print(std::ostream& out, std::string_view when_empty) const {
    if (rows_.empty())
        out << when_empty;
    else
        Print(out);
}

void PrintSummary(std::ostream& out,
                  const std::vector<std::pair<std::string, std::string>>& lines) {
    std::size_t width = 0;
    for (const auto& [key, value] : lines) width = std::max(width, DisplayWidth(key) + 1);
    for (const auto& [key, value] : lines) {
        PadTo(out, key + ":", width, false);
        out << ' ' << value << '\n';
    }
}

void PrintJson(std::ostream& out, const nlohmann::json& value) {
    out << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

int ReportFailure(const HubFailure& failure, bool json) {
    if (json) PrintJson(std::cout, failure.body);
    std::cerr << "error: " << failure.Describe() << '\n';
    return ExitCodeOf(failure);
}

int ReportError(const core::Error& error, int exit_code, bool json) {
    if (json) {
        nlohmann::json body = {{"code", std::string(core::ErrorCodeName(error.code))},
                               {"message", error.message}};
        if (!error.field.empty()) body["field"] = error.field;
        PrintJson(std::cout, {{"error", body}});
    }
    std::cerr << "error: " << error.message << '\n';
    return exit_code;
}

std::string GroupThousands(int64_t value) {
    const bool negative = value < 0;
    const uint64_t magnitude =
        negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
    const std::string digits = std::to_string(magnitude);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return negative ? "-" + out : out;
}

std::string FormatMoney(int64_t amount, std::string_view currency) {
    if (currency.empty() || currency == "JPY") return "\xC2\xA5" + GroupThousands(amount);
    return GroupThousands(amount) + " " + std::string(currency);
}

std::string LocalTime(std::string_view rfc3339) {
    auto parsed = core::ParseRfc3339(rfc3339, "time");
    if (!parsed) return std::string(rfc3339);
    const std::time_t t = static_cast<std::time_t>(core::ToUnixSeconds(*parsed));
    std::tm tm{};
    if (localtime_r(&t, &tm) == nullptr) return std::string(rfc3339);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M", &tm);
    return buffer;
}

std::string JsonString(const nlohmann::json& object, std::string_view key, std::string fallback) {
    if (!object.is_object()) return fallback;
    auto it = object.find(std::string(key));
    if (it == object.end()) return fallback;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number() || it->is_boolean()) return it->dump();
    return fallback;
}

int64_t JsonInt(const nlohmann::json& object, std::string_view key, int64_t fallback) {
    if (!object.is_object()) return fallback;
    auto it = object.find(std::string(key));
    if (it == object.end() || !it->is_number()) return fallback;
    return it->get<int64_t>();
}

}  // namespace kizuna::cli
