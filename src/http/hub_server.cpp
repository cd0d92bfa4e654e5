// The only translation unit that knows Boost.Beast: connections, TLS, reading requests into
// HttpRequest and writing HttpResponse back. Everything about the API itself is in Api.
//
// Threads: each of the `io_threads` runs its own io_context (event loop); connections are dealt
// to them in turn and each lives on its loop (one thread: no strand needed). A request whose route
// may block (password hashing, most service calls) is handed to the worker pool, and its response
// is posted back to the connection's loop. Cheap routes (health, public key, API document) are
// answered on the loop directly, usage too when that needs no waiting (Api::TryHandle), else on
// a worker; durable writes (purchases, redemptions, refunds) are queued from it and answered
// there when the storage calls back.
#include "http/hub_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "http/api.hpp"

namespace kizuna::http {
namespace {

namespace beast = boost::beast;
namespace wire = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;

// A connection lives on one event loop, run by one thread, so its handlers never run at the same
// time and need no strand; the concrete executor type also spares the type-erased
// any_io_executor, whose every copy took and dropped a reference on the strand (atomic
// reference counting was 6 % of an I/O thread's time for GET /healthz).
using LoopExecutor = net::io_context::executor_type;
// Plain sockets rather than beast::basic_stream: its timeouts arm a timer for every read and
// write, then cancel it and run the cancelled wait's handler, which with the layers it adds
// cost about 2 µs of an I/O thread per request. Timeouts are deadlines a DeadlineSweeper checks.
using TcpStream = net::basic_stream_socket<tcp, LoopExecutor>;
using SslStream = beast::ssl_stream<TcpStream>;
using Clock = std::chrono::steady_clock;

constexpr auto kHandshakeTimeout = 10s;
constexpr auto kWriteTimeout = 30s;
constexpr auto kStopGrace = 5s;      // how long Stop lets in-flight requests finish
constexpr auto kLingerTimeout = 2s;  // draining an unread body before closing, see Linger()
constexpr std::size_t kLingerBytes = 1 << 20;
constexpr std::string_view kServerName = "kizuna";

std::string_view ToStd(beast::string_view s) { return std::string_view(s.data(), s.size()); }

template <typename Integer>
void AppendDecimal(std::string& out, Integer value) {
    char digits[24];  // any 64-bit integer, sign included
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    (void)ec;  // cannot overflow 24 characters
    out.append(digits, end);
}

// What every connection shares with the server.
struct Shared {
    Shared(std::unique_ptr<Api> own_api, RequestHandler& handler, ServerOptions opts)
        : owned_api(std::move(own_api)),
          api(handler),
          options(std::move(opts)),
          workers(std::max(1, options.worker_threads)) {}

    std::unique_ptr<Api> owned_api;  // the hub's API when the server made it, else null
    RequestHandler& api;
    ServerOptions options;
    net::thread_pool workers;
    std::atomic<bool> stopping{false};
};

class SessionBase {
  public:
    virtual ~SessionBase() = default;
    // Closes the connection if it is waiting for a request; a request being handled is answered
    // first (with Connection: close). Thread-safe: posts to the connection's loop.
    virtual void Shutdown() = 0;
    // Closes the connection if what it is doing (a handshake, reading a request, writing an
    // answer, closing) has run past its deadline: the pending operation then ends with
    // operation_aborted. Only on the connection's loop.
    virtual void ExpireIfLate(Clock::time_point now) = 0;
    // Whether the connection waits for a request (a hint: it may change at once). Thread-safe.
    virtual bool IsIdle() const = 0;
};

// The deadlines of the connections on one event loop, checked every `tick` by a timer on that
// loop, so that setting a deadline is a store rather than a timer armed, cancelled and completed
// for each read and write. A deadline is honoured within one tick.
class DeadlineSweeper {
  public:
    DeadlineSweeper(net::io_context& loop, Clock::duration tick)
        : timer_(loop.get_executor()), tick_(tick) {}
    DeadlineSweeper(const DeadlineSweeper&) = delete;
    DeadlineSweeper& operator=(const DeadlineSweeper&) = delete;

    // Starts ticking; the loop's stop ends it. Call once, before the loop runs.
    void Start() { Arm(); }
    // Watches a connection until it is gone. Only on the loop.
    void Add(std::weak_ptr<SessionBase> session) { sessions_.push_back(std::move(session)); }

  private:
    void Arm() {
        timer_.expires_after(tick_);
        timer_.async_wait([this](beast::error_code ec) {
            if (ec) return;
            Sweep();
            Arm();
        });
    }

