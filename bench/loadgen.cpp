// bench/loadgen: drives a running hub with N keep-alive HTTP/1.1 connections for D seconds and
// reports throughput and latency percentiles. Closed loop: each connection sends its next
// request when the previous answer has arrived. Hand-written HTTP over Boost.Asio keeps the
// client cheap, because it shares the machine's cores with the server it measures.
//
//   loadgen --target 127.0.0.1:8080 --seed-file seed.txt --scenario purchases
//           [--connections 64] [--duration 20] [--warmup 2] [--json] [--acked-ids FILE]
//
// Exit status: 0 when every answer was 2xx and no request was lost, 1 otherwise (or, with
// --tolerate-errors, only when a non-2xx answer arrived), 2 for bad usage.

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "http_response_parser.hpp"
#include "latency_histogram.hpp"
#include "seed_file.hpp"

namespace kizuna::bench {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

enum class Scenario { kPurchases, kUsage, kMix, kHealthz };
enum class Kind { kPurchase = 0, kUsage = 1, kHealthz = 2 };
constexpr int kKinds = 3;
constexpr const char* kKindNames[kKinds] = {"purchase", "usage", "healthz"};

struct Options {
    std::string target = "127.0.0.1:8080";
    std::string scenario = "purchases";
    std::string seed_file;
    std::string acked_ids;
    std::string id_prefix;
    int connections = 64;
    int threads = 1;
    double duration = 20;
    double warmup = 0;
    int usage_percent = 80;  // share of usage requests in the mix
    uint64_t random_seed = 0;
    bool json = false;
    bool tolerate_errors = false;
};

// What every connection of a run shares, read-only once the run starts.
struct Plan {
    Scenario scenario = Scenario::kPurchases;
    int usage_percent = 80;
    std::string host;  // for the Host header
    tcp::endpoint endpoint;
    SeedFile seed;
    std::string id_prefix;
    Clock::time_point measure_from;
    Clock::time_point deadline;
    Clock::duration drain_limit = std::chrono::seconds(10);
};

// Per-thread results, merged at the end.
struct Stats {
    LatencyHistogram all;
    LatencyHistogram by_kind[kKinds];
    std::map<int, uint64_t> statuses;
    uint64_t non_2xx = 0;
    uint64_t lost = 0;            // sent, but the connection failed before the answer
    uint64_t connect_errors = 0;  // could not connect
    Clock::time_point last_completion{};
    std::vector<std::string> acked_purchases;
    std::map<int, std::string> sample_error_bodies;  // first body seen per non-2xx status

    void Merge(Stats& other) {
        all.Merge(other.all);
        for (int k = 0; k < kKinds; ++k) by_kind[k].Merge(other.by_kind[k]);
        for (const auto& [code, n] : other.statuses) statuses[code] += n;
        non_2xx += other.non_2xx;
        lost += other.lost;
        connect_errors += other.connect_errors;
        last_completion = std::max(last_completion, other.last_completion);
        acked_purchases.insert(acked_purchases.end(),
                               std::make_move_iterator(other.acked_purchases.begin()),
                               std::make_move_iterator(other.acked_purchases.end()));
        for (auto& [code, body] : other.sample_error_bodies)
            sample_error_bodies.emplace(code, body);
    }
};

// "2026-11-22T15:04:05Z" for now, recomputed once per second.
class UtcNowText {
  public:
    const std::string& Get() {
        const std::time_t now = std::time(nullptr);
        if (now != cached_at_) {
            std::tm tm{};
            gmtime_r(&now, &tm);
            char buf[32];
            std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
            text_ = buf;
            cached_at_ = now;
        }
        return text_;
    }

  private:
    std::time_t cached_at_ = 0;
    std::string text_;
};

class Worker;

// One keep-alive connection running the closed loop send → read answer → record → send.
class Connection : public std::enable_shared_from_this<Connection> {
  public:
    Connection(Worker& worker, int index);
    void Start();
    void Close();

  private:
    void Connect();
    void SendNext();
    void ReadMore();
    void OnRead(std::size_t n);
    void Fail(bool in_flight);
    void Finish();

