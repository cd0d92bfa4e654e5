#pragma once
// Files the hub writes in its data directory hold secrets or personal data: owner only.

#include <filesystem>
#include <string_view>

#include "core/result.hpp"

namespace kizuna::hub {

// Creates `path` holding `content` with mode 0600: a temporary file in the same directory,
// fsync, link into place, fsync of the directory. Readers see no file or the whole file, and of
// two writers creating it at once only one succeeds: the other gets kAlreadyExists.
// Errors: kAlreadyExists, kUnavailable (the file system).
core::Status WritePrivateFile(const std::filesystem::path& path, std::string_view content);

}  // namespace kizuna::hub
