#include "cli/receipt.hpp"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include <memory>
#include <sstream>
#include <utility>

#include "cli/output.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

int64_t IntOf(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// The receipt's rows: a label on the left, a value on the right ("" for a heading).
std::vector<std::pair<std::string, std::string>> Rows(const Receipt& r) {
    std::vector<std::pair<std::string, std::string>> rows;
    auto money = [&](int64_t amount) { return FormatMoney(amount, r.currency); };
    for (const ReceiptLine& line : r.lines) {
        std::string label = line.name;
        if (line.quantity != 1) label += " ×" + std::to_string(line.quantity);
        rows.emplace_back(label, money(line.amount));
        rows.emplace_back("  points", GroupThousands(line.points) + " pt");
    }
    rows.emplace_back("Total", money(r.total));
    if (r.points_used > 0) {
        rows.emplace_back("Points used",
                          GroupThousands(r.points_used) + " pt (-" + money(r.points_value) + ")");
    }
    rows.emplace_back("Amount due", money(r.amount_due));
    rows.emplace_back("Points earned", GroupThousands(r.points_earned) + " pt");
    rows.emplace_back("Balance", GroupThousands(r.balance) + " pt");
    if (!r.next_expiry_date.empty()) {
        rows.emplace_back("Next expiry",
                          GroupThousands(r.next_expiry_points) + " pt on " + r.next_expiry_date);
    }
    return rows;
}

constexpr double kPointsPerMm = 72.0 / 25.4;
constexpr double kWidth = 80.0 * kPointsPerMm;
constexpr double kMargin = 4.0 * kPointsPerMm;
constexpr double kRowHeight = 13.0;

// Draws `text` in a box `width` wide at (x, y), aligned left or right.
void Draw(cairo_t* cr, const std::string& text, const char* font, double x, double y, double width,
          bool right) {
    std::unique_ptr<PangoLayout, decltype(&g_object_unref)> layout(pango_cairo_create_layout(cr),
                                                                   &g_object_unref);
    std::unique_ptr<PangoFontDescription, decltype(&pango_font_description_free)> description(
        pango_font_description_from_string(font), &pango_font_description_free);
    pango_layout_set_font_description(layout.get(), description.get());
    pango_layout_set_width(layout.get(), static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_ellipsize(layout.get(), PANGO_ELLIPSIZE_END);
    pango_layout_set_alignment(layout.get(), right ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
    pango_layout_set_text(layout.get(), text.c_str(), -1);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout.get());
}

}  // namespace

Receipt ReceiptFromAnswer(const std::vector<core::PurchaseLine>& lines, const json& reply) {
    Receipt r;
    r.purchase_id = reply.value("purchase_id", "");
    r.member_id = reply.value("member_id", "");
    r.currency = reply.value("currency", "");
    const json line_points = reply.value("line_points", json::array());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        ReceiptLine line{lines[i].name, lines[i].quantity, lines[i].Amount(), 0};
        if (i < line_points.size() && line_points[i].is_number_integer()) {
            line.points = line_points[i].get<int64_t>();
        }
        r.lines.push_back(std::move(line));
    }
    r.total = IntOf(reply, "total");
    r.points_used = IntOf(reply, "points_used");
    r.points_value = IntOf(reply, "points_value");
    r.amount_due = reply.contains("amount_due") ? IntOf(reply, "amount_due") : r.total;
    r.points_earned = IntOf(reply, "points_earned");
    r.balance = IntOf(reply, "balance");
    if (auto it = reply.find("next_expiry"); it != reply.end() && it->is_object()) {
        r.next_expiry_points = IntOf(*it, "points");
        r.next_expiry_date = it->value("at", "").substr(0, 10);
    }
    r.replayed = reply.value("replayed", false);
    return r;
}

std::string ReceiptText(const Receipt& receipt) {
    std::ostringstream out;
    out << "Receipt " << receipt.purchase_id << "  member " << receipt.member_id << "\n";
    if (receipt.replayed) out << "(already recorded with this id; nothing changed)\n";
    std::size_t width = 0;
    const auto rows = Rows(receipt);
    for (const auto& row : rows) width = std::max(width, DisplayWidth(row.first));
    for (const auto& [label, value] : rows) {
        out << "  " << label << std::string(width - DisplayWidth(label) + 2, ' ') << value << "\n";
    }
    return out.str();
}

core::Status WriteReceiptPdf(const std::string& path, const Receipt& receipt) {
    const auto rows = Rows(receipt);
    const double height = 2 * kMargin + kRowHeight * static_cast<double>(rows.size() + 4);
    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
        cairo_pdf_surface_create(path.c_str(), kWidth, height), &cairo_surface_destroy);
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
        return core::MakeError(core::ErrorCode::kUnavailable, "cannot write " + path);
    }
    std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr(cairo_create(surface.get()),
                                                          &cairo_destroy);
    cairo_set_source_rgb(cr.get(), 0, 0, 0);
    const double inner = kWidth - 2 * kMargin;
    double y = kMargin;
    Draw(cr.get(), "Kizuna — " + receipt.purchase_id, "Noto Sans CJK JP Bold 9", kMargin, y, inner,
         false);
    y += kRowHeight;
    Draw(cr.get(), "Member " + receipt.member_id, "Noto Sans CJK JP 7", kMargin, y, inner, false);
    y += kRowHeight * 1.5;
    for (const auto& [label, value] : rows) {
        const bool strong = label == "Amount due" || label == "Total";
        const char* font = strong ? "Noto Sans CJK JP Bold 8" : "Noto Sans CJK JP 8";
        Draw(cr.get(), label, font, kMargin, y, inner * 0.6, false);
        Draw(cr.get(), value, font, kMargin + inner * 0.4, y, inner * 0.6, true);
        y += kRowHeight;
    }
    cairo_show_page(cr.get());
    cr.reset();
    cairo_surface_finish(surface.get());
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
        return core::MakeError(core::ErrorCode::kUnavailable, "cannot write " + path);
    }
    return core::Status::Ok();
}

}  // namespace kizuna::cli
