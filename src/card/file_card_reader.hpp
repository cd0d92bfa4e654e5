#pragma once
// FileCardReader: a reader whose card is a card image file (see CardImage). The file existing
// means a card is in the reader; deleting or moving it away removes the card. Every command
// runs through the same CardApplet the simulator uses, and an APPEND is written to the file
// before the card answers, so write-once, full-card and status-word behaviour is exactly that
// of the chip card. For development, demos and unit tests.
// Thread-safety: not thread-safe. Two processes must not use one image at the same time.

#include <sys/types.h>

#include <optional>
#include <string>

#include "card/card_applet.hpp"
#include "card/card_reader.hpp"

namespace kizuna::card {

class FileCardReader final : public CardReader {
  public:
    explicit FileCardReader(std::string path);

    std::string Name() const override { return "file:" + path_; }
    core::Result<std::vector<std::string>> ListReaders() override;
    core::Status WaitFor(CardPresence want, std::chrono::milliseconds timeout) override;
    core::Status Connect() override;
    core::Result<std::string> Atr() override;
    core::Result<ResponseApdu> Transmit(const CommandApdu& command) override;
    void Disconnect() override { session_.reset(); }

  private:
    struct FileId {
        dev_t dev = 0;
        ino_t ino = 0;
        bool operator==(const FileId&) const = default;
    };
    std::optional<FileId> CurrentFile() const;

    std::string path_;
    std::optional<CardApplet> session_;
    FileId file_;  // the image file the session was opened on
};

}  // namespace kizuna::card
