#include "cli/card_support.hpp"

#include <filesystem>
#include <memory>
#include <optional>

#include "card/card_protocol.hpp"
#include "card/card_reader.hpp"
#include "cli/client_config.hpp"
#include "cli/output.hpp"
#include "cli/record_file.hpp"

namespace kizuna::cli {

using core::ErrorCode;
using core::MakeError;
using nlohmann::json;

namespace {

constexpr const char* kCardKeyCacheFile = "card-keys.json";

// The cache file, or nullopt when there is no config directory (then nothing is cached).
std::optional<std::filesystem::path> CardKeyCachePath() {
    auto dir = ConfigDirectory(ProcessEnvironment());
    if (!dir) return std::nullopt;
    return *dir / kCardKeyCacheFile;
}

// {"<hub url>": "<base64url public key>", …}; an unreadable cache counts as empty.
json LoadCardKeyCache(const std::filesystem::path& path) {
    auto text = ReadWholeFile(path);
    if (!text) return json::object();
    json cache = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    return cache.is_object() ? cache : json::object();
}

core::Result<card::CardVerifier> VerifierFromText(const std::string& key_text) {
    auto key = core::Base64UrlDecode(key_text);
    if (!key) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "the hub's card key is not base64url: " + key.error().message);
    }
    return card::CardVerifier::Create(std::move(*key));
}

core::Result<std::unique_ptr<card::CardReader>> OpenReader(const std::string& spec) {
    if (spec.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "no card reader: pass --card-reader pcsc, pcsc:NAME or file:PATH "
                         "(or set KIZUNA_CARD_READER)",
                         "--card-reader");
    }
    return card::OpenCardReader(spec);
}

}  // namespace

CLI::Option* AddCardReaderFlag(CLI::App* command, std::string& spec) {
    return command->add_option(
        "--card-reader", spec,
        "Card reader: pcsc, pcsc:NAME or file:PATH (env KIZUNA_CARD_READER)");
}

std::string CardReaderSpec(const std::string& flag_value, const std::string& fallback) {
    if (!flag_value.empty()) return flag_value;
    if (auto env = ProcessEnvironment()(kEnvCardReader)) return *env;
    return fallback;
}

core::Result<card::CardVerifier> CardVerifierFor(HubClient& client) {
    const std::string hub = client.base_url();
    const auto cache_path = CardKeyCachePath();
    json cache = cache_path ? LoadCardKeyCache(*cache_path) : json::object();
    if (cache.contains(hub) && cache[hub].is_string()) {
        auto cached = VerifierFromText(cache[hub].get<std::string>());
        if (cached) return cached;
    }
    const HubAnswer answer = client.Get("/v1/card-key");
    if (!answer.ok) {
        return MakeError(ErrorCode::kUnavailable,
                         "cannot check the card offline: no card key cached for " + hub +
                             " and fetching it failed (" + answer.failure.Describe() + ")");
    }
    if (JsonString(answer.body, "algorithm") != "Ed25519") {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "the hub's card key uses '" + JsonString(answer.body, "algorithm") + "', not Ed25519");
    }
    const std::string key_text = JsonString(answer.body, "public_key");
    KZ_ASSIGN_OR_RETURN(card::CardVerifier verifier, VerifierFromText(key_text));
    if (cache_path) {
        cache[hub] = key_text;
        // A cache that cannot be written only costs a fetch next time.
        (void)WriteFileAtomically(*cache_path, cache.dump(2) + "\n",
                                  WriteOptions{.mode = 0644, .create_parent_dirs = true});
    }
    return verifier;
}

core::Result<core::CardRecord> ReadVerifiedCard(const std::string& reader_spec, HubClient& client) {
    KZ_ASSIGN_OR_RETURN(auto reader, OpenReader(reader_spec));
    KZ_ASSIGN_OR_RETURN(const core::CardRecord record, card::CardProtocol(*reader).ReadCard());
    KZ_ASSIGN_OR_RETURN(const card::CardVerifier verifier, CardVerifierFor(client));
    return verifier.Verify(record);
}

core::Result<card::CardInput> CardFromInput(std::string_view text, std::string_view field,
                                            HubClient& client) {
    KZ_ASSIGN_OR_RETURN(card::CardInput input, card::ParseCardInput(text, field));
    if (input.record) {
        KZ_ASSIGN_OR_RETURN(const card::CardVerifier verifier, CardVerifierFor(client));
        KZ_RETURN_IF_ERROR(verifier.Verify(*input.record));
    }
    return input;
}

core::Status CheckBlankCard(const std::string& reader_spec) {
    KZ_ASSIGN_OR_RETURN(auto reader, OpenReader(reader_spec));
    return card::CardProtocol(*reader).CheckBlank();
}

core::Status WriteIssuedCard(const std::string& reader_spec, const json& card) {
    const std::string text = JsonString(card, "record");
    if (text.empty()) {
        return MakeError(ErrorCode::kUnavailable,
                         "the hub's answer carries no card record to write");
    }
    KZ_ASSIGN_OR_RETURN(const core::CardRecord record, core::CardRecordFromText(text));
    KZ_ASSIGN_OR_RETURN(auto reader, OpenReader(reader_spec));
    return card::CardProtocol(*reader).IssueCard(record);
}

int PrepareCardIssue(const std::string& reader, std::string& medium, bool json) {
    if (reader.empty()) return kExitOk;
    if (auto blank = CheckBlankCard(reader); !blank) return ReportCardError(blank.error(), json);
    if (medium.empty()) medium = "chip";
    return kExitOk;
}

int FinishCardIssue(const std::string& reader, const std::string& member_id, const json& card,
                    bool json) {
    if (reader.empty()) return kExitOk;
    auto written = WriteIssuedCard(reader, card);
    if (written) return kExitOk;
    core::Error error = written.error();
    error.message = "the hub issued card " + JsonString(card, "card_number") + " to member " +
                    member_id + ", but it was not written: " + error.message +
                    ". Put a blank card in and run `kizuna pos reissue " + member_id +
                    " --card-reader " + reader + "`";
    return ReportCardError(error, json);
}

int ReportCardError(const core::Error& error, bool json) {
    switch (error.code) {
        case ErrorCode::kUnavailable:
            return ReportError(error, kExitUnreachable, json);
        case ErrorCode::kInvalidArgument:
            return ReportError(error, kExitUsage, json);
        default:
            return ReportError(error, kExitRefused, json);
    }
}

}  // namespace kizuna::cli
