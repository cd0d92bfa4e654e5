#include "hub/hub.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>
#include <utility>

#include "core/card_record.hpp"
#include "crypto/crypto.hpp"
#include "hub/curl_webhook_sender.hpp"
#include "hub/dispatch_worker.hpp"
#include "hub/hub_context.hpp"
#include "hub/mail_delivery_worker.hpp"
#include "hub/private_file.hpp"
#include "hub/system_clock.hpp"
#include "hub/webhook_worker.hpp"

namespace kizuna::hub {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;
using core::MakeError;

constexpr std::string_view kOperatorTokenFile = "operator.token";
constexpr std::string_view kCardKeyFile = "card_signing.key";
constexpr std::string_view kCardKeyHeader = "kizuna-card-signing-key-v1";
constexpr std::string_view kOperatorTokenPrefix = "kzo_";
constexpr std::string_view kDispatchKeyFile = "dispatch.key";
// An operator may put a token of their own in operator.token (from a secret manager, say);
// below this length it is too easy to guess.
constexpr std::size_t kMinOperatorTokenLength = 32;

core::Error FileError(const fs::path& path, std::string_view what, int err) {
    return MakeError(ErrorCode::kUnavailable,
                     std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

core::Status EnsureDataDir(const fs::path& dir) {
    std::error_code ec;
    if (fs::exists(dir, ec)) {
        if (!fs::is_directory(dir, ec)) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "data directory " + dir.string() + " exists but is not a directory");
        }
        return core::Status::Ok();
    }
    if (!fs::create_directories(dir, ec) && ec) {
        return FileError(dir, "cannot create data directory", ec.value());
    }
    // Only the directory we created: an existing one keeps the mode its owner chose.
    if (::chmod(dir.c_str(), 0700) != 0) return FileError(dir, "cannot chmod", errno);
    return core::Status::Ok();
}

// The SQLite database in the data directory holds members' personal data: owner only. It is
// created here, empty (SQLite makes a database of an empty file), with mode 0600, since SQLite
// would create it 0644 under the usual umask; SQLite gives the log and shared-memory files it
// creates beside it the database file's mode. An existing file (and log) made wider by an
// earlier version is narrowed.
core::Status PrepareDatabaseFile(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return FileError(path, "cannot create", errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || ((st.st_mode & 0777) != 0600 && ::fchmod(fd, 0600) != 0)) {
        int err = errno;
        ::close(fd);
        return FileError(path, "cannot set the mode of", err);
    }
    ::close(fd);
    for (std::string_view suffix : {"-wal", "-shm"}) {
        fs::path beside = path;
        beside += suffix;
        if (::chmod(beside.c_str(), 0600) != 0 && errno != ENOENT) {
            return FileError(beside, "cannot set the mode of", errno);
        }
    }
    return core::Status::Ok();
}

core::Result<std::string> ReadSmallFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return FileError(path, "cannot read", errno);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return FileError(path, "cannot read", errno);
    return text.str();
}

std::string StripTrailingNewlines(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
}

// Returns the digest of the operator token, creating the token file on first start.
core::Result<std::string> LoadOrCreateOperatorToken(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        std::string token = std::string(kOperatorTokenPrefix) + crypto::NewSecretToken();
        auto created = WritePrivateFile(path, token + "\n");
        if (created.ok()) return crypto::Digest(token);
        // Another hub on this directory created it first: use theirs.
        if (created.error().code != ErrorCode::kAlreadyExists) return created.error();
    }
    KZ_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
    std::string token = StripTrailingNewlines(std::move(text));
    bool printable = !token.empty();
    for (unsigned char c : token) {
        if (c <= 0x20 || c >= 0x7f) printable = false;
    }
    if (!printable || token.size() < kMinOperatorTokenLength) {
        return MakeError(ErrorCode::kInvalidArgument,
                         path.string() + " is malformed: expected one line of at least " +
                             std::to_string(kMinOperatorTokenLength) +
                             " printable characters; delete it to generate a new token");
    }
    return crypto::Digest(token);
}

