#pragma once
// VpcdCard: a card "inserted" into the vpcd virtual reader (Debian's vsmartcard-vpcd). vpcd is a
// pcscd reader driver that listens on a TCP port (reader.conf CHANNELID, 35963 by default); the
// card connects to it. Each message either way is a 2-byte big-endian length and a body. From
// the reader, a 1-byte body is a control — 0 power off, 1 power on, 2 reset, 4 "send the ATR" —
// and any longer body is a command APDU; the card answers the ATR request and every APDU with a
// length-prefixed body. Closing the connection is pulling the card out.
// Thread-safety: not thread-safe; run it on one thread.

#include <cstdint>
#include <optional>
#include <string>

#include "card/card_applet.hpp"
#include "core/result.hpp"

namespace kizuna::tools {

class VpcdCard {
  public:
    // `applet` answers the APDUs; `remove_after_apdus`, when set, pulls the card out right
    // after answering that many APDUs (to test removal in the middle of an operation).
    VpcdCard(card::CardApplet applet, std::optional<uint64_t> remove_after_apdus);
    ~VpcdCard();
    VpcdCard(const VpcdCard&) = delete;
    VpcdCard& operator=(const VpcdCard&) = delete;

    // Connects to vpcd, retrying until `wait_seconds` have passed (vpcd opens its port only once
    // pcscd has loaded it). Errors: kUnavailable.
    core::Status Insert(const std::string& host, uint16_t port, int wait_seconds);
    // Serves the reader until it disconnects, `stop` becomes true (checked whenever a signal
    // interrupts the wait), or the APDU budget is spent. Returns why it ended.
    std::string Serve(const volatile bool& stop);

  private:
    bool ReadExact(char* buffer, std::size_t size);
    bool SendMessage(const std::string& body);

    card::CardApplet applet_;
    std::optional<uint64_t> remove_after_apdus_;
    uint64_t apdus_ = 0;
    int socket_ = -1;
    const volatile bool* stop_ = nullptr;
};

}  // namespace kizuna::tools
