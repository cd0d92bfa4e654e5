#pragma once
// Writes the seed's record files (customer information, usage, service information) and the
// client's config and session files: all or nothing. The content goes to a temporary file in the
// same directory, is flushed to disk, then renamed over the target, so a reader (or a crash)
// sees either the old file or the complete new one, never a partial write.
// Thread-safe: each call uses its own temporary file.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace kizuna::cli {

struct WriteOptions {
    mode_t mode = 0600;               // personal data: owner only
    bool create_parent_dirs = false;  // created with mode 0700 when set
};

// Errors: kUnavailable with the path and the system's reason (missing directory, permission,
// disk full). On error the previous file, if any, is unchanged and no temporary file remains.
core::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content,
                                 WriteOptions options = {});

// Reads a whole file. Errors: kNotFound if it does not exist, kUnavailable otherwise.
core::Result<std::string> ReadWholeFile(const std::filesystem::path& path);

}  // namespace kizuna::cli