    Worker& worker_;
    int index_;
    tcp::socket socket_;
    asio::steady_timer retry_timer_;
    HttpResponseParser parser_;
    std::string request_;
    std::vector<char> buffer_ = std::vector<char>(16 * 1024);
    Kind kind_ = Kind::kHealthz;
    std::string purchase_id_;
    uint64_t sequence_ = 0;
    Clock::time_point sent_at_{};
    bool finished_ = false;
};

// One thread: an io_context and its share of the connections.
class Worker {
  public:
    Worker(const Plan& plan, int id, int connections, uint64_t seed)
        : plan_(plan), id_(id), connections_(connections), random_(seed), drain_timer_(io_) {}

    void Run() {
        for (int i = 0; i < connections_; ++i) {
            conns_.push_back(std::make_shared<Connection>(*this, id_ * 1000000 + i));
        }
        active_ = connections_;
        for (auto& c : conns_) c->Start();
        // A server that stops answering must not hang the run: close what is left after the
        // drain limit.
        drain_timer_.expires_at(plan_.deadline + plan_.drain_limit);
        drain_timer_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            for (auto& c : conns_) c->Close();
        });
        io_.run();
    }

    void ConnectionFinished() {
        if (--active_ == 0) drain_timer_.cancel();
    }

    asio::io_context& io() { return io_; }
    const Plan& plan() const { return plan_; }
    Stats& stats() { return stats_; }
    std::mt19937_64& random() { return random_; }
    UtcNowText& now_text() { return now_text_; }

    template <typename T>
    const T& Pick(const std::vector<T>& items) {
        return items[std::uniform_int_distribution<std::size_t>(0, items.size() - 1)(random_)];
    }

  private:
    const Plan& plan_;
    int id_;
    int connections_;
    std::mt19937_64 random_;
    asio::io_context io_{1};
    asio::steady_timer drain_timer_;
    std::vector<std::shared_ptr<Connection>> conns_;
    int active_ = 0;
    Stats stats_;
    UtcNowText now_text_;
};

Connection::Connection(Worker& worker, int index)
    : worker_(worker), index_(index), socket_(worker.io()), retry_timer_(worker.io()) {}

void Connection::Start() { Connect(); }

void Connection::Close() {
    boost::system::error_code ignored;
    retry_timer_.cancel();
    socket_.close(ignored);
}

void Connection::Finish() {
    if (finished_) return;
    finished_ = true;
    Close();
    worker_.ConnectionFinished();
}

void Connection::Connect() {
    if (Clock::now() >= worker_.plan().deadline) return Finish();
    boost::system::error_code ignored;
    socket_.close(ignored);
    socket_.async_connect(worker_.plan().endpoint,
                          [self = shared_from_this()](boost::system::error_code ec) {
                              if (ec) {
                                  ++self->worker_.stats().connect_errors;
                                  return self->Fail(false);
                              }
                              boost::system::error_code ignored;
                              self->socket_.set_option(tcp::no_delay(true), ignored);
                              self->parser_.Reset();
                              self->SendNext();
                          });
}

