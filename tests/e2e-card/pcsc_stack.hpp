#pragma once
// PcscStack: the real card stack for end-to-end tests — pcscd (started here with the test's own
// reader configuration, tests/e2e-card/readers, unless one already answers on
// /run/pcscd/pcscd.comm), its vpcd virtual reader, and kizuna-card-sim cards put in
// and taken out of that reader. Every process started is stopped by its PID.
// Thread-safety: not thread-safe; one per test.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace kizuna::card::testing {

class PcscStack {
  public:
    // `sim_path`: the kizuna-card-sim binary; `readers_dir`: the reader configuration folder
    // given to the pcscd this stack starts.
    PcscStack(std::string sim_path, std::string readers_dir);
    ~PcscStack();
    PcscStack(const PcscStack&) = delete;
    PcscStack& operator=(const PcscStack&) = delete;

    // Why the stack cannot run here (not root, pcscd or vpcd missing), or empty.
    static std::string Unsupported();
    // Starts pcscd if needed and waits for the vpcd reader. Returns an error text or empty.
    std::string Start();

    // The PC/SC name of the reader the simulator's cards go into.
    const std::string& reader_name() const { return reader_name_; }

    // Puts the card image at `image` into the reader and waits until PC/SC reports it present.
    std::string Insert(const std::string& image, const std::vector<std::string>& extra_args = {});
    // Pulls the current card out and waits until the reader reports empty.
    std::string Remove();
    // Waits until the reader reports empty (after a card pulled itself out).
    std::string WaitEmpty();
    // Runs `kizuna-card-sim ARGS` to completion; returns its exit status.
    int RunSim(const std::vector<std::string>& args);

  private:
    pid_t Spawn(const std::vector<std::string>& argv, const std::string& log);
    static bool StopProcess(pid_t pid, std::chrono::milliseconds grace);

    std::string sim_path_;
    std::string readers_dir_;
    std::string reader_name_;
    int vpcd_port_ = 0;
    pid_t pcscd_ = -1;
    pid_t card_ = -1;
};

}  // namespace kizuna::card::testing
