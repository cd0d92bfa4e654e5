#include "hub/settlement_export.hpp"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "hub/text_format.hpp"

namespace kizuna::hub {

namespace {

// A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string CsvField(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string JapaneseMonth(core::Period period) {
    return std::to_string(period.year) + "年" + std::to_string(period.month) + "月";
}

std::string Yen(int64_t value, const std::string& currency) {
    if (currency == "JPY")
        return (value < 0 ? "-¥" : "¥") + GroupThousands(value < 0 ? -value : value);
    return FormatMoney(value, currency);
}

std::string FeeRate(int64_t bp) {
    char text[32];
    std::snprintf(text, sizeof text, "%lld.%02lld%%", static_cast<long long>(bp / 100),
                  static_cast<long long>(bp % 100));
    return text;
}

constexpr double kPointsPerMm = 72.0 / 25.4;
constexpr double kPageWidth = 210.0 * kPointsPerMm;
constexpr double kPageHeight = 297.0 * kPointsPerMm;
constexpr double kMargin = 15.0 * kPointsPerMm;

enum class Align { kLeft, kRight };

// Draws `text` in a box at (x, y) `width` wide, ellipsized; returns the height used.
double DrawText(cairo_t* cr, const std::string& text, const char* font, double x, double y,
                double width, Align align = Align::kLeft) {
    std::unique_ptr<PangoLayout, decltype(&g_object_unref)> layout(pango_cairo_create_layout(cr),
                                                                   &g_object_unref);
    std::unique_ptr<PangoFontDescription, decltype(&pango_font_description_free)> description(
        pango_font_description_from_string(font), &pango_font_description_free);
    pango_layout_set_font_description(layout.get(), description.get());
    pango_layout_set_width(layout.get(), static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_ellipsize(layout.get(), PANGO_ELLIPSIZE_END);
    pango_layout_set_alignment(layout.get(),
                               align == Align::kRight ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
    pango_layout_set_text(layout.get(), text.c_str(), -1);
    int text_width = 0;
    int text_height = 0;
    pango_layout_get_size(layout.get(), &text_width, &text_height);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout.get());
    return static_cast<double>(text_height) / PANGO_SCALE;
}

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
}

constexpr const char* kFont = "Noto Sans CJK JP 8";
constexpr const char* kBold = "Noto Sans CJK JP Bold 8";

struct Column {
    const char* title;
    double width_mm;
    Align align;
};

constexpr Column kColumns[] = {
    {"店舗", 34, Align::kLeft},    {"発行pt", 16, Align::kRight}, {"利用pt", 16, Align::kRight},
    {"取消pt", 14, Align::kRight}, {"失効pt", 14, Align::kRight}, {"発行額", 20, Align::kRight},
    {"利用額", 20, Align::kRight}, {"手数料", 16, Align::kRight}, {"失効返還", 16, Align::kRight},
    {"差引", 14, Align::kRight},
};

class PdfWriter {
  public:
    explicit PdfWriter(cairo_t* cr) : cr_(cr) {}

    double y() const { return y_; }
    void Skip(double points) { y_ += points; }
    // Starts a new page when fewer than `needed` points remain.
    void Ensure(double needed) {
        if (y_ + needed <= kPageHeight - kMargin) return;
        cairo_show_page(cr_);
        y_ = kMargin;
    }
    void Line(const std::string& text, const char* font = kFont) {
        Ensure(14);
        y_ += DrawText(cr_, text, font, kMargin, y_, kPageWidth - 2 * kMargin) + 2;
    }
    void Row(const std::vector<std::string>& cells, const char* font) {
        Ensure(14);
        double x = kMargin;
        double height = 0;
        for (std::size_t i = 0; i < cells.size() && i < std::size(kColumns); ++i) {
            const double width = kColumns[i].width_mm * kPointsPerMm;
            height = std::max(height,
                              DrawText(cr_, cells[i], font, x, y_, width - 3, kColumns[i].align));
            x += width;
        }
        y_ += height + 3;
    }
    void Rule() {
        cairo_set_line_width(cr_, 0.5);
        cairo_move_to(cr_, kMargin, y_);
        cairo_line_to(cr_, kPageWidth - kMargin, y_);
        cairo_stroke(cr_);
        y_ += 3;
    }

  private:
    cairo_t* cr_;
    double y_ = kMargin;
};

}  // namespace

std::string SettlementCsv(const SettlementStatement& s) {
    const core::Statement& st = s.statement;
    std::string out = "\xEF\xBB\xBF";  // byte-order mark
    out +=
        "period,status,store_id,store_name,points_issued,points_redeemed,points_reversed,"
        "points_expired,issued_value,redeemed_value,reversed_value,expired_value,fees,"
        "breakage_returned,net,late_entries\r\n";
    for (const core::StatementRow& r : st.rows) {
        const core::PartyPoints& p = r.points;
        const std::vector<std::string> fields = {core::FormatPeriod(st.period),
                                                 s.closed ? "closed" : "open",
                                                 p.store_id,
                                                 p.store_name,
                                                 std::to_string(p.issued),
                                                 std::to_string(p.redeemed),
                                                 std::to_string(p.reversed),
                                                 std::to_string(p.expired),
                                                 std::to_string(r.issued_value),
                                                 std::to_string(r.redeemed_value),
                                                 std::to_string(r.reversed_value),
                                                 std::to_string(r.expired_value),
                                                 std::to_string(r.fees),
                                                 std::to_string(r.breakage_returned),
                                                 std::to_string(r.net),
                                                 std::to_string(p.late_entries)};
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (i > 0) out += ',';
            out += CsvField(fields[i]);
        }
        out += "\r\n";
    }
    if (s.program_visible) {
        const core::ProgramTotals& t = st.program;
        out += "\r\nprogram_figure,value\r\n";
        const std::pair<const char*, int64_t> figures[] = {
            {"point_value", st.economics.point_value},
            {"issuing_fee_bp", st.economics.issuing_fee_bp},
            {"opening_points", t.opening_points},
            {"closing_points", t.closing_points},
            {"opening_value", t.opening_value},
            {"closing_value", t.closing_value},
            {"deposit_change", t.deposit_change},
            {"fees_kept", t.fees_kept},
            {"breakage_kept", t.breakage_kept},
            {"sum_net", t.sum_net},
        };
        for (const auto& [name, value] : figures) {
            out += std::string(name) + "," + std::to_string(value) + "\r\n";
        }
        out += std::string("breakage,") +
               std::string(core::BreakagePolicyName(st.economics.breakage)) + "\r\n";
    }
    return out;
}

