#include "cli/password_prompt.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <string>

namespace kizuna::cli {
namespace {

core::Error Invalid(std::string message) {
    return core::MakeError(core::ErrorCode::kInvalidArgument, std::move(message), "password");
}

// Restores the terminal's echo setting however the prompt ends.
class EchoOff {
  public:
    explicit EchoOff(int fd) : fd_(fd) {
        if (tcgetattr(fd_, &saved_) == 0) {
            termios quiet = saved_;
            quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
            quiet.c_lflag |= ECHONL;
            active_ = tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
        }
    }
    ~EchoOff() {
        if (active_) tcsetattr(fd_, TCSAFLUSH, &saved_);
    }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;

  private:
    int fd_;
    termios saved_{};
    bool active_ = false;
};

core::Result<std::string> AskOnce(int fd, const std::string& prompt) {
    if (::write(fd, prompt.data(), prompt.size()) < 0) {
        return Invalid("cannot write to the terminal; use --password-stdin");
    }
    std::string line;
    {
        EchoOff quiet(fd);
        char c = 0;
        while (true) {
            const ssize_t n = ::read(fd, &c, 1);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return Invalid("no password entered");
            if (c == '\n') break;
            line.push_back(c);
        }
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) return Invalid("the password is empty");
    return line;
}

}  // namespace

core::Result<std::string> ReadPasswordLine(std::istream& in) {
    std::string line;
    if (!std::getline(in, line)) {
        return Invalid("--password-stdin: standard input ended before a password line");
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) return Invalid("--password-stdin: the password line is empty");
    return line;
}

core::Result<std::string> PromptPassword(const std::string& prompt, bool confirm) {
    const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        return Invalid("no terminal to ask for the password; pipe it in with --password-stdin");
    }
    auto first = AskOnce(fd, prompt + ": ");
    if (first && confirm) {
        auto second = AskOnce(fd, prompt + " (again): ");
        if (!second) {
            first = second.error();
        } else if (*second != *first) {
            first = Invalid("the two passwords differ; nothing was changed");
        }
    }
    ::close(fd);
    return first;
}

core::Result<std::string> ObtainPassword(const PasswordOptions& options, const std::string& prompt,
                                         bool confirm) {
    if (!options.plain.empty()) {
        std::cerr << "warning: --password is visible to other users in the process list; "
                     "prefer the prompt or --password-stdin\n";
        return options.plain;
    }
    if (options.from_stdin) return ReadPasswordLine(std::cin);
    return PromptPassword(prompt, confirm);
}

}  // namespace kizuna::cli
