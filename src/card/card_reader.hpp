#pragma once
// CardReader: one smart-card reader slot, whatever is behind it — a PC/SC reader through pcscd
// (PcscCardReader) or a card image file (FileCardReader). The card protocol (CardProtocol) talks
// to a card only through this interface.
//
// Errors, the same for every implementation (all core::ErrorCode::kUnavailable, told apart by
// the message, which says what to do):
//   "no card reader ..."        no reader attached, or the PC/SC service is not running
//   "no card in ..."            Connect with an empty reader
//   "the card was removed ..."  the card left the reader during the operation
//   "timed out ..."             WaitFor ran out of time
// Thread-safety: not thread-safe; use one reader object from one thread.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "card/apdu.hpp"
#include "core/result.hpp"

namespace kizuna::card {

enum class CardPresence { kPresent, kAbsent };

class CardReader {
  public:
    virtual ~CardReader() = default;

    // What this reader is, for messages: "pcsc:Virtual PCD 00 00", "file:/tmp/card.img".
    virtual std::string Name() const = 0;
    // The readers this backend can see (PC/SC: every reader name; file: the one image path).
    virtual core::Result<std::vector<std::string>> ListReaders() = 0;
    // Blocks until the reader holds a card (kPresent) or is empty (kAbsent), or `timeout`.
    virtual core::Status WaitFor(CardPresence want, std::chrono::milliseconds timeout) = 0;
    // Powers up the card and opens an exclusive session on it.
    virtual core::Status Connect() = 0;
    // The card's answer-to-reset. Requires a session.
    virtual core::Result<std::string> Atr() = 0;
    // Sends one command APDU and returns the card's response (any status word). Requires a
    // session. Errors: the card was removed; communication failure.
    virtual core::Result<ResponseApdu> Transmit(const CommandApdu& command) = 0;
    // Ends the session; the card stays powered in the reader. Safe to call when not connected.
    virtual void Disconnect() = 0;
};

// Opens a reader from its command-line spelling:
//   "pcsc"          the first PC/SC reader
//   "pcsc:NAME"     the PC/SC reader whose name is NAME or contains NAME
//   "file:PATH"     the card image file PATH (FileCardReader)
// Errors: kInvalidArgument for another spelling (field "card-reader").
core::Result<std::unique_ptr<CardReader>> OpenCardReader(std::string_view spec);

// Message helpers shared by the implementations, so every reader words errors the same way.
core::Error NoReaderError(std::string_view detail);
core::Error NoCardError(std::string_view reader);
core::Error CardRemovedError(std::string_view reader);

}  // namespace kizuna::card
