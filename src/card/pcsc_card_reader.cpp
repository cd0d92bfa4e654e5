#include "card/pcsc_card_reader.hpp"

#include <pcsclite.h>

#include <algorithm>
#include <array>
#include <thread>

namespace kizuna::card {

using core::ErrorCode;
using core::MakeError;

namespace {

std::string PcscText(LONG rv) { return pcsc_stringify_error(rv); }

bool IsPresent(DWORD state) {
    return (state & SCARD_STATE_PRESENT) != 0 && (state & SCARD_STATE_EMPTY) == 0;
}

}  // namespace

PcscCardReader::PcscCardReader(std::string name_query) : name_query_(std::move(name_query)) {}

PcscCardReader::~PcscCardReader() {
    Disconnect();
    if (have_context_) SCardReleaseContext(context_);
}

std::string PcscCardReader::Name() const {
    if (!reader_.empty()) return "pcsc:" + reader_;
    return name_query_.empty() ? std::string("pcsc") : "pcsc:" + name_query_;
}

core::Status PcscCardReader::EnsureContext() {
    if (have_context_) {
        // pcscd may have restarted since: a stale context would fail every later call.
        if (SCardIsValidContext(context_) == SCARD_S_SUCCESS) return core::Status::Ok();
        SCardReleaseContext(context_);
        have_context_ = false;
    }
    const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context_);
    if (rv == SCARD_E_NO_SERVICE) {
        return NoReaderError(
            "the PC/SC service is not running (start pcscd, e.g. `systemctl start pcscd` or "
            "`pcscd`)");
    }
    if (rv != SCARD_S_SUCCESS) return NoReaderError("cannot reach PC/SC: " + PcscText(rv));
    have_context_ = true;
    return core::Status::Ok();
}

core::Result<std::vector<std::string>> PcscCardReader::ListReaders() {
    KZ_RETURN_IF_ERROR(EnsureContext());
    DWORD length = 0;
    LONG rv = SCardListReaders(context_, nullptr, nullptr, &length);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (rv != SCARD_S_SUCCESS) return NoReaderError("cannot list readers: " + PcscText(rv));
    std::string buffer(length, '\0');
    rv = SCardListReaders(context_, nullptr, buffer.data(), &length);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (rv != SCARD_S_SUCCESS) return NoReaderError("cannot list readers: " + PcscText(rv));
    // A multi-string: names separated by NUL, ended by an empty name.
    std::vector<std::string> readers;
    for (std::size_t pos = 0; pos < buffer.size() && buffer[pos] != '\0';) {
        const std::size_t end = buffer.find('\0', pos);
        readers.push_back(buffer.substr(pos, end - pos));
        pos = end + 1;
    }
    return readers;
}

core::Result<std::string> PcscCardReader::ResolveReader() {
    KZ_ASSIGN_OR_RETURN(auto readers, ListReaders());
    if (readers.empty()) return NoReaderError("PC/SC reports no reader; attach one");
    if (name_query_.empty()) return reader_ = readers.front();
    for (const auto& r : readers) {
        if (r == name_query_) return reader_ = r;
    }
    for (const auto& r : readers) {
        if (r.find(name_query_) != std::string::npos) return reader_ = r;
    }
    std::string known;
    for (const auto& r : readers) known += (known.empty() ? "" : ", ") + ("'" + r + "'");
    return NoReaderError("no PC/SC reader named like '" + name_query_ + "' (readers: " + known +
                         ")");
}

core::Status PcscCardReader::WaitFor(CardPresence want, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto remaining = [&] {
        return std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now())
                                     .count());
    };
    auto timed_out = [&] {
        return MakeError(
            ErrorCode::kUnavailable,
            std::string("timed out waiting for ") +
                (want == CardPresence::kPresent ? "a card in " : "the card to leave ") + Name());
    };
    // A reader may be plugged in (or pcscd started) while we wait.
    std::string reader;
    while (true) {
        auto resolved = ResolveReader();
        if (resolved) {
            reader = *resolved;
            break;
        }
        if (remaining() == 0) return resolved.error();
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<long>(200, remaining())));
    }
    SCARD_READERSTATE state{};
    state.szReader = reader.c_str();
    state.dwCurrentState = SCARD_STATE_UNAWARE;
    while (true) {
        const LONG rv = SCardGetStatusChange(
            context_,
            static_cast<DWORD>(state.dwCurrentState == SCARD_STATE_UNAWARE ? 0 : remaining()),
            &state, 1);
        if (rv == SCARD_E_TIMEOUT) {
            if (remaining() == 0) return timed_out();
            continue;
        }
        if (rv != SCARD_S_SUCCESS) {
            return NoReaderError("waiting on '" + reader + "' failed: " + PcscText(rv));
        }
        if (state.dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE)) {
            return NoReaderError("reader '" + reader + "' is gone");
        }
        if (IsPresent(state.dwEventState) == (want == CardPresence::kPresent)) {
            return core::Status::Ok();
        }
        if (remaining() == 0) return timed_out();
        state.dwCurrentState = state.dwEventState & ~SCARD_STATE_CHANGED;
    }
}

