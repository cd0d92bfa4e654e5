#include "card/card_pdf.hpp"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <memory>

#include "card/qr_code.hpp"

namespace kizuna::card {

using core::ErrorCode;
using core::MakeError;

namespace {

constexpr double kPointsPerMm = 72.0 / 25.4;
constexpr double kWidth = 85.60 * kPointsPerMm;
constexpr double kHeight = 53.98 * kPointsPerMm;
constexpr double kMargin = 4.0 * kPointsPerMm;

using Layout = std::unique_ptr<PangoLayout, decltype(&g_object_unref)>;

// The smallest size a text is set in; a text still too wide at it wraps (if allowed).
constexpr double kMinFontSize = 4.5;

Layout MakeLayout(cairo_t* cr, const std::string& text, const char* family, double size,
                  double width, bool wrap) {
    Layout layout(pango_cairo_create_layout(cr), &g_object_unref);
    std::unique_ptr<PangoFontDescription, decltype(&pango_font_description_free)> description(
        pango_font_description_from_string(family), &pango_font_description_free);
    pango_font_description_set_size(description.get(), static_cast<int>(size * PANGO_SCALE));
    pango_layout_set_font_description(layout.get(), description.get());
    // Never an ellipsis: a card that hides digits of its number or letters of a name misleads.
    pango_layout_set_ellipsize(layout.get(), PANGO_ELLIPSIZE_NONE);
    if (wrap) {
        pango_layout_set_width(layout.get(), static_cast<int>(width * PANGO_SCALE));
        pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
    }
    pango_layout_set_text(layout.get(), text.c_str(), -1);
    return layout;
}

double LogicalWidth(PangoLayout* layout) {
    int w = 0, h = 0;
    pango_layout_get_size(layout, &w, &h);
    return static_cast<double>(w) / PANGO_SCALE;
}

// Draws `text` whole at (x, y) within `width`: at `size` if it fits on one line, else at the
// largest smaller size (0.25 pt steps, not below kMinFontSize) at which it does. With `wrap`, a
// text too wide even at kMinFontSize is wrapped instead, at the largest size whose lines fit in
// `max_height` (kMinFontSize if none). Returns the height used; `report` says how it was laid out.
double DrawText(cairo_t* cr, const std::string& text, const char* family, double size, double x,
                double y, double width, double max_height, bool wrap, CardTextLayout& report) {
    Layout layout = MakeLayout(cr, text, family, size, width, false);
    double s = size;
    while (LogicalWidth(layout.get()) > width && s > kMinFontSize) {
        s = std::max(kMinFontSize, s - 0.25);
        layout = MakeLayout(cr, text, family, s, width, false);
    }
    if (LogicalWidth(layout.get()) > width && wrap) {
        // Wrapped: as large as the lines allow within max_height.
        for (s = size; s >= kMinFontSize; s -= 0.25) {
            layout = MakeLayout(cr, text, family, s, width, true);
            int w = 0, h = 0;
            pango_layout_get_size(layout.get(), &w, &h);
            if (static_cast<double>(h) / PANGO_SCALE <= max_height) break;
        }
        if (s < kMinFontSize) layout = MakeLayout(cr, text, family, kMinFontSize, width, true);
        s = std::max(s, kMinFontSize);
    }
    int text_width = 0, text_height = 0;
    pango_layout_get_size(layout.get(), &text_width, &text_height);
    report.text = text;
    report.font_size = s;
    report.lines = pango_layout_get_line_count(layout.get());
    report.ellipsized = pango_layout_is_ellipsized(layout.get());
    report.width = static_cast<double>(text_width) / PANGO_SCALE;
    report.box_width = width;
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout.get());
    return static_cast<double>(text_height) / PANGO_SCALE;
}

std::string GroupDigits(const std::string& digits) {
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && i % 4 == 0) out.push_back(' ');
        out.push_back(digits[i]);
    }
    return out;
}

}  // namespace

core::Status WriteCardPdf(const std::string& path, const CardFace& face,
                          std::vector<CardTextLayout>* layouts) {
    if (face.card_number.empty() || face.qr_text.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "a card face needs a card number and QR text");
    }
    KZ_ASSIGN_OR_RETURN(const QrCode qr, QrCode::Encode(face.qr_text));

    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
        cairo_pdf_surface_create(path.c_str(), kWidth, kHeight), &cairo_surface_destroy);
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
        return MakeError(ErrorCode::kUnavailable,
                         "cannot write " + path + ": " +
                             cairo_status_to_string(cairo_surface_status(surface.get())));
    }
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, "Kizuna member card");
    std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr(cairo_create(surface.get()),
                                                          &cairo_destroy);

    // Card background and border (a cut line when printed on a plain sheet).
    cairo_set_source_rgb(cr.get(), 1, 1, 1);
    cairo_paint(cr.get());
    cairo_set_source_rgb(cr.get(), 0.75, 0.75, 0.75);
    cairo_set_line_width(cr.get(), 0.5);
    cairo_rectangle(cr.get(), 0.25, 0.25, kWidth - 0.5, kHeight - 0.5);
    cairo_stroke(cr.get());

    // QR code on the right, as tall as the card allows, quiet zone included.
    const double qr_side = kHeight - 2 * kMargin;
    const double module = qr_side / (qr.size() + 2 * QrCode::kQuietZone);
    const double qr_x = kWidth - kMargin - qr_side + QrCode::kQuietZone * module;
    const double qr_y = kMargin + QrCode::kQuietZone * module;
    cairo_set_source_rgb(cr.get(), 0, 0, 0);
    for (int y = 0; y < qr.size(); ++y) {
        for (int x = 0; x < qr.size(); ++x) {
            if (qr.IsDark(x, y))
                cairo_rectangle(cr.get(), qr_x + x * module, qr_y + y * module, module, module);
        }
    }
    cairo_fill(cr.get());

    // Text on the left: program, name (wrapped when long), number; each drawn whole.
    const double text_width = kWidth - qr_side - 2 * kMargin;
    const double bottom = kHeight - kMargin;
    CardTextLayout program, name, number;
    double y = kMargin + 2;
    cairo_set_source_rgb(cr.get(), 0.10, 0.25, 0.45);
    y += DrawText(cr.get(), "Kizuna 絆 Member Card", "Noto Sans CJK JP Bold", 8, kMargin, y,
                  text_width, 20, true, program);
    y += 10;
    // The number keeps the last line of the card; the name has what is between.
    const double number_height = 14;
    cairo_set_source_rgb(cr.get(), 0, 0, 0);
    y += DrawText(cr.get(), face.member_name, "Noto Sans CJK JP", 12, kMargin, y, text_width,
                  bottom - number_height - 6 - y, true, name);
    y = std::max(y + 6, bottom - number_height);
    DrawText(cr.get(), GroupDigits(face.card_number), "Noto Sans Mono CJK JP", 8, kMargin, y,
             text_width, number_height, false, number);
    if (layouts != nullptr) *layouts = {program, name, number};

    cairo_show_page(cr.get());
    cr.reset();
    cairo_surface_finish(surface.get());
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
        return MakeError(ErrorCode::kUnavailable,
                         "cannot write " + path + ": " +
                             cairo_status_to_string(cairo_surface_status(surface.get())));
    }
    return core::Status::Ok();
}

}  // namespace kizuna::card
