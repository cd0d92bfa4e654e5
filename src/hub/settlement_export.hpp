#pragma once
// A settlement statement as a file: CSV (UTF-8 with a byte-order mark, so spreadsheet programs
// in Japan read it as UTF-8; one row per store, then the program's figures for the operator) and
// a Japanese PDF (A4, Pango + cairo with Noto Sans CJK JP, Debian's fonts-noto-cjk, as
// card/card_pdf). Both show exactly what the JSON statement shows to the same caller.
// Thread-safety: pure functions; may run in several threads at once.

#include <string>

#include "core/result.hpp"
#include "hub/settlement_service.hpp"

namespace kizuna::hub {

std::string SettlementCsv(const SettlementStatement& statement);

// The PDF's bytes. Errors: kInternal when cairo fails.
core::Result<std::string> SettlementPdf(const SettlementStatement& statement);

}  // namespace kizuna::hub
