#pragma once
// Where the client commands find the hub and their credentials. Precedence, highest first:
// a command-line flag, an environment variable, the config (or session) file, the default.
// The store terminal's file is $XDG_CONFIG_HOME/kizuna/pos.json (or ~/.config/kizuna/pos.json),
// written by `kizuna pos configure`; the member's session is .../kizuna/member.json, written by
// `kizuna member login`. Both hold secrets and are written with mode 0600.
// Thread-safety: plain functions over values; the environment is read through EnvLookup.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "core/result.hpp"

namespace kizuna::cli {

inline constexpr const char* kDefaultHubUrl = "http://127.0.0.1:8080";
inline constexpr const char* kEnvHub = "KIZUNA_HUB";
inline constexpr const char* kEnvApiKey = "KIZUNA_API_KEY";
inline constexpr const char* kEnvStoreId = "KIZUNA_STORE_ID";
inline constexpr const char* kEnvToken = "KIZUNA_TOKEN";
inline constexpr const char* kEnvCaCert = "KIZUNA_CACERT";

// Looks up an environment variable; an unset or empty variable is nullopt.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
EnvLookup ProcessEnvironment();

// $XDG_CONFIG_HOME/kizuna, else $HOME/.config/kizuna. Errors: kInvalidArgument if neither
// variable is set (then pass --config / --session explicitly).
core::Result<std::filesystem::path> ConfigDirectory(const EnvLookup& env);

// The store terminal's saved connection (pos.json).
struct PosConfig {
    std::string hub_url;
    std::string api_key;
    std::string store_id;
    std::string ca_cert;
};
// Errors: kNotFound (no file), kInvalidArgument (not the expected JSON), kUnavailable (I/O).
core::Result<PosConfig> LoadPosConfig(const std::filesystem::path& path);
core::Status SavePosConfig(const std::filesystem::path& path, const PosConfig& config);

// A member's saved session (member.json), from `kizuna member login`.
struct MemberSession {
    std::string hub_url;
    std::string token;
    std::string member_id;
    std::string expires_at;  // RFC 3339, as the hub said
    std::string ca_cert;
};
core::Result<MemberSession> LoadMemberSession(const std::filesystem::path& path);
core::Status SaveMemberSession(const std::filesystem::path& path, const MemberSession& session);

// One resolved setting and where it came from ("--hub", "KIZUNA_HUB", a file path, "default"),
// so errors can tell the user which source to fix.
struct Setting {
    std::string value;
    std::string source;
    bool empty() const { return value.empty(); }
};

// Flag, then environment variable `env_name` (may be null), then the file's value, then
// `fallback`. Empty values count as absent at every level.
Setting ResolveSetting(const std::string& flag_value, const char* flag_name, const EnvLookup& env,
                       const char* env_name, const std::string& file_value,
                       const std::string& file_source, const std::string& fallback);

// The store terminal's connection, resolved from all sources.
struct PosConnectionFlags {
    std::string hub, api_key, store_id, ca_cert, config_path;
};
struct PosConnection {
    Setting hub;
    Setting api_key;
    Setting store_id;
    Setting ca_cert;
    std::filesystem::path config_path;  // the file consulted (it may not exist)
};
// Errors: kInvalidArgument if the config file exists but cannot be parsed, or no config
// directory can be found and none was given; kUnavailable for I/O errors.
core::Result<PosConnection> ResolvePosConnection(const PosConnectionFlags& flags,
                                                 const EnvLookup& env);

}  // namespace kizuna::cli