void Connection::SendNext() {
    const Plan& plan = worker_.plan();
    if (Clock::now() >= plan.deadline) return Finish();

    switch (plan.scenario) {
        case Scenario::kPurchases:
            kind_ = Kind::kPurchase;
            break;
        case Scenario::kUsage:
            kind_ = Kind::kUsage;
            break;
        case Scenario::kHealthz:
            kind_ = Kind::kHealthz;
            break;
        case Scenario::kMix:
            kind_ = std::uniform_int_distribution<int>(0, 99)(worker_.random()) < plan.usage_percent
                        ? Kind::kUsage
                        : Kind::kPurchase;
            break;
    }

    request_.clear();
    if (kind_ == Kind::kHealthz) {
        request_ += "GET /healthz HTTP/1.1\r\nHost: ";
        request_ += plan.host;
        request_ += "\r\n\r\n";
    } else if (kind_ == Kind::kUsage) {
        // A member reads their own usage with their session token; without sessions in the
        // seed, the operator token (which the usage endpoint also accepts) is used.
        const std::string* member_id;
        const std::string* token;
        if (!plan.seed.sessions.empty()) {
            const SeedSession& s = worker_.Pick(plan.seed.sessions);
            member_id = &s.member_id;
            token = &s.token;
        } else {
            member_id = &worker_.Pick(plan.seed.members).member_id;
            token = &plan.seed.operator_token;
        }
        request_ += "GET /v1/members/";
        request_ += *member_id;
        request_ += "/usage HTTP/1.1\r\nHost: ";
        request_ += plan.host;
        request_ += "\r\nAuthorization: Bearer ";
        request_ += *token;
        request_ += "\r\n\r\n";
    } else {
        purchase_id_ = plan.id_prefix;
        purchase_id_ += '-';
        purchase_id_ += std::to_string(index_);
        purchase_id_ += '-';
        purchase_id_ += std::to_string(++sequence_);
        const SeedStore& store = worker_.Pick(plan.seed.stores);
        const SeedMember& member = worker_.Pick(plan.seed.members);
        const int price = std::uniform_int_distribution<int>(1, 400)(worker_.random()) * 50;
        const int quantity = std::uniform_int_distribution<int>(1, 3)(worker_.random());
        std::string body;
        body.reserve(320);
        body += R"({"purchase_id":")";
        body += purchase_id_;
        body += R"(","member_id":")";
        body += member.member_id;
        body += R"(","occurred_at":")";
        body += worker_.now_text().Get();
        body += R"(","currency":"JPY","lines":[{"name":"Green tea 500ml","sku":"GT-500",)";
        body += R"("category":"drinks","quantity":)";
        body += std::to_string(quantity);
        body += R"(,"unit_price":)";
        body += std::to_string(price);
        body += "}]}";
        request_ += "POST /v1/purchases HTTP/1.1\r\nHost: ";
        request_ += plan.host;
        request_ += "\r\nAuthorization: Bearer ";
        request_ += store.api_key;
        request_ += "\r\nContent-Type: application/json\r\nContent-Length: ";
        request_ += std::to_string(body.size());
        request_ += "\r\n\r\n";
        request_ += body;
    }

    sent_at_ = Clock::now();
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                          if (ec) return self->Fail(true);
                          self->ReadMore();
                      });
}

void Connection::ReadMore() {
    socket_.async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            if (ec) return self->Fail(true);
            self->OnRead(n);
        });
}

void Connection::OnRead(std::size_t n) {
    std::size_t consumed = 0;
    const auto state = parser_.Feed(std::string_view(buffer_.data(), n), consumed);
    if (state == HttpResponseParser::State::kNeedMore) return ReadMore();
    if (state == HttpResponseParser::State::kError || consumed != n) {
        // Malformed, or bytes the client never asked for: the connection cannot be trusted.
        return Fail(true);
    }

    const auto now = Clock::now();
    Stats& stats = worker_.stats();
    const int status = parser_.status();
    const bool ok = status >= 200 && status < 300;
    // An acknowledged purchase is recorded whenever it arrives (the crash test needs all of
    // them); timings only inside the measured window.
    if (ok && kind_ == Kind::kPurchase) stats.acked_purchases.push_back(purchase_id_);
    if (now >= worker_.plan().measure_from) {
        const auto micros = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at_).count());
        stats.all.Record(micros);
        stats.by_kind[static_cast<int>(kind_)].Record(micros);
        ++stats.statuses[status];
        stats.last_completion = std::max(stats.last_completion, now);
    }
    if (!ok) {
        ++stats.non_2xx;
        stats.sample_error_bodies.emplace(status, parser_.error_body());
    }
    const bool close = parser_.close();
    parser_.Reset();
    if (close) return Connect();
    SendNext();
}

void Connection::Fail(bool in_flight) {
    if (finished_) return;
    if (in_flight) ++worker_.stats().lost;
    boost::system::error_code ignored;
    socket_.close(ignored);
    if (Clock::now() >= worker_.plan().deadline) return Finish();
    retry_timer_.expires_after(std::chrono::milliseconds(50));
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return self->Finish();
        self->Connect();
    });
}

double Millis(uint64_t micros) { return static_cast<double>(micros) / 1000.0; }

