#include "card/qr_code.hpp"

#include <png.h>
#include <qrencode.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

namespace kizuna::card {

using core::ErrorCode;
using core::MakeError;

core::Result<QrCode> QrCode::Encode(std::string_view text) {
    if (text.empty()) return MakeError(ErrorCode::kInvalidArgument, "nothing to put in a QR code");
    const std::string data(text);
    std::unique_ptr<QRcode, decltype(&QRcode_free)> qr(
        QRcode_encodeData(static_cast<int>(data.size()),
                          reinterpret_cast<const unsigned char*>(data.data()), 0, QR_ECLEVEL_M),
        &QRcode_free);
    if (!qr) {
        return MakeError(ErrorCode::kInvalidArgument,
                         std::string("cannot encode a QR code: ") + std::strerror(errno));
    }
    std::vector<bool> modules(static_cast<std::size_t>(qr->width) * qr->width);
    for (std::size_t i = 0; i < modules.size(); ++i) modules[i] = (qr->data[i] & 0x01) != 0;
    return QrCode(qr->width, std::move(modules));
}

core::Status QrCode::WritePng(const std::string& path, int scale) const {
    if (scale < 1) scale = 1;
    std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "wb"),
                                                       &std::fclose);
    if (!file) {
        return MakeError(ErrorCode::kUnavailable,
                         "cannot write " + path + ": " + std::strerror(errno));
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        return MakeError(ErrorCode::kInternal, "libpng could not start");
    }
    // libpng reports errors by longjmp; nothing with a destructor is created past this point.
    const int side = (size_ + 2 * kQuietZone) * scale;
    std::vector<png_byte> row(static_cast<std::size_t>(side));
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return MakeError(ErrorCode::kUnavailable, "cannot write PNG " + path);
    }
    png_init_io(png, file.get());
    png_set_IHDR(png, info, side, side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int py = 0; py < side; ++py) {
        const int y = py / scale - kQuietZone;
        for (int px = 0; px < side; ++px) {
            const int x = px / scale - kQuietZone;
            const bool dark = x >= 0 && y >= 0 && x < size_ && y < size_ && IsDark(x, y);
            row[px] = dark ? 0 : 255;
        }
        png_write_row(png, row.data());
    }
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    if (std::fflush(file.get()) != 0) {
        return MakeError(ErrorCode::kUnavailable,
                         "cannot write " + path + ": " + std::strerror(errno));
    }
    return core::Status::Ok();
}

std::string QrCode::ToSvg(int module_size) const {
    if (module_size < 1) module_size = 1;
    const int side = size_ + 2 * kQuietZone;
    std::string path;
    for (int y = 0; y < size_; ++y) {
        for (int x = 0; x < size_; ++x) {
            if (!IsDark(x, y)) continue;
            // A run of dark modules becomes one rectangle: fewer, simpler path commands.
            int run = 1;
            while (x + run < size_ && IsDark(x + run, y)) ++run;
            path += "M" + std::to_string(x + kQuietZone) + "," + std::to_string(y + kQuietZone) +
                    "h" + std::to_string(run) + "v1h-" + std::to_string(run) + "z";
            x += run - 1;
        }
    }
    const std::string px = std::to_string(side * module_size);
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
           px + "\" height=\"" + px + "\" viewBox=\"0 0 " + std::to_string(side) + " " +
           std::to_string(side) +
           "\" shape-rendering=\"crispEdges\">\n"
           "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
           "<path fill=\"#000\" d=\"" +
           path + "\"/>\n</svg>\n";
}

core::Status QrCode::WriteSvg(const std::string& path, int module_size) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << ToSvg(module_size);
    out.flush();
    if (!out) {
        return MakeError(ErrorCode::kUnavailable,
                         "cannot write " + path + ": " + std::strerror(errno));
    }
    return core::Status::Ok();
}

}  // namespace kizuna::card
