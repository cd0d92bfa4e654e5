#pragma once
// CardPdf: a printable member card as a one-page PDF the size of a payment card (ISO/IEC 7810
// ID-1, 85.60 x 53.98 mm): the member's name, the card number and the card's QR code, for
// members without a chip card. Text is laid out with Pango, so Japanese names render (Noto
// Sans CJK, Debian's fonts-noto-cjk); the QR code is drawn as vectors so it prints sharp.
// Thread-safety: WriteCardPdf may run in several threads at once.

#include <string>
#include <vector>

#include "core/result.hpp"

namespace kizuna::card {

struct CardFace {
    std::string member_name;  // UTF-8, any script
    std::string card_number;  // 16 digits; printed in groups of four
    std::string qr_text;      // the record's text form, "KZ1.…"
};

// How one text of the face was laid out. Every text is drawn whole: too wide for its box, it is
// set smaller (down to a minimum) and, where a line break is allowed (the name), wrapped;
// never ellipsized.
struct CardTextLayout {
    std::string text;
    double font_size = 0;  // points
    int lines = 0;
    bool ellipsized = false;  // pango_layout_is_ellipsized: false unless this code regresses
    double width = 0;         // of the widest line, points; at most the box's width
    double box_width = 0;
};

// Errors: kInvalidArgument for a face without a card number or QR text; kUnavailable when the
// file cannot be written. `layouts`, if given, receives how each text was laid out (program
// name, member name, card number).
core::Status WriteCardPdf(const std::string& path, const CardFace& face,
                          std::vector<CardTextLayout>* layouts = nullptr);

}  // namespace kizuna::card