void PrintText(const Options& o, const Stats& s, double seconds) {
    const double rate = seconds > 0 ? static_cast<double>(s.all.Count()) / seconds : 0;
    std::printf("scenario %s: %d connections, %d thread(s), %.1f s measured\n", o.scenario.c_str(),
                o.connections, o.threads, seconds);
    std::printf("  requests   %llu (%.0f/s)\n", static_cast<unsigned long long>(s.all.Count()),
                rate);
    const auto line = [&](const char* name, const LatencyHistogram& h) {
        std::printf("  %-9s  p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  (%llu)\n", name,
                    Millis(h.PercentileMicros(0.50)), Millis(h.PercentileMicros(0.99)),
                    Millis(h.PercentileMicros(0.999)), Millis(h.MaxMicros()),
                    static_cast<unsigned long long>(h.Count()));
    };
    line("latency", s.all);
    for (int k = 0; k < kKinds; ++k) {
        if (s.by_kind[k].Count() > 0 && s.by_kind[k].Count() != s.all.Count()) {
            line(kKindNames[k], s.by_kind[k]);
        }
    }
    std::printf("  non-2xx    %llu\n", static_cast<unsigned long long>(s.non_2xx));
    std::printf("  lost       %llu (connect errors %llu)\n",
                static_cast<unsigned long long>(s.lost),
                static_cast<unsigned long long>(s.connect_errors));
    for (const auto& [code, n] : s.statuses) {
        if (code < 200 || code >= 300) {
            std::printf("  status %d: %llu  e.g. %s\n", code, static_cast<unsigned long long>(n),
                        s.sample_error_bodies.count(code)
                            ? s.sample_error_bodies.at(code).substr(0, 200).c_str()
                            : "");
        }
    }
}

void PrintJson(const Options& o, const Stats& s, double seconds) {
    const double rate = seconds > 0 ? static_cast<double>(s.all.Count()) / seconds : 0;
    const auto hist = [](const LatencyHistogram& h) {
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      R"({"count":%llu,"p50_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f,)"
                      R"("mean_ms":%.3f})",
                      static_cast<unsigned long long>(h.Count()), Millis(h.PercentileMicros(0.5)),
                      Millis(h.PercentileMicros(0.99)), Millis(h.PercentileMicros(0.999)),
                      Millis(h.MaxMicros()), h.MeanMicros() / 1000.0);
        return std::string(buf);
    };
    std::string out = "{\"scenario\":\"" + o.scenario + "\"";
    out += ",\"connections\":" + std::to_string(o.connections);
    out += ",\"threads\":" + std::to_string(o.threads);
    char num[64];
    std::snprintf(num, sizeof num, "%.3f", seconds);
    out += ",\"seconds\":" + std::string(num);
    out += ",\"requests\":" + std::to_string(s.all.Count());
    std::snprintf(num, sizeof num, "%.1f", rate);
    out += ",\"throughput\":" + std::string(num);
    out += ",\"latency\":" + hist(s.all);
    for (int k = 0; k < kKinds; ++k) {
        if (s.by_kind[k].Count() > 0) {
            out += ",\"" + std::string(kKindNames[k]) + "\":" + hist(s.by_kind[k]);
        }
    }
    out += ",\"non_2xx\":" + std::to_string(s.non_2xx);
    out += ",\"lost\":" + std::to_string(s.lost);
    out += ",\"connect_errors\":" + std::to_string(s.connect_errors);
    out += ",\"statuses\":{";
    bool first = true;
    for (const auto& [code, n] : s.statuses) {
        if (!first) out += ',';
        first = false;
        out += "\"" + std::to_string(code) + "\":" + std::to_string(n);
    }
    out += "}}";
    std::puts(out.c_str());
}