    void Sweep() {
        const Clock::time_point now = Clock::now();
        for (std::size_t i = 0; i < sessions_.size();) {
            if (std::shared_ptr<SessionBase> session = sessions_[i].lock()) {
                session->ExpireIfLate(now);
                ++i;
            } else {
                sessions_[i] = std::move(sessions_.back());
                sessions_.pop_back();
            }
        }
    }

    net::basic_waitable_timer<Clock, net::wait_traits<Clock>, LoopExecutor> timer_;
    Clock::duration tick_;
    std::vector<std::weak_ptr<SessionBase>> sessions_;
};

// Tasks handed to one event loop from other threads (the answers of durable writes, which the
// storage delivers in bursts: one per unit of a committed batch), run on the loop in the order
// given. A burst costs the loop one handler and at most one wake-up: only the first task of a
// burst posts the handler that runs them, the others join it under a lock. Posting each answer
// alone interrupted the loop's epoll_wait from the storage's thread (an epoll_ctl, and on a
// small machine often a context switch) for every purchase.
class LoopMailbox {
  public:
    explicit LoopMailbox(net::io_context& loop) : loop_(loop) {}
    LoopMailbox(const LoopMailbox&) = delete;
    LoopMailbox& operator=(const LoopMailbox&) = delete;

    // Runs `task` on the loop, after the tasks posted before it. Thread-safe.
    void Post(Task task) {
        {
            std::lock_guard lock(mutex_);
            waiting_.push_back(std::move(task));
            if (drain_posted_) return;
            drain_posted_ = true;
        }
        net::post(loop_.get_executor(), [this] { Drain(); });
    }

  private:
    // On the loop. Tasks posted while these run (from here too) get a handler of their own.
    void Drain() {
        {
            std::lock_guard lock(mutex_);
            running_.swap(waiting_);
            drain_posted_ = false;
        }
        for (Task& task : running_) task();
        running_.clear();
    }

    net::io_context& loop_;
    std::mutex mutex_;
    std::vector<Task> waiting_;  // guarded by mutex_
    bool drain_posted_ = false;  // guarded by mutex_: a Drain is queued on the loop
    std::vector<Task> running_;  // only on the loop; kept to reuse its capacity
};

// The live sessions, so Stop can ask each to finish and wait for them.
class SessionRegistry {
  public:
    uint64_t Add(std::weak_ptr<SessionBase> session) {
        std::lock_guard lock(mutex_);
        uint64_t id = next_id_++;
        sessions_.emplace(id, std::move(session));
        return id;
    }
    void Remove(uint64_t id) {
        std::lock_guard lock(mutex_);
        sessions_.erase(id);
        shed_.erase(id);
        if (sessions_.empty()) drained_.notify_all();
    }
    std::size_t Size() {
        std::lock_guard lock(mutex_);
        return sessions_.size();
    }
    // Asks the oldest connection that waits for a request to close (Shutdown), to make room for
    // a new one; false when every connection is busy with a request.
    bool ShedOldestIdle() {
        std::shared_ptr<SessionBase> victim;
        {
            std::lock_guard lock(mutex_);
            for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
                if (shed_.contains(it->first)) continue;
                auto session = it->second.lock();
                if (session && session->IsIdle()) {
                    shed_.insert(it->first);
                    victim = std::move(session);
                    break;
                }
            }
        }
        if (!victim) return false;
        victim->Shutdown();
        return true;
    }
    std::vector<std::shared_ptr<SessionBase>> Live() {
        std::vector<std::shared_ptr<SessionBase>> live;
        std::lock_guard lock(mutex_);
        for (auto& [id, weak] : sessions_) {
            if (auto session = weak.lock()) live.push_back(std::move(session));
        }
        return live;
    }
    bool WaitUntilEmpty(std::chrono::steady_clock::duration timeout) {
        std::unique_lock lock(mutex_);
        return drained_.wait_for(lock, timeout, [this] { return sessions_.empty(); });
    }

  private:
    std::mutex mutex_;
    std::condition_variable drained_;
    std::map<uint64_t, std::weak_ptr<SessionBase>> sessions_;  // oldest first
    std::set<uint64_t> shed_;  // asked to close by ShedOldestIdle, not gone yet
    uint64_t next_id_ = 1;
};

// One connection, plain TCP or TLS.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  public:
    static constexpr bool kTls = std::is_same_v<Stream, SslStream>;

    template <class... StreamArgs>
    Session(Shared& shared, SessionRegistry& registry, DeadlineSweeper& sweeper,
            LoopMailbox& mailbox, std::string remote, StreamArgs&&... args)
        : stream_(std::forward<StreamArgs>(args)...),
          shared_(shared),
          registry_(registry),
          sweeper_(sweeper),
          mailbox_(mailbox),
          remote_(std::move(remote)) {}