core::Result<std::string> SettlementPdf(const SettlementStatement& s) {
    const core::Statement& st = s.statement;
    std::string bytes;
    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
        cairo_pdf_surface_create_for_stream(AppendToString, &bytes, kPageWidth, kPageHeight),
        &cairo_surface_destroy);
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
        return core::MakeError(core::ErrorCode::kInternal,
                               std::string("cannot make the PDF: ") +
                                   cairo_status_to_string(cairo_surface_status(surface.get())));
    }
    const std::string title = "ポイント精算書 " + JapaneseMonth(st.period);
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, title.c_str());
    {
        std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr(cairo_create(surface.get()),
                                                              &cairo_destroy);
        PdfWriter pdf(cr.get());
        cairo_set_source_rgb(cr.get(), 0, 0, 0);
        pdf.Line(title, "Noto Sans CJK JP Bold 16");
        pdf.Line(s.program_name + "（" + s.program_id + "）");
        pdf.Line(s.closed ? "確定済み（" + core::FormatRfc3339(s.closed_at) + " 締め）"
                          : "未確定（" + core::FormatRfc3339(s.as_of) + " 時点、期間中）");
        pdf.Line("期間: " + JapaneseMonth(st.period) + "（日本時間の暦月、台帳への計上日で集計）");
        pdf.Line("1ポイント = " + Yen(st.economics.point_value, s.currency) + "、発行手数料 " +
                 FeeRate(st.economics.issuing_fee_bp) +
                 "（店舗・期間ごとに1円未満切り捨て）、失効ポイント: " +
                 (st.economics.breakage == core::BreakagePolicy::kIssuers ? "発行店に返還"
                                                                          : "運営に帰属"));
        pdf.Line(
            "差引がプラスの店舗はプログラムへ支払い、マイナスの店舗はプログラムから受け取ります。");
        pdf.Skip(6);
        std::vector<std::string> header;
        for (const Column& c : kColumns) header.push_back(c.title);
        pdf.Row(header, kBold);
        pdf.Rule();
        for (const core::StatementRow& r : st.rows) {
            const core::PartyPoints& p = r.points;
            pdf.Row({p.store_name, GroupThousands(p.issued), GroupThousands(p.redeemed),
                     GroupThousands(p.reversed), GroupThousands(p.expired),
                     Yen(r.issued_value, s.currency), Yen(r.redeemed_value, s.currency),
                     Yen(r.fees, s.currency), Yen(r.breakage_returned, s.currency),
                     Yen(r.net, s.currency)},
                    kFont);
        }
        pdf.Rule();
        if (s.program_visible) {
            const core::ProgramTotals& t = st.program;
            pdf.Skip(6);
            pdf.Line("プログラム（預り金）", kBold);
            pdf.Line("期首の未使用ポイント " + GroupThousands(t.opening_points) + " pt（" +
                     Yen(t.opening_value, s.currency) + "）、期末 " +
                     GroupThousands(t.closing_points) + " pt（預り金 " +
                     Yen(t.closing_value, s.currency) + "）");
            pdf.Line("預り金の増減 " + Yen(t.deposit_change, s.currency) + "、手数料収入 " +
                     Yen(t.fees_kept, s.currency) + "、失効益 " + Yen(t.breakage_kept, s.currency));
            pdf.Line("検算: 差引合計 " + Yen(t.sum_net, s.currency) +
                     " − 預り金の増減 − 運営収入 " + Yen(t.kept, s.currency) + " = " +
                     Yen(t.sum_net - t.deposit_change - t.kept, s.currency));
        }
        if (!s.late_entries.empty()) {
            pdf.Skip(6);
            pdf.Line("遅れて計上された取引（発生日は元の日付）", kBold);
            for (const core::LedgerEntry& e : s.late_entries) {
                pdf.Line(core::FormatRfc3339(e.occurred_at) + " 発生 / " +
                         core::FormatRfc3339(e.recorded_at) + " 計上  " +
                         std::string(core::EntryKindName(e.kind)) + " " + GroupThousands(e.delta) +
                         " pt  " + e.ref);
            }
        }
        cairo_show_page(cr.get());
    }
    cairo_surface_finish(surface.get());
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
        return core::MakeError(core::ErrorCode::kInternal,
                               std::string("cannot make the PDF: ") +
                                   cairo_status_to_string(cairo_surface_status(surface.get())));
    }
    return bytes;
}

}  // namespace kizuna::hub