core::Status PcscCardReader::Connect() {
    Disconnect();
    KZ_ASSIGN_OR_RETURN(const std::string reader, ResolveReader());
    const LONG rv = SCardConnect(context_, reader.c_str(), SCARD_SHARE_EXCLUSIVE,
                                 SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card_, &protocol_);
    switch (rv) {
        case SCARD_S_SUCCESS:
            connected_ = true;
            return core::Status::Ok();
        case SCARD_E_NO_SMARTCARD:
        case SCARD_W_REMOVED_CARD:
            return NoCardError(Name());
        case SCARD_E_SHARING_VIOLATION:
            return MakeError(ErrorCode::kUnavailable,
                             Name() + " is in use by another program; close it and retry");
        case SCARD_W_UNRESPONSIVE_CARD:
        case SCARD_W_UNPOWERED_CARD:
        case SCARD_E_PROTO_MISMATCH:
            return MakeError(ErrorCode::kUnavailable,
                             "the card in " + Name() +
                                 " does not answer; is it inserted the right way round? (" +
                                 PcscText(rv) + ")");
        case SCARD_E_UNKNOWN_READER:
        case SCARD_E_READER_UNAVAILABLE:
            return NoReaderError("reader '" + reader + "' is gone");
        default:
            return MakeError(ErrorCode::kUnavailable,
                             "cannot connect to the card in " + Name() + ": " + PcscText(rv));
    }
}

core::Error PcscCardReader::ExchangeError(LONG rv) {
    Disconnect();
    bool removed = rv == SCARD_W_REMOVED_CARD || rv == SCARD_E_NO_SMARTCARD;
    // A card pulled out mid-exchange usually shows as a failed transaction first; pcscd notices
    // the empty slot at its next poll (every ~400 ms), so give it a moment before deciding.
    if (!removed) {
        SCARD_READERSTATE state{};
        state.szReader = reader_.c_str();
        state.dwCurrentState = SCARD_STATE_UNAWARE;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
        DWORD wait_ms = 0;
        while (true) {
            const LONG status = SCardGetStatusChange(context_, wait_ms, &state, 1);
            if (status != SCARD_S_SUCCESS && status != SCARD_E_TIMEOUT) break;
            if (!IsPresent(state.dwEventState)) {
                removed = true;
                break;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            wait_ms = static_cast<DWORD>(left.count());
            state.dwCurrentState = state.dwEventState & ~SCARD_STATE_CHANGED;
        }
    }
    if (removed) return CardRemovedError(Name());
    return MakeError(ErrorCode::kUnavailable,
                     "communication with the card in " + Name() + " failed: " + PcscText(rv));
}

core::Result<std::string> PcscCardReader::Atr() {
    if (!connected_) return MakeError(ErrorCode::kInternal, "Atr() needs Connect() first");
    std::array<BYTE, MAX_ATR_SIZE> atr{};
    DWORD atr_length = atr.size();
    DWORD state = 0;
    DWORD protocol = 0;
    DWORD name_length = 0;
    const LONG rv =
        SCardStatus(card_, nullptr, &name_length, &state, &protocol, atr.data(), &atr_length);
    if (rv != SCARD_S_SUCCESS) return ExchangeError(rv);
    return std::string(reinterpret_cast<const char*>(atr.data()), atr_length);
}

core::Result<ResponseApdu> PcscCardReader::Transmit(const CommandApdu& command) {
    if (!connected_) return MakeError(ErrorCode::kInternal, "Transmit() needs Connect() first");
    KZ_ASSIGN_OR_RETURN(const std::string wire, command.Encode());
    std::array<BYTE, 258> response{};  // 256 data bytes + SW1 SW2
    DWORD response_length = response.size();
    const SCARD_IO_REQUEST* pci = protocol_ == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    const LONG rv = SCardTransmit(card_, pci, reinterpret_cast<const BYTE*>(wire.data()),
                                  wire.size(), nullptr, response.data(), &response_length);
    if (rv != SCARD_S_SUCCESS) return ExchangeError(rv);
    auto parsed = ResponseApdu::Parse(
        std::string_view(reinterpret_cast<const char*>(response.data()), response_length));
    // A reader that loses the card mid-exchange can hand back an empty answer.
    if (!parsed) return ExchangeError(SCARD_E_NOT_TRANSACTED);
    return parsed;
}

void PcscCardReader::Disconnect() {
    if (!connected_) return;
    SCardDisconnect(card_, SCARD_RESET_CARD);
    connected_ = false;
}

}  // namespace kizuna::card
