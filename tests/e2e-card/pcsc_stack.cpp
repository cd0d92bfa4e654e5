#include "pcsc_stack.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "card/pcsc_card_reader.hpp"

extern char** environ;

namespace kizuna::card::testing {

namespace {

using namespace std::chrono_literals;

// The reader of tests/e2e-card/readers/vpcd (CHANNELID 0x7C7B), below the kernel's range for
// outgoing connections' local ports; see that file.
constexpr int kOwnVpcdPort = 31867;
// The packaged /etc/reader.conf.d/vpcd (CHANNELID 0x8C7B): used only when a pcscd this stack did
// not start already runs with the packaged configuration.
constexpr int kPackagedVpcdPort = 35963;
constexpr auto kWait = 10s;

// True when something listens on TCP `port`. Read from /proc rather than by connecting:
// a connection to vpcd's port *is* a card insertion.
bool Listening(int port) {
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state;
            fields >> slot >> local >> remote >> state;
            const auto colon = local.rfind(':');
            if (colon == std::string::npos || state != "0A") continue;  // 0A: LISTEN
            if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) return true;
        }
    }
    return false;
}

bool PcscdAnswers() {
    SCARDCONTEXT context;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context) != SCARD_S_SUCCESS) {
        return false;
    }
    SCardReleaseContext(context);
    return true;
}

bool Executable(const char* path) { return ::access(path, X_OK) == 0; }

}  // namespace

PcscStack::PcscStack(std::string sim_path, std::string readers_dir)
    : sim_path_(std::move(sim_path)), readers_dir_(std::move(readers_dir)) {}

PcscStack::~PcscStack() {
    if (card_ > 0) StopProcess(card_, 3s);
    if (pcscd_ > 0) StopProcess(pcscd_, 5s);
}

std::string PcscStack::Unsupported() {
    if (::geteuid() != 0) return "needs root to run pcscd (CI runs as root)";
    if (!Executable("/usr/sbin/pcscd")) return "pcscd is not installed (scripts/bootstrap test)";
    if (::access("/usr/lib/pcsc/drivers/serial/libifdvpcd.so", R_OK) != 0) {
        return "vsmartcard-vpcd is not installed (scripts/bootstrap test)";
    }
    return {};
}

pid_t PcscStack::Spawn(const std::vector<std::string>& argv, const std::string& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

bool PcscStack::StopProcess(pid_t pid, std::chrono::milliseconds grace) {
    ::kill(pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < deadline) {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) return true;
        std::this_thread::sleep_for(20ms);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return false;
}

std::string PcscStack::Start() {
    if (!PcscdAnswers()) {
        // One pcscd per machine: it owns /run/pcscd. A stale socket from a killed one is harmless,
        // pcscd replaces it. Ours reads only the test's reader configuration.
        pcscd_ = Spawn({"/usr/sbin/pcscd", "--foreground", "--config", readers_dir_},
                       "/tmp/kizuna-card-test-pcscd.log");
        if (pcscd_ < 0) return "could not start pcscd";
    }
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    for (;;) {
        if (PcscdAnswers()) {
            if (Listening(kOwnVpcdPort)) {
                vpcd_port_ = kOwnVpcdPort;
                break;
            }
            if (pcscd_ < 0 && Listening(kPackagedVpcdPort)) {  // someone else's pcscd
                vpcd_port_ = kPackagedVpcdPort;
                break;
            }
        }
        if (std::chrono::steady_clock::now() > deadline) {
            return pcscd_ > 0
                       ? "pcscd did not open the vpcd reader port " + std::to_string(kOwnVpcdPort) +
                             " (see /tmp/kizuna-card-test-pcscd.log)"
                       : "a pcscd not started by this test runs without a vpcd reader "
                         "(stop it, then run the test again)";
        }
        std::this_thread::sleep_for(50ms);
    }
    PcscCardReader reader("Virtual PCD");
    auto readers = reader.ListReaders();
    if (!readers || readers->empty()) return "pcscd lists no vpcd reader";
    for (const auto& name : *readers) {
        if (name.find("Virtual PCD") != std::string::npos) {
            reader_name_ = name;  // the first slot: the CHANNELID's port
            break;
        }
    }
    if (reader_name_.empty()) return "pcscd lists no vpcd reader";
    return WaitEmpty();
}

std::string PcscStack::Insert(const std::string& image, const std::vector<std::string>& extra) {
    if (card_ > 0) return "a card is already in the reader";
    std::vector<std::string> argv{sim_path_, "insert", image, "--vpcd",
                                  "127.0.0.1:" + std::to_string(vpcd_port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    card_ = Spawn(argv, "/tmp/kizuna-card-test-sim.log");
    if (card_ < 0) return "could not start " + sim_path_;
    PcscCardReader reader(reader_name_);
    auto present = reader.WaitFor(CardPresence::kPresent, kWait);
    return present ? std::string() : present.error().message;
}

std::string PcscStack::Remove() {
    if (card_ > 0) {
        StopProcess(card_, 3s);
        card_ = -1;
    }
    return WaitEmpty();
}

std::string PcscStack::WaitEmpty() {
    PcscCardReader reader(reader_name_);
    auto empty = reader.WaitFor(CardPresence::kAbsent, kWait);
    if (!empty) return empty.error().message;
    // A card that pulled itself out exits right after; collect it.
    if (card_ > 0) {
        const auto deadline = std::chrono::steady_clock::now() + 3s;
        while (::waitpid(card_, nullptr, WNOHANG) != card_) {
            if (std::chrono::steady_clock::now() > deadline) return "the card process did not exit";
            std::this_thread::sleep_for(20ms);
        }
        card_ = -1;
        // vpcd reports a card that vanished in mid-exchange as empty at once, before pcscd's
        // own presence poll (every 400 ms) has seen the slot empty; a card inserted before that
        // poll would go unnoticed. Let two polls pass.
        std::this_thread::sleep_for(1s);
    }
    return {};
}

int PcscStack::RunSim(const std::vector<std::string>& args) {
    std::vector<std::string> argv{sim_path_};
    argv.insert(argv.end(), args.begin(), args.end());
    const pid_t pid = Spawn(argv, "/tmp/kizuna-card-test-sim.log");
    if (pid < 0) return -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace kizuna::card::testing