    ~Session() override {
        if (registry_id_ != 0) registry_.Remove(registry_id_);
    }

    void Run() {
        registry_id_ = registry_.Add(this->weak_from_this());
        net::dispatch(stream_.get_executor(),
                      beast::bind_front_handler(&Session::Begin, this->shared_from_this()));
    }

    void Shutdown() override {
        net::post(stream_.get_executor(), [self = this->shared_from_this()] {
            if (self->waiting_for_request_.load(std::memory_order_relaxed)) self->CloseNow();
        });
    }

    bool IsIdle() const override { return waiting_for_request_.load(std::memory_order_relaxed); }

    void ExpireIfLate(Clock::time_point now) override {
        if (now < deadline_) return;
        deadline_ = Clock::time_point::max();
        beast::error_code ignored;
        Tcp().close(ignored);
    }

  private:
    TcpStream& Tcp() { return beast::get_lowest_layer(stream_); }

    // Closing the socket is what ends an operation that takes too long (ExpireIfLate).
    void SetDeadline(Clock::duration timeout) { deadline_ = Clock::now() + timeout; }
    void ClearDeadline() { deadline_ = Clock::time_point::max(); }

    void Begin() {
        sweeper_.Add(this->weak_from_this());
        if constexpr (kTls) {
            waiting_for_request_.store(true, std::memory_order_relaxed);
            SetDeadline(kHandshakeTimeout);
            stream_.async_handshake(
                ssl::stream_base::server,
                beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
        } else {
            ReadHeader(shared_.options.read_timeout);
        }
    }

    void OnHandshake(beast::error_code ec) {
        if (ec) return CloseNow();
        if constexpr (kTls) {
            if (!shared_.options.node_ca_file.empty()) node_store_ = VerifiedNodeStore();
        }
        ReadHeader(shared_.options.read_timeout);
    }

    // The store a client certificate names (its CN) once the node CA verified it; empty when
    // the client sent none.
    std::string VerifiedNodeStore() {
        SSL* ssl = stream_.native_handle();
        X509* cert = SSL_get1_peer_certificate(ssl);
        if (cert == nullptr) return {};
        std::string store;
        if (SSL_get_verify_result(ssl) == X509_V_OK) {
            char name[256] = {};
            int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name,
                                              sizeof name);
            if (n > 0) store.assign(name, static_cast<std::size_t>(n));
        }
        X509_free(cert);
        return store;
    }

