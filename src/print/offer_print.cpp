#include "print/offer_print.hpp"

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <memory>

namespace kizuna::print {

using core::ErrorCode;
using core::MakeError;

namespace {

constexpr double kPointsPerMm = 72.0 / 25.4;
constexpr double kA4Width = 210.0 * kPointsPerMm;
constexpr double kA4Height = 297.0 * kPointsPerMm;
constexpr const char* kFamily = "Noto Sans CJK JP";

using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using Context = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;
using Layout = std::unique_ptr<PangoLayout, decltype(&g_object_unref)>;
using FontDescription =
    std::unique_ptr<PangoFontDescription, decltype(&pango_font_description_free)>;

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
}

FontDescription Font(double size, bool bold = false) {
    FontDescription font(pango_font_description_new(), &pango_font_description_free);
    pango_font_description_set_family(font.get(), kFamily);
    pango_font_description_set_absolute_size(font.get(), size * PANGO_SCALE);
    pango_font_description_set_weight(font.get(), bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    return font;
}

// A layout of `text` wrapped to `width` points; at most `max_lines` lines (ellipsized) when > 0.
Layout MakeLayout(cairo_t* cr, const std::string& text, const PangoFontDescription* font,
                  double width, int max_lines = 0) {
    Layout layout(pango_cairo_create_layout(cr), &g_object_unref);
    pango_layout_set_font_description(layout.get(), font);
    pango_layout_set_width(layout.get(), static_cast<int>(width * PANGO_SCALE));
    pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
    if (max_lines > 0) {
        pango_layout_set_height(layout.get(), -max_lines);
        pango_layout_set_ellipsize(layout.get(), PANGO_ELLIPSIZE_END);
    }
    pango_layout_set_text(layout.get(), text.c_str(), -1);
    return layout;
}

// The extents of a layout in points, the larger of its ink and logical rectangles measured from
// the layout's origin (a glyph may reach past its logical box).
void Extents(PangoLayout* layout, double& width, double& height) {
    PangoRectangle ink{}, logical{};
    pango_layout_get_extents(layout, &ink, &logical);
    const int right = std::max(ink.x + ink.width, logical.x + logical.width);
    const int bottom = std::max(ink.y + ink.height, logical.y + logical.height);
    width = static_cast<double>(right) / PANGO_SCALE;
    height = static_cast<double>(bottom) / PANGO_SCALE;
}

// Draws `text` at (x, y) wrapped to `width`; returns the height used.
double Draw(cairo_t* cr, const std::string& text, double size, bool bold, double x, double y,
            double width, int max_lines = 0) {
    if (text.empty()) return 0;
    FontDescription font = Font(size, bold);
    Layout layout = MakeLayout(cr, text, font.get(), width, max_lines);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout.get());
    int w = 0, h = 0;
    pango_layout_get_size(layout.get(), &w, &h);
    return static_cast<double>(h) / PANGO_SCALE;
}

struct SheetGeometry {
    int columns = 0;
    int rows = 0;
    double left = 0, top = 0;      // margins of the sheet
    double width = 0, height = 0;  // of one label
    double padding = 0;            // inside a label, on every side
    double font_size = 0;          // normal size of the text
};

core::Result<SheetGeometry> GeometryFor(int per_page) {
    SheetGeometry g;
    if (per_page == 12) {
        g.columns = 2;
        g.rows = 6;
        g.font_size = 11;
    } else if (per_page == 24) {
        g.columns = 3;
        g.rows = 8;
        g.font_size = 9;
    } else {
        return MakeError(ErrorCode::kInvalidArgument, "per_page must be 12 or 24", "per_page");
    }
    g.left = 8.0 * kPointsPerMm;
    g.top = 12.0 * kPointsPerMm;
    g.width = (kA4Width - 2 * g.left) / g.columns;
    g.height = (kA4Height - 2 * g.top) / g.rows;
    g.padding = 4.0 * kPointsPerMm;
    return g;
}

// Lays the label out at the largest size from the normal one down (half a point at a time) at
// which it fits its box; below a floor it stays at the floor, ellipsized to the box's lines.
struct FittedLabel {
    Layout layout{nullptr, &g_object_unref};
    LabelFit fit;
};

FittedLabel LayOutLabel(cairo_t* cr, const PostalAddress& label, const SheetGeometry& g) {
    FittedLabel fitted;
    LabelFit& fit = fitted.fit;
    fit.box_width = g.width - 2 * g.padding;
    fit.box_height = g.height - 2 * g.padding;
    const std::string text = AddressBlock(label);
    constexpr double kSmallest = 5.0;
    for (double size = g.font_size; size >= kSmallest; size -= 0.5) {
        FontDescription font = Font(size);
        fitted.layout = MakeLayout(cr, text, font.get(), fit.box_width);
        Extents(fitted.layout.get(), fit.text_width, fit.text_height);
        fit.font_size = size;
        fit.fits = fit.text_width <= fit.box_width && fit.text_height <= fit.box_height;
        if (fit.fits) return fitted;
    }
    // Still too long at the smallest size: keep what fits, ellipsized at the box's last line.
    FontDescription font = Font(kSmallest);
    fitted.layout = MakeLayout(cr, text, font.get(), fit.box_width);
    pango_layout_set_height(fitted.layout.get(), static_cast<int>(fit.box_height * PANGO_SCALE));
    pango_layout_set_ellipsize(fitted.layout.get(), PANGO_ELLIPSIZE_END);
    Extents(fitted.layout.get(), fit.text_width, fit.text_height);
    fit.font_size = kSmallest;
    fit.fits = fit.text_width <= fit.box_width && fit.text_height <= fit.box_height;
    return fitted;
}

core::Result<std::string> Finish(Surface& surface, Context& cr, std::string& out) {
    cr.reset();
    cairo_surface_finish(surface.get());
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
        return MakeError(ErrorCode::kInternal,
                         std::string("cannot make the PDF: ") +
                             cairo_status_to_string(cairo_surface_status(surface.get())));
    }
    return std::move(out);
}

