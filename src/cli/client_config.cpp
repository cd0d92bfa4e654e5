#include "cli/client_config.hpp"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "cli/record_file.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

core::Result<json> LoadJsonObject(const std::filesystem::path& path) {
    KZ_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
    json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return core::MakeError(core::ErrorCode::kInvalidArgument,
                               path.string() + " is not a JSON object; fix or delete it");
    }
    return parsed;
}

std::string StringField(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

core::Status SaveJson(const std::filesystem::path& path, const json& object) {
    return WriteFileAtomically(path, object.dump(2) + "\n",
                               WriteOptions{.mode = 0600, .create_parent_dirs = true});
}

}  // namespace

EnvLookup ProcessEnvironment() {
    return [](const char* name) -> std::optional<std::string> {
        const char* value = std::getenv(name);
        if (value == nullptr || *value == '\0') return std::nullopt;
        return std::string(value);
    };
}

core::Result<std::filesystem::path> ConfigDirectory(const EnvLookup& env) {
    if (auto xdg = env("XDG_CONFIG_HOME")) return std::filesystem::path(*xdg) / "kizuna";
    if (auto home = env("HOME")) return std::filesystem::path(*home) / ".config" / "kizuna";
    return core::MakeError(core::ErrorCode::kInvalidArgument,
                           "neither XDG_CONFIG_HOME nor HOME is set; pass the file explicitly");
}

core::Result<PosConfig> LoadPosConfig(const std::filesystem::path& path) {
    KZ_ASSIGN_OR_RETURN(json object, LoadJsonObject(path));
    return PosConfig{StringField(object, "hub"), StringField(object, "api_key"),
                     StringField(object, "store_id"), StringField(object, "cacert")};
}

core::Status SavePosConfig(const std::filesystem::path& path, const PosConfig& config) {
    json object = {{"hub", config.hub_url}, {"api_key", config.api_key}};
    if (!config.store_id.empty()) object["store_id"] = config.store_id;
    if (!config.ca_cert.empty()) object["cacert"] = config.ca_cert;
    return SaveJson(path, object);
}

core::Result<MemberSession> LoadMemberSession(const std::filesystem::path& path) {
    KZ_ASSIGN_OR_RETURN(json object, LoadJsonObject(path));
    return MemberSession{StringField(object, "hub"), StringField(object, "token"),
                         StringField(object, "member_id"), StringField(object, "expires_at"),
                         StringField(object, "cacert")};
}

core::Status SaveMemberSession(const std::filesystem::path& path, const MemberSession& session) {
    json object = {{"hub", session.hub_url},
                   {"token", session.token},
                   {"member_id", session.member_id},
                   {"expires_at", session.expires_at}};
    if (!session.ca_cert.empty()) object["cacert"] = session.ca_cert;
    return SaveJson(path, object);
}

Setting ResolveSetting(const std::string& flag_value, const char* flag_name, const EnvLookup& env,
                       const char* env_name, const std::string& file_value,
                       const std::string& file_source, const std::string& fallback) {
    if (!flag_value.empty()) return {flag_value, flag_name};
    if (env_name != nullptr) {
        if (auto value = env(env_name)) return {*value, env_name};
    }
    if (!file_value.empty()) return {file_value, file_source};
    return {fallback, fallback.empty() ? "" : "default"};
}

core::Result<PosConnection> ResolvePosConnection(const PosConnectionFlags& flags,
                                                 const EnvLookup& env) {
    PosConnection connection;
    if (!flags.config_path.empty()) {
        connection.config_path = flags.config_path;
    } else {
        KZ_ASSIGN_OR_RETURN(auto dir, ConfigDirectory(env));
        connection.config_path = dir / "pos.json";
    }
    PosConfig file;
    auto loaded = LoadPosConfig(connection.config_path);
    if (loaded) {
        file = std::move(loaded).value();
    } else if (loaded.error().code != core::ErrorCode::kNotFound) {
        return loaded.error();
    } else if (!flags.config_path.empty()) {
        // A file named explicitly must exist; the default one is optional.
        return loaded.error();
    }
    const std::string source = connection.config_path.string();
    connection.hub =
        ResolveSetting(flags.hub, "--hub", env, kEnvHub, file.hub_url, source, kDefaultHubUrl);
    connection.api_key =
        ResolveSetting(flags.api_key, "--api-key", env, kEnvApiKey, file.api_key, source, "");
    connection.store_id =
        ResolveSetting(flags.store_id, "--store-id", env, kEnvStoreId, file.store_id, source, "");
    connection.ca_cert =
        ResolveSetting(flags.ca_cert, "--cacert", env, kEnvCaCert, file.ca_cert, source, "");
    return connection;
}

}  // namespace kizuna::cli
