#pragma once
// QrCode: the QR form of a card — the record's text form "KZ1.…" as a QR code (libqrencode),
// written as PNG (libpng) for screens and phones, or as SVG for print. Error correction level
// M; byte mode (base64url uses '-' and '_', outside QR's alphanumeric set).
// Thread-safety: immutable after Encode; safe to share.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace kizuna::card {

class QrCode {
  public:
    // Errors: kInvalidArgument for empty or over-long text.
    static core::Result<QrCode> Encode(std::string_view text);

    // Modules per side (without the quiet zone).
    int size() const { return size_; }
    bool IsDark(int x, int y) const { return modules_[static_cast<std::size_t>(y) * size_ + x]; }

    // PNG, 8-bit greyscale, `scale` pixels per module, 4-module quiet zone.
    // Errors: kUnavailable when the file cannot be written.
    core::Status WritePng(const std::string& path, int scale = 8) const;
    // SVG document, one path for all dark modules, 4-module quiet zone; `module_size` in px.
    std::string ToSvg(int module_size = 8) const;
    // Errors: kUnavailable when the file cannot be written.
    core::Status WriteSvg(const std::string& path, int module_size = 8) const;

    static constexpr int kQuietZone = 4;

  private:
    QrCode(int size, std::vector<bool> modules) : size_(size), modules_(std::move(modules)) {}
    int size_;
    std::vector<bool> modules_;  // row-major, true = dark
};

}  // namespace kizuna::card
