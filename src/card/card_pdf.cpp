#include "card/card_pdf.hpp"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

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

// Draws `text` at (x, y) in a box `width` wide, ellipsized; returns the height used.
double DrawText(cairo_t* cr, const std::string& text, const char* font, double x, double y,
                double width) {
    std::unique_ptr<PangoLayout, decltype(&g_object_unref)> layout(pango_cairo_create_layout(cr),
                                                                   &g_object_unref);
    std::unique_ptr<PangoFontDescription, decltype(&pango_font_description_free)> description(
        pango_font_description_from_string(font), &pango_font_description_free);
    pango_layout_set_font_description(layout.get(), description.get());
    pango_layout_set_width(layout.get(), static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_ellipsize(layout.get(), PANGO_ELLIPSIZE_END);
    pango_layout_set_text(layout.get(), text.c_str(), -1);
    int text_width = 0;
    int text_height = 0;
    pango_layout_get_size(layout.get(), &text_width, &text_height);
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

core::Status WriteCardPdf(const std::string& path, const CardFace& face) {
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

    // Text on the left.
    const double text_width = kWidth - qr_side - 2 * kMargin;
    double y = kMargin + 2;
    cairo_set_source_rgb(cr.get(), 0.10, 0.25, 0.45);
    y += DrawText(cr.get(), "Kizuna 絆 Member Card", "Noto Sans CJK JP Bold 8", kMargin, y,
                  text_width);
    y += 14;
    cairo_set_source_rgb(cr.get(), 0, 0, 0);
    y += DrawText(cr.get(), face.member_name, "Noto Sans CJK JP 12", kMargin, y, text_width);
    y += 8;
    DrawText(cr.get(), GroupDigits(face.card_number), "Noto Sans Mono CJK JP 8", kMargin, y,
             text_width);

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