    void ReadHeader(std::chrono::steady_clock::duration timeout) {
        if (shared_.stopping.load()) return CloseGracefully();
        waiting_for_request_.store(true, std::memory_order_relaxed);
        parser_.emplace();
        parser_->body_limit(shared_.options.body_limit);
        SetDeadline(timeout);
        wire::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&Session::OnHeader, this->shared_from_this()));
    }

    void OnHeader(beast::error_code ec, std::size_t) {
        if (ec) return OnReadError(ec);
        waiting_for_request_.store(false, std::memory_order_relaxed);
        if (parser_->is_done()) return OnRequest();
        // A client that asks before sending a body is told to go ahead; a too large body was
        // refused above from its Content-Length already.
        if (beast::iequals(parser_->get()[wire::field::expect], "100-continue")) {
            continue_.emplace(wire::status::continue_, parser_->get().version());
            SetDeadline(kWriteTimeout);
            return wire::async_write(
                stream_, *continue_,
                beast::bind_front_handler(&Session::OnContinueWritten, this->shared_from_this()));
        }
        ReadBody();
    }

    void OnContinueWritten(beast::error_code ec, std::size_t) {
        if (ec) return CloseNow();
        ReadBody();
    }

    void ReadBody() {
        SetDeadline(shared_.options.read_timeout);
        wire::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&Session::OnBody, this->shared_from_this()));
    }

    void OnBody(beast::error_code ec, std::size_t) {
        if (ec) return OnReadError(ec);
        OnRequest();
    }

    void OnReadError(beast::error_code ec) {
        if (ec == wire::error::end_of_stream || ec == net::error::operation_aborted ||
            ec == beast::error::timeout || ec == wire::error::partial_message ||
            ec.category() != wire::make_error_code(wire::error::bad_target).category()) {
            // The peer went away, went quiet or we are stopping: nothing to answer.
            return CloseNow();
        }
        // The request itself is wrong; answer once and close, since the rest of the stream
        // cannot be trusted to start a new request.
        auto received_at = std::chrono::steady_clock::now();
        shared_.api.RequestStarted();
        core::Error error;
        if (ec == wire::error::body_limit) {
            error = core::MakeError(core::ErrorCode::kPayloadTooLarge,
                                    "the request body is larger than the limit of " +
                                        std::to_string(shared_.options.body_limit) + " bytes",
                                    "body");
            linger_ = true;
        } else if (ec == wire::error::header_limit) {
            error = core::MakeError(core::ErrorCode::kInvalidArgument,
                                    "the request headers are too large");
        } else {
            error = core::MakeError(core::ErrorCode::kInvalidArgument,
                                    "malformed HTTP request: " + ec.message());
        }
        waiting_for_request_.store(false, std::memory_order_relaxed);
        version_ = 11;
        keep_alive_ = false;
        head_only_ = false;
        Write(shared_.api.Reject(error, received_at));
    }

    void OnRequest() {
        waiting_for_request_.store(false, std::memory_order_relaxed);
        ClearDeadline();
        wire::request<wire::string_body> message = parser_->release();
        version_ = message.version();
        keep_alive_ = message.keep_alive();

        HttpRequest request;
        request.method = std::string(ToStd(message.method_string()));
        SplitTarget(ToStd(message.target()), request);
        request.authorization = std::string(ToStd(message[wire::field::authorization]));
        request.content_type = std::string(ToStd(message[wire::field::content_type]));
        request.staff = std::string(ToStd(message["Kizuna-Staff"]));
        request.body = std::move(message.body());
        request.remote_address = remote_;
        request.node_store = node_store_;
        request.received_at = std::chrono::steady_clock::now();
        head_only_ = message.method() == wire::verb::head;
        shared_.api.RequestStarted();

        RequestHandler::Routed routed = shared_.api.RouteRequest(request);
        switch (routed.mode) {
            case RequestHandler::Mode::kInline:
                return Write(shared_.api.Handle(request, routed.match));
            case RequestHandler::Mode::kAsync: {
                // Completions come from other threads (the storage's writer): they finish on
                // this connection's loop, and the answer is written there.
                auto executor = stream_.get_executor();
                return shared_.api.HandleAsync(
                    request, routed.match,
                    [self = this->shared_from_this(), executor](HttpResponse response) mutable {
                        net::dispatch(executor, [self = std::move(self),
                                                 response = std::move(response)]() mutable {
                            self->Write(std::move(response));
                        });
                    },
                    [&mailbox = mailbox_](Task task) { mailbox.Post(std::move(task)); });
            }
            case RequestHandler::Mode::kTryInline:
                // Answered here when that needs no waiting, else by a worker below.
                if (auto answer = shared_.api.TryHandle(request, routed.match)) {
                    return Write(std::move(*answer));
                }
                break;
            case RequestHandler::Mode::kWorker:
                break;
        }
        net::post(shared_.workers, [self = this->shared_from_this(), request = std::move(request),
                                    match = std::move(routed.match)]() mutable {
            HttpResponse response = self->shared_.api.Handle(request, match);
            auto executor = self->stream_.get_executor();
            net::post(executor, [self = std::move(self), response = std::move(response)]() mutable {
                self->Write(std::move(response));
            });
        });
    }

    void Write(HttpResponse response) {
        bool keep_alive = keep_alive_ && !shared_.stopping.load();
        response_body_ = std::move(response.body);
        if (!HasPayload(response.status)) response_body_.clear();
        FormatHead(response, keep_alive);
        if (head_only_) response_body_.clear();  // Content-Length stays the GET answer's
        // The head and the body go out in one sendmsg; the head is written here rather than
        // by Beast's serializer, whose header fields (one allocation each) and nested buffer
        // sequences cost about 3 µs of an I/O thread per answer (GET /healthz, A/B runs).
        const std::array<net::const_buffer, 2> buffers{net::buffer(head_),
                                                       net::buffer(response_body_)};
        SetDeadline(kWriteTimeout);
        net::async_write(
            stream_, buffers,
            beast::bind_front_handler(&Session::OnWrite, this->shared_from_this(), !keep_alive));
    }

    // 1xx, 204 and 304 answers carry no body and no Content-Length (RFC 9110 8.6).
    static bool HasPayload(int status) { return status >= 200 && status != 204 && status != 304; }

    // The status line and header block of `response` into head_ (its capacity is kept from one
    // answer to the next): Server, Content-Type, the response's own headers, the Connection header
    // the keep-alive decision needs for the request's HTTP version, and Content-Length.
    void FormatHead(const HttpResponse& response, bool keep_alive) {
        head_.clear();
        // The version as the request gave it (the parser accepts one digit each side).
        head_ += "HTTP/";
        head_ += static_cast<char>('0' + version_ / 10 % 10);
        head_ += '.';
        head_ += static_cast<char>('0' + version_ % 10);
        head_ += ' ';
        AppendDecimal(head_, response.status);
        head_ += ' ';
        head_ += ToStd(wire::obsolete_reason(static_cast<wire::status>(response.status)));
        head_ += "\r\nServer: ";
        head_ += kServerName;
        head_ += "\r\nContent-Type: ";
        head_ += response.content_type;
        head_ += "\r\n";
        for (const auto& [name, value] : response.headers) {
            head_ += name;
            head_ += ": ";
            head_ += value;
            head_ += "\r\n";
        }
        // HTTP/1.1 keeps a connection open unless told otherwise; HTTP/1.0 closes it unless
        // told otherwise.
        if (version_ >= 11 && !keep_alive) head_ += "Connection: close\r\n";
        if (version_ < 11 && keep_alive) head_ += "Connection: keep-alive\r\n";
        if (HasPayload(response.status)) {
            head_ += "Content-Length: ";
            AppendDecimal(head_, response_body_.size());
            head_ += "\r\n";
        }
        head_ += "\r\n";
    }

    void OnWrite(bool close, beast::error_code ec, std::size_t) {
        std::string().swap(response_body_);  // an idle connection holds no answer's memory
        if (ec) return CloseNow();
        if (close) return CloseGracefully();
        ReadHeader(shared_.options.idle_timeout);
    }

    void CloseGracefully() {
        if constexpr (kTls) {
            // close_notify both ways, but a peer that never answers it is not waited for long.
            SetDeadline(kLingerTimeout);
            stream_.async_shutdown(
                [self = this->shared_from_this()](beast::error_code) { self->CloseNow(); });
        } else {
            beast::error_code ignored;
            Tcp().shutdown(tcp::socket::shutdown_send, ignored);
            if (linger_) return Linger();
            CloseNow();
        }
    }

    // After refusing a body we did not read, closing at once would make the kernel reset the
    // connection, and the client could lose our answer before reading it. So the rest of what
    // it sends is read and dropped, for a short while, before closing.
    void Linger() {
        linger_buffer_.resize(16 * 1024);
        SetDeadline(kLingerTimeout);
        DrainSome();
    }

    void DrainSome() {
        Tcp().async_read_some(
            net::buffer(linger_buffer_),
            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                self->lingered_ += n;
                if (ec || self->lingered_ > kLingerBytes) return self->CloseNow();
                self->DrainSome();
            });
    }

    void CloseNow() {
        waiting_for_request_.store(false, std::memory_order_relaxed);
        ClearDeadline();
        beast::error_code ignored;
        Tcp().shutdown(tcp::socket::shutdown_both, ignored);
        Tcp().close(ignored);
    }

    Stream stream_;
    Shared& shared_;
    SessionRegistry& registry_;
    DeadlineSweeper& sweeper_;
    LoopMailbox& mailbox_;  // the answers of durable writes, for this connection's loop
    std::string remote_;
    std::optional<std::string> node_store_;                  // see HttpRequest::node_store
    Clock::time_point deadline_ = Clock::time_point::max();  // see SetDeadline
    uint64_t registry_id_ = 0;

    beast::flat_buffer buffer_;
    std::optional<wire::request_parser<wire::string_body>> parser_;
    std::optional<wire::response<wire::empty_body>> continue_;
    std::string head_;           // the answer being written: its status line and headers,
    std::string response_body_;  // and its body
    unsigned version_ = 11;
    bool keep_alive_ = true;
    // Written on the loop only; read elsewhere by IsIdle (a hint for shedding).
    std::atomic<bool> waiting_for_request_{false};
    bool head_only_ = false;  // answering a HEAD request: the head of the GET answer, no body
    bool linger_ = false;
    std::vector<char> linger_buffer_;
    std::size_t lingered_ = 0;
};

