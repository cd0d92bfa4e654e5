#pragma once
// The crash-point loop every power-loss test runs, in the manner of SQLite's crash tests
// (src/test6.c): for each run, choose a crash point, run the test's workload over a fresh
// PowerLossVfs (power_loss_vfs.hpp) until the power goes there, write what the disk holds after
// the cut into a directory of its own, and reopen and check it with the normal code. The test
// supplies the workload, the check and how crash points are spread; the loop does the rest and
// counts where the crashes fell, for the test to assert on.
//
// Thread-safety: call from the test's thread; the workload may start threads of its own.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "power_loss_vfs.hpp"

namespace kizuna::storage::sqlite::testing {

// A test's work under power loss. `Acknowledged` records what the work answered for (it must
// have `std::size_t size() const`); a fresh one per run.
template <typename Acknowledged>
struct PowerLossWorkload {
    // Runs over `vfs` with its files in `dir` (an empty directory) until the power goes or the
    // work is done, recording in `acknowledged` what it answered for. `run` is -1 for the run
    // without a crash, else the run's number (workloads vary their work by it).
    std::function<void(const std::filesystem::path& dir, PowerLossVfs& vfs, int run,
                       Acknowledged& acknowledged)>
        run;
    // Reopens the files the cut left in `after_dir` with the normal code: what is wrong with
    // them, given what was acknowledged (empty when nothing is).
    std::function<std::vector<std::string>(const std::filesystem::path& after_dir,
                                           const Acknowledged& acknowledged)>
        check;
};

// A burst of asynchronous writes, as a store's I/O threads queue them: Queued() before each
// write is handed over, Answered() at the end of its completion (after it recorded what it
// acknowledges), Wait() until every one has answered.
class AnsweredWrites {
  public:
    void Queued() {
        std::lock_guard lock(mutex_);
        ++waiting_;
    }
    void Answered() {
        std::lock_guard lock(mutex_);
        --waiting_;
        answered_.notify_all();
    }
    void Wait() {
        std::unique_lock lock(mutex_);
        answered_.wait(lock, [this] { return waiting_ == 0; });
    }

  private:
    std::mutex mutex_;
    std::condition_variable answered_;
    int waiting_ = 0;
};

struct PowerLossLoop {
    std::filesystem::path dir;  // each run's directory is made and removed under it
    std::chrono::microseconds sync_time{0};
    int runs = 0;
    uint64_t seed = 20261207;  // draws every plan's seed and, through `choose`, its crash point
    // Places the run-th crash point in `plan` (after, ordinal, then; the loop has drawn
    // plan.seed already) from the counters of a run without a crash.
    std::function<void(int run, const PowerLossVfs::Counters& whole, std::mt19937_64& random,
                       PowerLossVfs::Plan& plan)>
        choose;
};

// Where the crashes of RunCrashPoints fell and what was checked.
struct PowerLossTally {
    int crashes = 0;  // runs that reached their crash point (the others prove nothing)
    int during_checkpoint = 0;
    int during_log_restart = 0;
    int failed_runs = 0;  // runs whose check found problems (each one also an ADD_FAILURE)
    uint64_t frames_before_header_synced = 0;  // over the crashed runs
    std::size_t acknowledged = 0;              // over the crashed runs
};

// The workload once without a crash, in loop.dir / "whole": the counters that crash points are
// spread over. `acknowledged` gets what the run answered for.
template <typename Acknowledged>
PowerLossVfs::Counters RunWithoutCrash(const PowerLossLoop& loop,
                                       const PowerLossWorkload<Acknowledged>& workload,
                                       Acknowledged& acknowledged) {
    const std::filesystem::path run_dir = loop.dir / "whole";
    std::filesystem::create_directory(run_dir);
    PowerLossVfs vfs("unix-excl", loop.sync_time);
    workload.run(run_dir, vfs, -1, acknowledged);
    return vfs.counters();
}

// The loop: loop.runs runs, each cut at the point loop.choose places and checked by
// workload.check; every run that fails its check is an ADD_FAILURE naming the run and where the
// power went. Each run's files are removed after it.
template <typename Acknowledged>
PowerLossTally RunCrashPoints(const PowerLossLoop& loop, const PowerLossVfs::Counters& whole,
                              const PowerLossWorkload<Acknowledged>& workload) {
    PowerLossTally tally;
    std::mt19937_64 random(loop.seed);
    for (int run = 0; run < loop.runs; ++run) {
        PowerLossVfs::Plan plan;
        plan.seed = random();
        loop.choose(run, whole, random, plan);
        const std::filesystem::path run_dir = loop.dir / ("run" + std::to_string(run));
        std::filesystem::create_directory(run_dir);
        Acknowledged acknowledged;
        PowerLossVfs::CrashSite site;
        std::map<std::string, std::string> disk;
        {
            PowerLossVfs vfs("unix-excl", loop.sync_time);
            vfs.CrashAt(plan);
            workload.run(run_dir, vfs, run, acknowledged);
            if (!vfs.crashed()) {
                std::filesystem::remove_all(run_dir);
                continue;  // the run ended before its crash point
            }
            site = vfs.crash_site();
            tally.frames_before_header_synced += vfs.counters().frames_before_header_synced;
            disk = vfs.DiskAfterCrash();
        }
        ++tally.crashes;
        tally.during_checkpoint += site.during_checkpoint ? 1 : 0;
        tally.during_log_restart += site.during_log_restart ? 1 : 0;
        tally.acknowledged += acknowledged.size();

        // The disk after the power cut, in a directory of its own, opened by the normal code.
        const std::filesystem::path after_dir = run_dir / "after";
        std::filesystem::create_directory(after_dir);
        for (const auto& [file, content] : disk) {
            std::ofstream out(after_dir / std::filesystem::path(file).filename(), std::ios::binary);
            out.write(content.data(), static_cast<std::streamsize>(content.size()));
        }
        const std::vector<std::string> problems = workload.check(after_dir, acknowledged);
        if (!problems.empty()) {
            ++tally.failed_runs;
            std::string all;
            for (std::size_t i = 0; i < problems.size() && i < 5; ++i) all += "\n  " + problems[i];
            ADD_FAILURE() << "run " << run << " (crash at operation " << site.operation
                          << ", unsynced writes " << site.unsynced_writes
                          << (site.during_checkpoint ? ", during a checkpoint" : "")
                          << (site.during_log_restart ? ", during a log restart" : "") << ", "
                          << acknowledged.size() << " acknowledged): " << problems.size()
                          << " problems" << all;
        }
        std::filesystem::remove_all(run_dir);
    }
    return tally;
}

}  // namespace kizuna::storage::sqlite::testing