core::Result<crypto::SigningKeyPair> LoadOrCreateCardKey(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        crypto::SigningKeyPair pair = crypto::NewSigningKeyPair();
        std::string text =
            std::string(kCardKeyHeader) + "\n" + core::Base64UrlEncode(pair.secret_key) + "\n";
        auto created = WritePrivateFile(path, text);
        if (created.ok()) return pair;
        if (created.error().code != ErrorCode::kAlreadyExists) return created.error();
    }
    auto malformed = [&](std::string_view why) {
        return MakeError(ErrorCode::kInvalidArgument,
                         path.string() + " is malformed (" + std::string(why) +
                             "); restore it from a backup: cards already issued were signed "
                             "with it");
    };
    KZ_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
    std::istringstream lines(text);
    std::string header, encoded, rest;
    std::getline(lines, header);
    std::getline(lines, encoded);
    std::getline(lines, rest);
    if (StripTrailingNewlines(header) != kCardKeyHeader) return malformed("unknown header");
    if (!StripTrailingNewlines(rest).empty()) return malformed("unexpected extra lines");
    auto secret = core::Base64UrlDecode(StripTrailingNewlines(encoded));
    if (!secret || secret->size() != 64) return malformed("expected a 64-byte Ed25519 key");
    crypto::SigningKeyPair pair{secret->substr(32), *secret};
    // An Ed25519 secret key carries its public half; a damaged one fails this round trip.
    constexpr std::string_view kProbe = "kizuna card key self-test";
    if (!crypto::VerifySignature(kProbe, crypto::Sign(kProbe, pair.secret_key), pair.public_key)) {
        return malformed("the key pair does not verify");
    }
    return pair;
}

// The HMAC key of offer dispatch's unsubscribe links (64 hex digits), made on first start. Kept
// across restarts: links already mailed must keep working.
core::Result<std::string> LoadOrCreateDispatchKey(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        std::string key = crypto::NewHexSecret();
        auto created = WritePrivateFile(path, key + "\n");
        if (created.ok()) return key;
        if (created.error().code != ErrorCode::kAlreadyExists) return created.error();
    }
    KZ_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
    std::string key = StripTrailingNewlines(std::move(text));
    if (key.size() != 64 || key.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument,
                         path.string() +
                             " is malformed (expected 64 hex digits); restore it "
                             "from a backup: unsubscribe links already mailed use it");
    }
    return key;
}

}  // namespace

