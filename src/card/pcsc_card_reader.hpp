#pragma once
// PcscCardReader: a reader attached through PC/SC (pcsc-lite's pcscd on Linux) — any CCID USB
// reader, or the vpcd virtual reader the tests use with tools/card_sim. Sessions are exclusive
// (no other program can talk to the card in between) and end with a card reset, so the next
// session starts with nothing selected.
// Thread-safety: not thread-safe; one object per thread (each holds its own PC/SC context).

#include <winscard.h>

#include <string>

#include "card/card_reader.hpp"

namespace kizuna::card {

class PcscCardReader final : public CardReader {
  public:
    // `name_query` empty: the first reader; otherwise the reader named so, or whose name
    // contains it ("Virtual PCD" matches "Virtual PCD 00 00").
    explicit PcscCardReader(std::string name_query);
    ~PcscCardReader() override;
    PcscCardReader(const PcscCardReader&) = delete;
    PcscCardReader& operator=(const PcscCardReader&) = delete;

    std::string Name() const override;
    core::Result<std::vector<std::string>> ListReaders() override;
    core::Status WaitFor(CardPresence want, std::chrono::milliseconds timeout) override;
    core::Status Connect() override;
    core::Result<std::string> Atr() override;
    core::Result<ResponseApdu> Transmit(const CommandApdu& command) override;
    void Disconnect() override;

  private:
    core::Status EnsureContext();
    core::Result<std::string> ResolveReader();
    // Maps a failed exchange with a connected card to "removed" or a communication error.
    core::Error ExchangeError(LONG rv);

    std::string name_query_;
    std::string reader_;  // resolved reader name, once known
    SCARDCONTEXT context_ = 0;
    bool have_context_ = false;
    SCARDHANDLE card_ = 0;
    bool connected_ = false;
    DWORD protocol_ = 0;
};

}  // namespace kizuna::card