// "host:port", "[v6]:port". Errors: kInvalidArgument.
core::Result<std::pair<std::string, uint16_t>> SplitListen(const std::string& listen) {
    auto bad = [&] {
        return core::MakeError(
            core::ErrorCode::kInvalidArgument,
            "listen address must be host:port, e.g. 127.0.0.1:8080, not \"" + listen + "\"",
            "listen");
    };
    std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0) return bad();
    std::string host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    std::string port_text = listen.substr(colon + 1);
    if (port_text.empty() || port_text.size() > 5 ||
        port_text.find_first_not_of("0123456789") != std::string::npos) {
        return bad();
    }
    int port = std::stoi(port_text);
    if (port > 65535) return bad();
    return std::make_pair(host, static_cast<uint16_t>(port));
}

// How long the acceptor waits after failing for want of descriptors or memory.
constexpr auto kAcceptBackoff = 100ms;
// The accept failures (and refusals) logged at most this often; the rest are counted.
constexpr auto kAcceptLogInterval = 10s;

bool IsOutOfResources(const beast::error_code& ec) {
    return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
           ec == net::error::no_memory || ec == boost::system::errc::too_many_files_open_in_system;
}

// A warning that may repeat thousands of times a second: logged at once, then at most once per
// kAcceptLogInterval with the number of times it happened in between (also when things go well
// again). Only on one strand.
class RateLimitedLog {
  public:
    void Note(const std::string& message) {
        const Clock::time_point now = Clock::now();
        if (logged_once_ && now - last_logged_ < kAcceptLogInterval) {
            ++suppressed_;
            return;
        }
        if (suppressed_ > 0) {
            spdlog::warn(
                "{} (and {} more such events in the last {} s)", message, suppressed_,
                std::chrono::duration_cast<std::chrono::seconds>(now - last_logged_).count());
        } else {
            spdlog::warn("{}", message);
        }
        logged_once_ = true;
        last_logged_ = now;
        suppressed_ = 0;
    }
    // Things went well again: the count of events not logged yet, if the interval allows.
    void Recovered() {
        if (suppressed_ == 0) return;
        const Clock::time_point now = Clock::now();
        if (now - last_logged_ < kAcceptLogInterval) return;
        spdlog::warn("{} more such events in the last {} s; accepting again", suppressed_,
                     std::chrono::duration_cast<std::chrono::seconds>(now - last_logged_).count());
        last_logged_ = now;
        suppressed_ = 0;
    }