// Of two hubs starting on one directory at once only one creates a secret: the other gets
// kAlreadyExists and reads the winner's.
core::Status WritePrivateFile(const fs::path& path, std::string_view content) {
    fs::path tmp = path;
    tmp += ".tmp." + std::to_string(::getpid()) + "." + crypto::NewSecretToken(6);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return FileError(tmp, "cannot create", errno);
    // Exactly 0600 whatever the umask (which could only have narrowed it).
    if (::fchmod(fd, 0600) != 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return FileError(tmp, "cannot chmod", err);
    }
    std::size_t written = 0;
    while (written < content.size()) {
        ssize_t n = ::write(fd, content.data() + written, content.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return FileError(tmp, "cannot write", err);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return FileError(tmp, "cannot sync", err);
    }
    ::close(fd);
    if (::link(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        if (err == EPERM || err == EOPNOTSUPP || err == ENOSYS) {
            // A file system without hard links: rename, which cannot refuse to replace.
            if (::rename(tmp.c_str(), path.c_str()) == 0) err = 0;
        }
        ::unlink(tmp.c_str());
        if (err == EEXIST) {
            return MakeError(ErrorCode::kAlreadyExists, path.string() + " already exists");
        }
        if (err != 0) return FileError(path, "cannot move into place", err);
    } else {
        ::unlink(tmp.c_str());
    }
    int dir_fd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
    return core::Status::Ok();
}

core::Result<std::unique_ptr<Hub>> Hub::Open(HubOptions options) {
    if (options.data_dir.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "a data directory is required", "data_dir");
    }
    if (options.session_ttl_seconds <= 0) {
        return MakeError(ErrorCode::kInvalidArgument, "the session lifetime must be positive",
                         "session_ttl_seconds");
    }
    static std::once_flag crypto_once;
    std::call_once(crypto_once, [] { crypto::InitCrypto(); });

    KZ_RETURN_IF_ERROR(EnsureDataDir(options.data_dir));

    std::unique_ptr<Hub> hub(new Hub());
    std::string url = options.storage_url;
    if (url.empty()) {
        const fs::path database = options.data_dir / "kizuna.db";
        KZ_RETURN_IF_ERROR(PrepareDatabaseFile(database));
        url = "sqlite://" + database.string();
    }
    KZ_ASSIGN_OR_RETURN(hub->storage_, storage::OpenStorage(url, options.storage_options));

    hub->operator_token_path_ = options.data_dir / kOperatorTokenFile;
    KZ_ASSIGN_OR_RETURN(std::string operator_digest,
                        LoadOrCreateOperatorToken(hub->operator_token_path_));
    KZ_ASSIGN_OR_RETURN(crypto::SigningKeyPair card_key,
                        LoadOrCreateCardKey(options.data_dir / kCardKeyFile));

    const core::Clock* clock = options.clock;
    if (clock == nullptr) {
        hub->owned_clock_ = std::make_unique<SystemClock>();
        clock = hub->owned_clock_.get();
    }
    core::Random* random = options.random;
    if (random == nullptr) {
        hub->owned_random_ = std::make_unique<crypto::SystemRandom>();
        random = hub->owned_random_.get();
    }

    hub->context_ = std::make_unique<HubContext>(
        *hub->storage_, *clock, *random, std::move(operator_digest), std::move(card_key.public_key),
        std::move(card_key.secret_key));
    hub->auth_ = std::make_unique<AuthService>(*hub->context_, options.session_ttl_seconds);
    hub->admin_ = std::make_unique<AdminService>(*hub->context_);
    hub->mail_ = std::make_unique<MailSpool>(options.data_dir / "mail-outbox");
    hub->members_ = std::make_unique<MemberService>(*hub->context_, *hub->auth_, *hub->mail_,
                                                    options.public_url);
    hub->points_ = std::make_unique<PointsService>(*hub->context_);
    hub->redemption_limits_ = std::make_unique<RedemptionLimitService>(*hub->context_);
    hub->campaigns_ = std::make_unique<CampaignService>(*hub->context_);
    hub->tiers_ = std::make_unique<TierService>(*hub->context_);
    hub->merges_ = std::make_unique<MergeService>(*hub->context_, *hub->auth_);
    hub->rules_ = std::make_unique<RuleService>(*hub->context_);
    hub->offers_ = std::make_unique<OfferService>(*hub->context_);
    hub->terminals_ = std::make_unique<TerminalService>(*hub->context_, *hub->auth_);
    hub->reservations_ = std::make_unique<ReservationService>(*hub->context_);
    hub->webhooks_ = std::make_unique<WebhookService>(*hub->context_, options.webhooks.retry);
    hub->settlements_ = std::make_unique<SettlementService>(*hub->context_);
    hub->sync_ = std::make_unique<SyncService>(*hub->context_, *hub->auth_, *hub->points_,
                                               *hub->reservations_);
    KZ_ASSIGN_OR_RETURN(std::string dispatch_key,
                        LoadOrCreateDispatchKey(options.data_dir / kDispatchKeyFile));
    hub->dispatches_ = std::make_unique<DispatchService>(*hub->context_, options.dispatch,
                                                         std::move(dispatch_key));
    if (options.webhooks.deliver) {
        hub->webhook_sender_ = std::make_unique<CurlWebhookSender>();
        hub->webhook_worker_ = std::make_unique<WebhookWorker>(
            *hub->webhooks_, *hub->webhook_sender_, options.webhooks.poll_interval);
    }
    if (options.mail.deliver) {
        KZ_ASSIGN_OR_RETURN(std::unique_ptr<mail::SmtpSender> sender,
                            mail::SmtpSender::Create(options.mail.smtp, *clock, *random));
        hub->mail_worker_ = std::make_unique<MailDeliveryWorker>(hub->mail_->directory(),
                                                                 std::move(sender), options.mail);
    }
    if (options.dispatch.run_worker) {
        std::unique_ptr<mail::MailSender> sender;
        if (options.dispatch.make_sender) {
            sender = options.dispatch.make_sender();
        } else if (!options.dispatch.smtp.url.empty()) {
            KZ_ASSIGN_OR_RETURN(sender,
                                mail::SmtpSender::Create(options.dispatch.smtp, *clock, *random));
        }
        hub->dispatch_worker_ =
            std::make_unique<DispatchWorker>(*hub->context_, *hub->dispatches_, std::move(sender));
        hub->dispatches_->SetWakeUp([worker = hub->dispatch_worker_.get()] { worker->WakeUp(); });
    }
    return hub;
}

Hub::~Hub() = default;

const std::string& Hub::card_public_key() const { return context_->card_public_key(); }

}  // namespace kizuna::hub
