#include "card_sim/vpcd_card.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace kizuna::tools {

using core::ErrorCode;
using core::MakeError;

namespace {
constexpr uint8_t kPowerOff = 0;
constexpr uint8_t kPowerOn = 1;
constexpr uint8_t kReset = 2;
constexpr uint8_t kSendAtr = 4;

int ConnectOnce(const std::string& host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &result) != 0) return -1;
    int fd = -1;
    for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
        fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        ::close(fd);
        fd = -1;
    }
    freeaddrinfo(result);
    if (fd >= 0) {
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}
}  // namespace

VpcdCard::VpcdCard(card::CardApplet applet, std::optional<uint64_t> remove_after_apdus)
    : applet_(std::move(applet)), remove_after_apdus_(remove_after_apdus) {}

VpcdCard::~VpcdCard() {
    if (socket_ >= 0) ::close(socket_);
}

core::Status VpcdCard::Insert(const std::string& host, uint16_t port, int wait_seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
    while (true) {
        socket_ = ConnectOnce(host, port);
        if (socket_ >= 0) return core::Status::Ok();
        if (std::chrono::steady_clock::now() >= deadline) {
            return MakeError(ErrorCode::kUnavailable,
                             "no vpcd reader listening on " + host + ":" + std::to_string(port) +
                                 " (is pcscd running with vsmartcard-vpcd installed?)");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

bool VpcdCard::ReadExact(char* buffer, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::recv(socket_, buffer + done, size - done, 0);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            if (stop_ != nullptr && *stop_) return false;
        } else {
            return false;
        }
    }
    return true;
}

bool VpcdCard::SendMessage(const std::string& body) {
    std::string message{static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xFF)};
    message += body;
    std::size_t done = 0;
    while (done < message.size()) {
        const ssize_t n =
            ::send(socket_, message.data() + done, message.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::string VpcdCard::Serve(const volatile bool& stop) {
    stop_ = &stop;
    while (true) {
        if (stop) return "stopped: card removed";
        char header[2];
        if (!ReadExact(header, sizeof header)) {
            return stop ? "stopped: card removed" : "the reader closed the connection";
        }
        const std::size_t length =
            (static_cast<std::size_t>(static_cast<uint8_t>(header[0])) << 8) |
            static_cast<uint8_t>(header[1]);
        std::string body(length, '\0');
        if (length > 0 && !ReadExact(body.data(), length)) {
            return stop ? "stopped: card removed" : "the reader closed the connection";
        }
        if (length == 1) {
            switch (static_cast<uint8_t>(body[0])) {
                case kPowerOff:
                case kPowerOn:
                case kReset:
                    applet_.Reset();
                    break;
                case kSendAtr:
                    if (!SendMessage(card::CardApplet::Atr())) return "the reader went away";
                    break;
                default:
                    break;  // unknown controls are ignored, as vpcd's own cards do
            }
            continue;
        }
        if (!SendMessage(applet_.ProcessBytes(body))) return "the reader went away";
        ++apdus_;
        if (remove_after_apdus_ && apdus_ >= *remove_after_apdus_) {
            return "pulled out after " + std::to_string(apdus_) + " APDUs";
        }
    }
}

}  // namespace kizuna::tools
