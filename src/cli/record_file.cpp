#include "cli/record_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kizuna::cli {
namespace {

core::Error SystemError(const std::string& what, const std::filesystem::path& path, int err) {
    return core::MakeError(core::ErrorCode::kUnavailable,
                           "cannot " + what + " " + path.string() + ": " + std::strerror(err));
}

core::Status CreateDirectories(const std::filesystem::path& dir) {
    if (dir.empty()) return core::Status::Ok();
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) return core::Status::Ok();
    KZ_RETURN_IF_ERROR(CreateDirectories(dir.parent_path()));
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return SystemError("create directory", dir, errno);
    }
    return core::Status::Ok();
}

}  // namespace

core::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content,
                                 WriteOptions options) {
    std::filesystem::path dir = path.parent_path();
    if (options.create_parent_dirs) KZ_RETURN_IF_ERROR(CreateDirectories(dir));
    if (dir.empty()) dir = ".";
    std::string temp = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) return SystemError("write in directory", dir, errno);

    auto fail = [&](const std::string& what, int err) {
        ::close(fd);
        ::unlink(temp.c_str());
        return core::Status(SystemError(what, path, err));
    };
    if (::fchmod(fd, options.mode) != 0) return fail("set the mode of", errno);
    std::size_t written = 0;
    while (written < content.size()) {
        const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail("write", errno);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) return fail("flush", errno);
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        return SystemError("write", path, err);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        return SystemError("replace", path, err);
    }
    // The rename is durable only once the directory entry is on disk.
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
    return core::Status::Ok();
}

core::Result<std::string> ReadWholeFile(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return core::MakeError(core::ErrorCode::kNotFound, path.string() + " does not exist");
        }
        return SystemError("read", path, errno);
    }
    std::string content;
    char buffer[65536];
    while (true) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            return SystemError("read", path, err);
        }
        if (n == 0) break;
        content.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return content;
}

}  // namespace kizuna::cli