  private:
    bool logged_once_ = false;
    Clock::time_point last_logged_{};
    uint64_t suppressed_ = 0;
};

// Raises the soft limit on open files to the hard limit (a server wants every descriptor it
// may have) and returns the soft limit then in force.
std::size_t RaiseFileLimit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        // An unlimited hard limit is not a value the kernel takes for open files.
        raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            spdlog::info("raised the open-file limit from {} to {}", limit.rlim_cur,
                         raised.rlim_cur);
            limit = raised;
        }
    }
    return limit.rlim_cur == RLIM_INFINITY ? std::size_t{1} << 20
                                           : static_cast<std::size_t>(limit.rlim_cur);
}

// Connections kept below the open-file limit, leaving descriptors for the storage (the
// database, its log and shared memory per connection), the log, the event loops and files.
std::size_t ConnectionCap(std::size_t file_limit) {
    const std::size_t reserve = 64 + file_limit / 16;
    return file_limit > reserve + 16 ? file_limit - reserve : 16;
}

}  // namespace

class HubServer::Impl {
  public:
    Impl(std::unique_ptr<Api> api, RequestHandler& handler, ServerOptions options)
        : shared_(std::move(api), handler, std::move(options)) {}

    ~Impl() { Stop(); }

    core::Status Start() {
        std::lock_guard lock(control_mutex_);
        if (running_ || stopped_) {
            return core::MakeError(core::ErrorCode::kInvalidArgument,
                                   "a server starts once; make a new one to serve again");
        }
        const ServerOptions& options = shared_.options;
        if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
            return core::MakeError(core::ErrorCode::kInvalidArgument,
                                   "TLS needs both a certificate and a key file", "tls");
        }
        if (!options.node_ca_file.empty() && options.tls_cert_file.empty()) {
            return core::MakeError(core::ErrorCode::kInvalidArgument,
                                   "node certificates need TLS: give --tls-cert and --tls-key",
                                   "node_ca_file");
        }
        KZ_ASSIGN_OR_RETURN(auto host_port, SplitListen(options.listen));
        host_ = host_port.first;

        tcp::endpoint endpoint;
        {
            beast::error_code ec;
            tcp::resolver resolver(ioc_);
            auto results = resolver.resolve(host_, std::to_string(host_port.second),
                                            tcp::resolver::passive, ec);
            if (ec || results.empty()) {
                return core::MakeError(
                    core::ErrorCode::kInvalidArgument,
                    "cannot resolve listen host \"" + host_ + "\": " + ec.message(), "listen");
            }
            endpoint = results.begin()->endpoint();
        }

