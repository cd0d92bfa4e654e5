#pragma once
// Printed offer mailings: A4 letters, one per member, and A4 sheets of address labels, as PDF
// bytes (see README.md). Inputs are plain text; nothing here reads storage.
// Thread-safety: every function may run in several threads at once.

#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace kizuna::print {

// Where a letter or label goes, printed in Japanese order: 〒postal code, address, name 様.
struct PostalAddress {
    std::string postal_code;  // "123-4567" (printed after 〒) or another country's code
    std::string address;      // UTF-8, wraps
    std::string name;         // the member's name; 様 is added
};

struct LetterItem {
    std::string title;
    std::string body;         // at most a few lines are printed (ellipsized)
    std::string store_name;   // who makes the offer
    std::string valid_until;  // e.g. "2026年12月31日まで"; empty for a notice
    std::string reason;       // why it was chosen, e.g. "90日間に「books」を4回購入"
};

struct Letter {
    PostalAddress to;
    std::string date;  // as printed, e.g. "2026年12月7日"
    std::vector<LetterItem> items;
};

struct LetterOptions {
    std::string sender;          // who sends the mailing (the operator of the hub)
    std::string opt_out_notice;  // how to stop postal offers, printed at the foot of each page
};

// One page per letter. Errors: kInvalidArgument for an empty list, kInternal when Cairo fails.
core::Result<std::string> RenderLetters(std::span<const Letter> letters,
                                        const LetterOptions& options);

// 12 (2 columns x 6 rows) or 24 (3 x 8) labels per A4 sheet, in the order given.
// Errors: kInvalidArgument for another per_page or an empty list; kInternal when Cairo fails.
core::Result<std::string> RenderLabels(std::span<const PostalAddress> labels, int per_page);

// How a label's text fits its box on a sheet of `per_page`: the laid-out extents (points) at
// the font size chosen, which shrinks from the normal size until the text fits.
struct LabelFit {
    double box_width = 0;
    double box_height = 0;
    double text_width = 0;  // ink and logical extents, whichever is larger
    double text_height = 0;
    double font_size = 0;  // points
    bool fits = false;     // text_width <= box_width and text_height <= box_height
};
// Errors: kInvalidArgument for another per_page.
core::Result<LabelFit> FitLabel(const PostalAddress& label, int per_page);

// "〒123-4567\n<address>\n<name> 様": a label's text (also a letter's address block).
std::string AddressBlock(const PostalAddress& address);

}  // namespace kizuna::print
