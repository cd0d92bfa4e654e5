#pragma once
// CardApplet: the card side of the Kizuna card — it answers ISO/IEC 7816-4 command APDUs against
// a CardImage exactly as the chip card does. Shared by the vpcd card simulator and
// FileCardReader, so both enforce the same rules:
//   SELECT by AID (P1=04)       9000 + FCI, or 6A82 when the card has no such application
//   READ RECORD (P2 b3-b1=100)  9000 + record, 6A83 no such record, 6Cxx wrong Le
//   APPEND RECORD               9000, 6A84 when the file is full, 6700 bad record length
//   UPDATE/WRITE/ERASE RECORD   6985: the record file is write-once
//   *BINARY commands            6981: the file is a record file
//   anything before SELECT      6986; bad P1/P2 6A86; unknown INS 6D00; CLA other than 00 6E00
// Thread-safety: not thread-safe; one applet per card session.

#include <functional>
#include <string>
#include <string_view>

#include "card/apdu.hpp"
#include "card/card_image.hpp"
#include "core/result.hpp"

namespace kizuna::card {

class CardApplet {
  public:
    // Called after an APPEND changed the image and before the card answers 9000; when it fails
    // the card answers 6581 (memory failure) and keeps the image unchanged.
    using Persist = std::function<core::Status(const CardImage&)>;

    CardApplet(CardImage image, Persist persist);

    // The answer-to-reset of a Kizuna card: T=1, historical bytes "KIZUNACARD".
    static std::string Atr();

    // Cold or warm reset: forgets the selected application (power cycle semantics).
    void Reset() { selected_ = false; }

    // Processes one command APDU from its wire bytes; a malformed APDU gets 6700.
    std::string ProcessBytes(std::string_view command);
    ResponseApdu Process(const CommandApdu& command);

    const CardImage& image() const { return image_; }
    // Replaces the image, e.g. after re-reading it from a file; keeps the selection.
    void set_image(CardImage image) { image_ = std::move(image); }

  private:
    ResponseApdu Select(const CommandApdu& command);
    ResponseApdu ReadRecord(const CommandApdu& command);
    ResponseApdu AppendRecord(const CommandApdu& command);
    std::string Fci() const;

    CardImage image_;
    Persist persist_;
    bool selected_ = false;
};

}  // namespace kizuna::card
