// kizuna-card-sim: a write-once Kizuna chip card for the vpcd virtual reader, so the whole card
// stack (pcscd, a reader driver, ISO 7816-4) runs without hardware. The card image lives in a
// file (see card/card_image.hpp); every APPEND is written there before the card answers.
//
//   kizuna-card-sim format IMAGE [--capacity N] [--foreign]   make a blank card
//   kizuna-card-sim insert IMAGE [--vpcd HOST:PORT] [--wait S] [--remove-after-apdus N]
//                                 put the card in the reader; SIGINT/SIGTERM pulls it out
//   kizuna-card-sim show IMAGE                                 print what the card holds
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "card/apdu.hpp"
#include "card/card_applet.hpp"
#include "card/card_image.hpp"
#include "card_sim/vpcd_card.hpp"
#include "core/card_record.hpp"

namespace {

using kizuna::card::CardApplet;
using kizuna::card::CardImage;

volatile bool g_stop = false;

void OnSignal(int) { g_stop = true; }

int Usage() {
    std::cerr << "usage:\n"
                 "  kizuna-card-sim format IMAGE [--capacity N] [--foreign]\n"
                 "  kizuna-card-sim insert IMAGE [--vpcd HOST:PORT] [--wait SECONDS]"
                 " [--remove-after-apdus N]\n"
                 "  kizuna-card-sim show IMAGE\n"
                 "The vpcd reader listens on 127.0.0.1:35963 by default (CHANNELID 0x8C7B in\n"
                 "/etc/reader.conf.d/vpcd); the second slot, if any, on 35964.\n";
    return 2;
}

bool ParseNumber(const std::string& text, uint64_t max, uint64_t* out) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || n > max) return false;
    *out = n;
    return true;
}

int Format(const std::string& path, const std::vector<std::string>& args) {
    uint64_t capacity = CardImage::kDefaultCapacity;
    bool foreign = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--capacity" && i + 1 < args.size() &&
            ParseNumber(args[i + 1], 254, &capacity) && capacity > 0) {
            ++i;
        } else if (args[i] == "--foreign") {
            foreign = true;
        } else {
            return Usage();
        }
    }
    // A foreign card: some other application (here a made-up F0 AID), never ours.
    const std::string_view aid = foreign ? std::string_view("\xF0\x00\x00\x00\x00\x00\x00\x01", 8)
                                         : kizuna::card::kKizunaAid;
    auto saved = CardImage::Blank(capacity, aid).Save(path);
    if (!saved) {
        std::cerr << "kizuna-card-sim: " << saved.error().message << "\n";
        return 1;
    }
    std::cout << "blank " << (foreign ? "foreign " : "") << "card with " << capacity
              << " record slots written to " << path << "\n";
    return 0;
}

int Show(const std::string& path) {
    auto image = CardImage::Load(path);
    if (!image) {
        std::cerr << "kizuna-card-sim: " << image.error().message << "\n";
        return 1;
    }
    std::cout << "aid " << kizuna::card::ToHex(image->aid()) << "\nrecords "
              << image->records().size() << " of " << image->capacity() << "\n";
    for (const auto& record : image->records()) {
        std::cout << kizuna::core::kCardRecordTextPrefix << kizuna::core::Base64UrlEncode(record)
                  << "\n";
    }
    return 0;
}

int Insert(const std::string& path, const std::vector<std::string>& args) {
    std::string host = "127.0.0.1";
    uint64_t port = 35963;
    uint64_t wait = 10;
    std::optional<uint64_t> remove_after;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const bool has_value = i + 1 < args.size();
        if (args[i] == "--vpcd" && has_value) {
            const std::string& value = args[++i];
            const auto colon = value.rfind(':');
            if (colon == std::string::npos || !ParseNumber(value.substr(colon + 1), 65535, &port)) {
                return Usage();
            }
            host = value.substr(0, colon);
        } else if (args[i] == "--wait" && has_value && ParseNumber(args[i + 1], 3600, &wait)) {
            ++i;
        } else if (args[i] == "--remove-after-apdus" && has_value) {
            uint64_t n = 0;
            if (!ParseNumber(args[++i], UINT32_MAX, &n) || n == 0) return Usage();
            remove_after = n;
        } else {
            return Usage();
        }
    }
    auto image = CardImage::Load(path);
    if (!image) {
        std::cerr << "kizuna-card-sim: " << image.error().message
                  << " (make one with `kizuna-card-sim format " << path << "`)\n";
        return 1;
    }
    CardApplet applet(std::move(*image),
                      [&path](const CardImage& next) { return next.Save(path); });

    // No SA_RESTART: a signal interrupts the blocking read so the card leaves at once.
    struct sigaction action {};
    action.sa_handler = OnSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    kizuna::tools::VpcdCard card(std::move(applet), remove_after);
    auto inserted = card.Insert(host, static_cast<uint16_t>(port), static_cast<int>(wait));
    if (!inserted) {
        std::cerr << "kizuna-card-sim: " << inserted.error().message << "\n";
        return 1;
    }
    std::cout << "card " << path << " inserted into vpcd at " << host << ":" << port << std::endl;
    const std::string why = card.Serve(g_stop);
    std::cout << "card removed: " << why << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return Usage();
    const std::string command = argv[1];
    const std::string path = argv[2];
    const std::vector<std::string> args(argv + 3, argv + argc);
    if (command == "format") return Format(path, args);
    if (command == "insert") return Insert(path, args);
    if (command == "show" && args.empty()) return Show(path);
    return Usage();
}