core::Result<std::pair<Surface, Context>> NewPdf(std::string& out, const char* title) {
    Surface surface(cairo_pdf_surface_create_for_stream(AppendToString, &out, kA4Width, kA4Height),
                    &cairo_surface_destroy);
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
        return MakeError(ErrorCode::kInternal,
                         std::string("cannot start a PDF: ") +
                             cairo_status_to_string(cairo_surface_status(surface.get())));
    }
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, title);
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "Kizuna");
    Context cr(cairo_create(surface.get()), &cairo_destroy);
    return std::make_pair(std::move(surface), std::move(cr));
}

void DrawLetter(cairo_t* cr, const Letter& letter, const LetterOptions& options) {
    const double margin = 20.0 * kPointsPerMm;
    const double width = kA4Width - 2 * margin;
    cairo_set_source_rgb(cr, 0, 0, 0);

    // Address block (top left, the window of a 長形3号 envelope) and date/sender (top right).
    const double address_width = 95.0 * kPointsPerMm;
    double y = 18.0 * kPointsPerMm;
    y += Draw(cr, "〒" + letter.to.postal_code, 11, false, margin, y, address_width);
    y += Draw(cr, letter.to.address, 11, false, margin, y, address_width, 3);
    y += 2;
    y += Draw(cr, letter.to.name + " 様", 15, true, margin, y, address_width, 2);

    const double right_x = margin + address_width + 10.0 * kPointsPerMm;
    const double right_width = kA4Width - margin - right_x;
    double ry = 18.0 * kPointsPerMm;
    ry += Draw(cr, letter.date, 10, false, right_x, ry, right_width);
    ry += Draw(cr, options.sender, 10, false, right_x, ry, right_width, 3);

    y = std::max(y, ry) + 12.0 * kPointsPerMm;
    cairo_set_source_rgb(cr, 0.10, 0.25, 0.45);
    y += Draw(cr, "お客様へのおすすめのご案内", 16, true, margin, y, width);
    cairo_set_source_rgb(cr, 0, 0, 0);
    y += 6;
    y += Draw(cr,
              "いつもご利用いただき、誠にありがとうございます。"
              "これまでのお買い物をもとに、次のご案内をお選びしました。",
              10, false, margin, y, width, 3);
    y += 8;

    const double footer_top = kA4Height - 30.0 * kPointsPerMm;
    for (const LetterItem& item : letter.items) {
        if (y > footer_top - 30.0 * kPointsPerMm) break;  // the page is full
        const double top = y;
        const double inner = width - 8;
        y += 4;
        y += Draw(cr, item.title, 12, true, margin + 4, y, inner, 2);
        std::string who = item.store_name;
        if (!item.valid_until.empty()) who += (who.empty() ? "" : "・") + item.valid_until;
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        y += Draw(cr, who, 9, false, margin + 4, y, inner, 1);
        cairo_set_source_rgb(cr, 0, 0, 0);
        y += 2;
        y += Draw(cr, item.body, 10, false, margin + 4, y, inner, 5);
        if (!item.reason.empty()) {
            y += 2;
            cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
            y += Draw(cr, "お選びした理由: " + item.reason, 8.5, false, margin + 4, y, inner, 2);
            cairo_set_source_rgb(cr, 0, 0, 0);
        }
        y += 4;
        cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
        cairo_set_line_width(cr, 0.6);
        cairo_rectangle(cr, margin, top, width, y - top);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        y += 8;
    }

    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    Draw(cr, options.opt_out_notice, 8, false, margin, footer_top, width, 4);
    cairo_set_source_rgb(cr, 0, 0, 0);
}

}  // namespace

