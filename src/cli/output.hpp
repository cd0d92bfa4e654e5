#pragma once
// How commands print: a JSON document (--json, for scripts: one parseable document on stdout),
// or for people aligned tables and "key: value" summaries that respect the display width of
// Japanese text (a kanji takes two columns). Errors go to stderr. Not thread-safe (stdout).

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/hub_client.hpp"
#include "core/result.hpp"

namespace kizuna::cli {

// Terminal columns the UTF-8 text occupies: East Asian wide and fullwidth characters count 2,
// combining marks 0, everything else 1.
std::size_t DisplayWidth(std::string_view text);

class Table {
  public:
    explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
    // Columns whose values are numbers are right-aligned.
    void AlignRight(std::size_t column) { right_.push_back(column); }
    void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    bool empty() const { return rows_.empty(); }
    void Print(std::ostream& out) const;
    // Prints `when_empty` instead of a table without rows.
    void Print(std::ostream& out, std::string_view when_empty) const;

  private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
    std::vector<std::size_t> right_;
};

// "key: value" lines with the keys padded to one width.
void PrintSummary(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& lines);

// Pretty JSON followed by a newline; UTF-8 kept as is.
void PrintJson(std::ostream& out, const nlohmann::json& value);

// Reports a failed hub call (stderr; with --json also the error document on stdout) and returns
// the exit code for it.
int ReportFailure(const HubFailure& failure, bool json);
// Reports a local error (bad input, file I/O) and returns `exit_code`.
int ReportError(const core::Error& error, int exit_code, bool json);

// 1234567 -> "1,234,567".
std::string GroupThousands(int64_t value);
// Amount in minor units with its currency: "¥1,980" for JPY, "1,980 USD" otherwise.
std::string FormatMoney(int64_t amount, std::string_view currency);
// An RFC 3339 time from the hub shown in local time, "2026-11-22 15:04"; unparseable text is
// returned unchanged.
std::string LocalTime(std::string_view rfc3339);

// Reads a value from a JSON answer without throwing: the value at `key` if present and of the
// right kind, else the fallback.
std::string JsonString(const nlohmann::json& object, std::string_view key,
                       std::string fallback = "");
int64_t JsonInt(const nlohmann::json& object, std::string_view key, int64_t fallback = 0);

}  // namespace kizuna::cli