int Run(const Options& o) {
    Plan plan;
    if (o.scenario == "purchases") {
        plan.scenario = Scenario::kPurchases;
    } else if (o.scenario == "usage") {
        plan.scenario = Scenario::kUsage;
    } else if (o.scenario == "mix") {
        plan.scenario = Scenario::kMix;
    } else if (o.scenario == "healthz") {
        plan.scenario = Scenario::kHealthz;
    } else {
        std::cerr << "loadgen: unknown scenario '" << o.scenario
                  << "' (purchases, usage, mix or healthz)\n";
        return 2;
    }
    plan.usage_percent = o.usage_percent;

    if (plan.scenario != Scenario::kHealthz) {
        if (o.seed_file.empty()) {
            std::cerr << "loadgen: scenario " << o.scenario
                      << " needs --seed-file (written by bench/seed)\n";
            return 2;
        }
        std::string error;
        if (!plan.seed.Load(o.seed_file, error)) {
            std::cerr << "loadgen: " << error << '\n';
            return 2;
        }
        const bool purchases = plan.scenario != Scenario::kUsage;
        const bool usage = plan.scenario == Scenario::kUsage || plan.scenario == Scenario::kMix;
        if (plan.seed.members.empty() && (purchases || plan.seed.sessions.empty())) {
            std::cerr << "loadgen: the seed file lists no members\n";
            return 2;
        }
        if (purchases && plan.seed.stores.empty()) {
            std::cerr << "loadgen: purchases need store API keys; the seed file lists none\n";
            return 2;
        }
        if (usage && plan.seed.sessions.empty() && plan.seed.operator_token.empty()) {
            std::cerr << "loadgen: usage reads need member sessions or the operator token\n";
            return 2;
        }
    }

    const auto colon = o.target.rfind(':');
    if (colon == std::string::npos) {
        std::cerr << "loadgen: --target must be host:port, got '" << o.target << "'\n";
        return 2;
    }
    plan.host = o.target;
    try {
        asio::io_context resolver_io;
        tcp::resolver resolver(resolver_io);
        auto results = resolver.resolve(o.target.substr(0, colon), o.target.substr(colon + 1));
        plan.endpoint = results.begin()->endpoint();
    } catch (const std::exception& e) {
        std::cerr << "loadgen: cannot resolve " << o.target << ": " << e.what() << '\n';
        return 2;
    }

    plan.id_prefix = o.id_prefix;
    if (plan.id_prefix.empty()) {
        plan.id_prefix = "lg" + std::to_string(std::time(nullptr)) + "." + std::to_string(getpid());
    }
    const auto start = Clock::now();
    plan.measure_from = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o.warmup));
    plan.deadline = plan.measure_from + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(o.duration));

    const int threads = std::clamp(o.threads, 1, o.connections);
    std::vector<std::unique_ptr<Worker>> workers;
    const uint64_t seed = o.random_seed != 0 ? o.random_seed : std::random_device{}();
    for (int t = 0; t < threads; ++t) {
        const int share = o.connections / threads + (t < o.connections % threads ? 1 : 0);
        workers.push_back(std::make_unique<Worker>(plan, t, share, seed + 7919 * t));
    }
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back([&, t] { workers[t]->Run(); });
    workers[0]->Run();
    for (auto& th : pool) th.join();

    Stats total;
    for (auto& w : workers) total.Merge(w->stats());
    const auto end = std::max(plan.deadline, total.last_completion);
    const double seconds = std::chrono::duration<double>(end - plan.measure_from).count();

    if (!o.acked_ids.empty()) {
        std::ofstream out(o.acked_ids, std::ios::trunc);
        for (const auto& id : total.acked_purchases) out << id << '\n';
        out.flush();
        if (!out) {
            std::cerr << "loadgen: cannot write " << o.acked_ids << '\n';
            return 1;
        }
    }
    if (o.json) {
        PrintJson(o, total, seconds);
    } else {
        PrintText(o, total, seconds);
    }
    if (total.non_2xx > 0) return 1;
    if (!o.tolerate_errors && (total.lost > 0 || total.connect_errors > 0)) return 1;
    return 0;
}

}  // namespace
}  // namespace kizuna::bench

int main(int argc, char** argv) {
    kizuna::bench::Options o;
    CLI::App app{"Kizuna load generator: keep-alive HTTP/1.1 load against a running hub"};
    app.add_option("--target", o.target, "host:port of the hub")->capture_default_str();
    app.add_option("--scenario", o.scenario, "purchases, usage, mix (80/20) or healthz")
        ->capture_default_str();
    app.add_option("--seed-file", o.seed_file, "stores, members and tokens from bench/seed");
    app.add_option("-c,--connections", o.connections, "keep-alive connections")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000));
    app.add_option("-d,--duration", o.duration, "measured seconds")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--warmup", o.warmup, "seconds of load before measuring")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("-t,--threads", o.threads, "client threads")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    app.add_option("--usage-percent", o.usage_percent, "share of usage reads in the mix")
        ->capture_default_str()
        ->check(CLI::Range(0, 100));
    app.add_option("--acked-ids", o.acked_ids,
                   "write the id of every purchase answered 2xx to this file");
    app.add_option("--id-prefix", o.id_prefix, "prefix of purchase ids (default: unique per run)");
    app.add_option("--random-seed", o.random_seed, "seed for member/store choice (0: random)");
    app.add_flag("--json", o.json, "print one JSON object instead of text");
    app.add_flag("--tolerate-errors", o.tolerate_errors,
                 "exit 0 despite lost requests and connect errors (crash tests)");
    CLI11_PARSE(app, argc, argv);
    return kizuna::bench::Run(o);
}