        if (!options.tls_cert_file.empty()) {
            ssl_.emplace(ssl::context::tls_server);
            beast::error_code ec;
            ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                  ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                              ec);
            ssl_->use_certificate_chain_file(options.tls_cert_file, ec);
            if (ec) {
                ssl_.reset();
                return core::MakeError(
                    core::ErrorCode::kInvalidArgument,
                    "cannot use TLS certificate " + options.tls_cert_file + ": " + ec.message(),
                    "tls_cert_file");
            }
            ssl_->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
            if (ec) {
                ssl_.reset();
                return core::MakeError(
                    core::ErrorCode::kInvalidArgument,
                    "cannot use TLS key " + options.tls_key_file + ": " + ec.message(),
                    "tls_key_file");
            }
            if (!options.node_ca_file.empty()) {
                ssl_->load_verify_file(options.node_ca_file, ec);
                if (ec) {
                    ssl_.reset();
                    return core::MakeError(
                        core::ErrorCode::kInvalidArgument,
                        "cannot use the node CA " + options.node_ca_file + ": " + ec.message(),
                        "node_ca_file");
                }
                // Asked for, not required: members and the portal connect without one.
                ssl_->set_verify_mode(ssl::verify_peer);
                static constexpr unsigned char kSessionContext[] = "kizuna-hub";
                SSL_CTX_set_session_id_context(ssl_->native_handle(), kSessionContext,
                                               sizeof kSessionContext - 1);
            }
        }

        beast::error_code ec;
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec) acceptor_.bind(endpoint, ec);
        if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
        if (ec) {
            beast::error_code ignored;
            acceptor_.close(ignored);
            auto code = ec == net::error::address_in_use ? core::ErrorCode::kUnavailable
                                                         : core::ErrorCode::kInvalidArgument;
            return core::MakeError(code, "cannot listen on " + options.listen + ": " + ec.message(),
                                   "listen");
        }
        port_ = acceptor_.local_endpoint().port();
        max_connections_ =
            options.max_connections > 0 ? options.max_connections : ConnectionCap(RaiseFileLimit());
        spdlog::info("hub keeps at most {} connections open", max_connections_);

        running_ = true;
        // One event loop per I/O thread, each run by its one thread: connections are spread
        // over them and never share a scheduler, so no lock is contended and no thread is woken
        // for another's work. The accepting loop is the first one.
        const int threads = std::max(1, options.io_threads);
        loops_.push_back(&ioc_);
        for (int i = 1; i < threads; ++i) {
            extra_loops_.push_back(std::make_unique<net::io_context>(1));
            loops_.push_back(extra_loops_.back().get());
        }
        for (net::io_context* loop : loops_) work_.emplace_back(loop->get_executor());
        // Deadlines are checked ten times per shortest timeout, at most every half second.
        const Clock::duration tick = std::clamp<Clock::duration>(
            std::min(options.read_timeout, options.idle_timeout) / 10, 10ms, 500ms);
        for (net::io_context* loop : loops_) {
            sweepers_.push_back(std::make_unique<DeadlineSweeper>(*loop, tick));
            sweepers_.back()->Start();
            mailboxes_.push_back(std::make_unique<LoopMailbox>(*loop));
        }
        Accept();
        for (net::io_context* loop : loops_) {
            io_threads_.emplace_back([loop] {
                pthread_setname_np(pthread_self(), "kz-io");
                loop->run();
            });
        }
        spdlog::info("listening on {}", BaseUrl());
        return core::Status::Ok();
    }

    void Stop() {
        std::unique_lock lock(control_mutex_);
        if (!running_) return;
        running_ = false;
        shared_.stopping = true;
        net::post(acceptor_.get_executor(), [this] {
            beast::error_code ignored;
            acceptor_.close(ignored);
        });
        for (auto& session : registry_.Live()) session->Shutdown();
        if (!registry_.WaitUntilEmpty(kStopGrace)) {
            // A durable write in flight is always answered by the storage (it drains its queue
            // and never drops a unit): wait for those answers, however slow the disk, since the
            // answers are delivered on this server's threads.
            if (shared_.api.AsyncInFlight() > 0) {
                spdlog::warn("waiting for {} write(s) in flight to be answered",
                             shared_.api.AsyncInFlight());
                while (shared_.api.AsyncInFlight() > 0) std::this_thread::sleep_for(10ms);
            }
            if (!registry_.WaitUntilEmpty(kStopGrace)) {
                spdlog::warn("stopping with requests still in flight after {} s",
                             std::chrono::seconds(2 * kStopGrace).count());
                shared_.workers.stop();
            }
        }
        shared_.workers.join();
        work_.clear();
        for (net::io_context* loop : loops_) loop->stop();
        for (std::thread& t : io_threads_) t.join();
        io_threads_.clear();
        stopped_ = true;
        stopped_cv_.notify_all();
        spdlog::info("hub stopped");
    }

    void Wait() {
        std::unique_lock lock(control_mutex_);
        stopped_cv_.wait(lock, [this] { return stopped_ || !running_; });
    }

    uint16_t port() const { return port_; }

    std::string BaseUrl() const {
        std::string host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
        return std::string(ssl_ ? "https" : "http") + "://" + host + ":" + std::to_string(port_);
    }

  private:
    void Accept() {
        // Each new connection goes to the next event loop in turn.
        const std::size_t index = next_loop_++ % loops_.size();
        acceptor_.async_accept(
            loops_[index]->get_executor(), [this, index](beast::error_code ec, TcpStream socket) {
                OnAccept(ec, *sweepers_[index], *mailboxes_[index], std::move(socket));
            });
    }

    void OnAccept(beast::error_code ec, DeadlineSweeper& sweeper, LoopMailbox& mailbox,
                  TcpStream socket) {
        if (ec == net::error::operation_aborted || shared_.stopping.load()) return;
        if (ec) {
            accept_errors_.Note(fmt::format("accept failed: {}", ec.message()));
            // A client that reset before we accepted, say: that one connection's problem.
            if (!IsOutOfResources(ec)) return Accept();
            // Out of file descriptors (or kernel memory): accepting again at once would fail
            // again at once, in a loop that starves the connections we have and floods the log.
            // Make room by closing an idle connection, and wait a little before trying again.
            registry_.ShedOldestIdle();
            accept_timer_.expires_after(kAcceptBackoff);
            accept_timer_.async_wait([this](beast::error_code wait_ec) {
                if (wait_ec || shared_.stopping.load()) return;
                Accept();
            });
            return;
        }
        beast::error_code ignored;
        if (registry_.Size() >= max_connections_ && !registry_.ShedOldestIdle()) {
            // At the cap and every connection busy with a request: refuse this one rather than
            // run out of descriptors.
            accept_errors_.Note(fmt::format(
                "refused a connection: {} connections open, the most this hub keeps at once",
                max_connections_));
            socket.close(ignored);
            return Accept();
        }
        accept_errors_.Recovered();
        socket.set_option(tcp::no_delay(true), ignored);
        auto peer = socket.remote_endpoint(ignored);
        std::string remote = ignored ? std::string() : peer.address().to_string();
        if (ssl_) {
            std::make_shared<Session<SslStream>>(shared_, registry_, sweeper, mailbox,
                                                 std::move(remote), std::move(socket), *ssl_)
                ->Run();
        } else {
            std::make_shared<Session<TcpStream>>(shared_, registry_, sweeper, mailbox,
                                                 std::move(remote), std::move(socket))
                ->Run();
        }
        Accept();
    }

    // Declaration order is destruction order reversed: the io_context goes first, destroying
    // any session still queued in it, while what sessions refer to (shared_, registry_, ssl_)
    // is still alive.
    Shared shared_;
    SessionRegistry registry_;
    std::optional<ssl::context> ssl_;
    std::string host_;
    uint16_t port_ = 0;

    std::mutex control_mutex_;
    std::condition_variable stopped_cv_;
    bool running_ = false;
    bool stopped_ = false;

    net::io_context ioc_{1};  // the first event loop; it also accepts
    std::vector<std::unique_ptr<net::io_context>> extra_loops_;
    std::vector<net::io_context*> loops_;  // ioc_ and the extra ones
    std::size_t next_loop_ = 0;            // used by the accepting loop only
    // One per loop, in the same order; declared after the loops so that they go first.
    std::vector<std::unique_ptr<DeadlineSweeper>> sweepers_;
    // One per loop, in the same order; gone before the loops, like the sweepers: tasks still in
    // a mailbox at the end hold sessions, whose sockets must close before their loop goes.
    std::vector<std::unique_ptr<LoopMailbox>> mailboxes_;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> work_;
    tcp::acceptor acceptor_{net::make_strand(ioc_)};
    // On the acceptor's strand: the wait after an accept that failed for want of descriptors.
    net::steady_timer accept_timer_{acceptor_.get_executor()};
    RateLimitedLog accept_errors_;
    std::size_t max_connections_ = 0;  // set by Start
    std::vector<std::thread> io_threads_;
};

HubServer::HubServer(hub::Hub& hub, ServerOptions options) {
    auto api = std::make_unique<Api>(hub);
    RequestHandler& handler = *api;
    impl_ = std::make_unique<Impl>(std::move(api), handler, std::move(options));
}

HubServer::HubServer(RequestHandler& handler, ServerOptions options)
    : impl_(std::make_unique<Impl>(nullptr, handler, std::move(options))) {}

HubServer::~HubServer() = default;

core::Status HubServer::Start() { return impl_->Start(); }
uint16_t HubServer::port() const { return impl_->port(); }
std::string HubServer::BaseUrl() const { return impl_->BaseUrl(); }
void HubServer::Stop() { impl_->Stop(); }
void HubServer::Wait() { impl_->Wait(); }

}  // namespace kizuna::http
