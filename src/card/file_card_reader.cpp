#include "card/file_card_reader.hpp"

#include <sys/stat.h>

#include <thread>

namespace kizuna::card {

using core::ErrorCode;
using core::MakeError;

FileCardReader::FileCardReader(std::string path) : path_(std::move(path)) {}

std::optional<FileCardReader::FileId> FileCardReader::CurrentFile() const {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) return std::nullopt;
    return FileId{st.st_dev, st.st_ino};
}

core::Result<std::vector<std::string>> FileCardReader::ListReaders() {
    return std::vector<std::string>{Name()};
}

core::Status FileCardReader::WaitFor(CardPresence want, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const bool present = CurrentFile().has_value();
        if (present == (want == CardPresence::kPresent)) return core::Status::Ok();
        if (std::chrono::steady_clock::now() >= deadline) {
            return MakeError(
                ErrorCode::kUnavailable,
                std::string("timed out waiting for ") +
                    (want == CardPresence::kPresent ? "a card in " : "the card to leave ") +
                    Name());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

core::Status FileCardReader::Connect() {
    session_.reset();
    const auto file = CurrentFile();
    if (!file) return NoCardError(Name());
    KZ_ASSIGN_OR_RETURN(CardImage image, CardImage::Load(path_));
    file_ = *file;
    // Each durable write replaces the file (rename), so the session follows the new file id.
    session_.emplace(std::move(image), [this](const CardImage& next) -> core::Status {
        KZ_RETURN_IF_ERROR(next.Save(path_));
        if (auto now = CurrentFile()) file_ = *now;
        return core::Status::Ok();
    });
    return core::Status::Ok();
}

core::Result<std::string> FileCardReader::Atr() {
    if (!session_) return MakeError(ErrorCode::kInternal, "Atr() needs Connect() first");
    if (CurrentFile() != file_) {
        session_.reset();
        return CardRemovedError(Name());
    }
    return CardApplet::Atr();
}

core::Result<ResponseApdu> FileCardReader::Transmit(const CommandApdu& command) {
    if (!session_) return MakeError(ErrorCode::kInternal, "Transmit() needs Connect() first");
    // A card that left the reader, or a different card put in its place, ends the session.
    if (CurrentFile() != file_) {
        session_.reset();
        return CardRemovedError(Name());
    }
    KZ_ASSIGN_OR_RETURN(const std::string wire, command.Encode());
    auto response = ResponseApdu::Parse(session_->ProcessBytes(wire));
    if (!response) return MakeError(ErrorCode::kInternal, response.error().message);
    return response;
}

}  // namespace kizuna::card