std::string AddressBlock(const PostalAddress& address) {
    std::string text;
    if (!address.postal_code.empty()) text += "〒" + address.postal_code + "\n";
    if (!address.address.empty()) text += address.address + "\n";
    text += address.name + " 様";
    return text;
}

core::Result<std::string> RenderLetters(std::span<const Letter> letters,
                                        const LetterOptions& options) {
    if (letters.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "no letters to print");
    }
    std::string out;
    KZ_ASSIGN_OR_RETURN(auto pdf, NewPdf(out, "Kizuna offer letters"));
    auto& [surface, cr] = pdf;
    for (const Letter& letter : letters) {
        DrawLetter(cr.get(), letter, options);
        cairo_show_page(cr.get());
    }
    return Finish(surface, cr, out);
}

core::Result<std::string> RenderLabels(std::span<const PostalAddress> labels, int per_page) {
    KZ_ASSIGN_OR_RETURN(const SheetGeometry g, GeometryFor(per_page));
    if (labels.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "no labels to print");
    }
    std::string out;
    KZ_ASSIGN_OR_RETURN(auto pdf, NewPdf(out, "Kizuna address labels"));
    auto& [surface, cr] = pdf;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const int slot = static_cast<int>(i % static_cast<std::size_t>(per_page));
        if (i > 0 && slot == 0) cairo_show_page(cr.get());
        const double x = g.left + (slot % g.columns) * g.width;
        const double y = g.top + (slot / g.columns) * g.height;
        // A faint outline, to cut along or to check the alignment on a sheet of labels.
        cairo_set_source_rgb(cr.get(), 0.85, 0.85, 0.85);
        cairo_set_line_width(cr.get(), 0.3);
        cairo_rectangle(cr.get(), x, y, g.width, g.height);
        cairo_stroke(cr.get());
        cairo_set_source_rgb(cr.get(), 0, 0, 0);
        FittedLabel fitted = LayOutLabel(cr.get(), labels[i], g);
        cairo_save(cr.get());
        cairo_rectangle(cr.get(), x + g.padding, y + g.padding, fitted.fit.box_width,
                        fitted.fit.box_height);
        cairo_clip(cr.get());
        cairo_move_to(cr.get(), x + g.padding, y + g.padding);
        pango_cairo_show_layout(cr.get(), fitted.layout.get());
        cairo_restore(cr.get());
    }
    cairo_show_page(cr.get());
    return Finish(surface, cr, out);
}

core::Result<LabelFit> FitLabel(const PostalAddress& label, int per_page) {
    KZ_ASSIGN_OR_RETURN(const SheetGeometry g, GeometryFor(per_page));
    Surface surface(cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, nullptr),
                    &cairo_surface_destroy);
    Context cr(cairo_create(surface.get()), &cairo_destroy);
    return LayOutLabel(cr.get(), label, g).fit;
}

}  // namespace kizuna::print
