#include "cli/client_config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <map>

namespace kizuna::cli {
namespace {

namespace fs = std::filesystem;

EnvLookup FakeEnv(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const char* name) -> std::optional<std::string> {
        auto it = values.find(name);
        if (it == values.end() || it->second.empty()) return std::nullopt;
        return it->second;
    };
}

class TempDir : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "kizuna-cli-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }
    void WriteText(const fs::path& path, const std::string& text) {
        fs::create_directories(path.parent_path());
        std::ofstream(path) << text;
    }
    fs::path dir_;
};

TEST(ResolveSetting, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
    auto env = FakeEnv({{"KIZUNA_HUB", "http://env:1"}});
    auto s = ResolveSetting("http://flag:1", "--hub", env, kEnvHub, "http://file:1", "pos.json",
                            kDefaultHubUrl);
    EXPECT_EQ(s.value, "http://flag:1");
    EXPECT_EQ(s.source, "--hub");
    s = ResolveSetting("", "--hub", env, kEnvHub, "http://file:1", "pos.json", kDefaultHubUrl);
    EXPECT_EQ(s.value, "http://env:1");
    EXPECT_EQ(s.source, "KIZUNA_HUB");
    s = ResolveSetting("", "--hub", FakeEnv({}), kEnvHub, "http://file:1", "pos.json",
                       kDefaultHubUrl);
    EXPECT_EQ(s.value, "http://file:1");
    EXPECT_EQ(s.source, "pos.json");
    s = ResolveSetting("", "--hub", FakeEnv({}), kEnvHub, "", "pos.json", kDefaultHubUrl);
    EXPECT_EQ(s.value, kDefaultHubUrl);
    EXPECT_EQ(s.source, "default");
}

TEST(ResolveSetting, EmptyValuesCountAsAbsent) {
    auto s = ResolveSetting("", "--api-key", FakeEnv({{"KIZUNA_API_KEY", ""}}), kEnvApiKey, "",
                            "pos.json", "");
    EXPECT_TRUE(s.empty());
}

TEST_F(TempDir, ConfigDirectoryPrefersXdgThenHome) {
    auto d = ConfigDirectory(FakeEnv({{"XDG_CONFIG_HOME", "/x"}, {"HOME", "/h"}}));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, fs::path("/x/kizuna"));
    d = ConfigDirectory(FakeEnv({{"HOME", "/h"}}));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, fs::path("/h/.config/kizuna"));
    EXPECT_FALSE(ConfigDirectory(FakeEnv({})).has_value());
}

TEST_F(TempDir, PosConnectionTakesFlagThenEnvThenDefaultConfigFile) {
    const fs::path xdg = dir_ / "config";
    ASSERT_TRUE(SavePosConfig(xdg / "kizuna" / "pos.json",
                              PosConfig{"http://file:8080", "key-file", "st_file", ""})
                    .ok());
    auto env = FakeEnv({{"XDG_CONFIG_HOME", xdg.string()}});

    auto c = ResolvePosConnection({}, env);
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->hub.value, "http://file:8080");
    EXPECT_EQ(c->api_key.value, "key-file");
    EXPECT_EQ(c->store_id.value, "st_file");
    EXPECT_EQ(c->config_path, xdg / "kizuna" / "pos.json");

    auto env2 = FakeEnv({{"XDG_CONFIG_HOME", xdg.string()}, {"KIZUNA_API_KEY", "key-env"}});
    c = ResolvePosConnection({}, env2);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->api_key.value, "key-env");
    EXPECT_EQ(c->api_key.source, "KIZUNA_API_KEY");
    EXPECT_EQ(c->hub.value, "http://file:8080");

    PosConnectionFlags flags;
    flags.api_key = "key-flag";
    c = ResolvePosConnection(flags, env2);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->api_key.value, "key-flag");
    EXPECT_EQ(c->api_key.source, "--api-key");
}

TEST_F(TempDir, MissingDefaultConfigIsFineButAMissingNamedOneIsNot) {
    auto env = FakeEnv({{"HOME", dir_.string()}, {"KIZUNA_API_KEY", "k"}});
    auto c = ResolvePosConnection({}, env);
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->hub.value, kDefaultHubUrl);
    EXPECT_EQ(c->api_key.value, "k");

    PosConnectionFlags flags;
    flags.config_path = (dir_ / "nope.json").string();
    c = ResolvePosConnection(flags, env);
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, core::ErrorCode::kNotFound);
}

TEST_F(TempDir, ExplicitConfigFileIsUsedAndAMalformedOneIsAnError) {
    const fs::path file = dir_ / "store.json";
    WriteText(file, R"({"hub":"https://hub.example.jp","api_key":"abc","cacert":"/ca.pem"})");
    PosConnectionFlags flags;
    flags.config_path = file.string();
    auto c = ResolvePosConnection(flags, FakeEnv({}));
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->hub.value, "https://hub.example.jp");
    EXPECT_EQ(c->ca_cert.value, "/ca.pem");

    WriteText(file, "not json");
    c = ResolvePosConnection(flags, FakeEnv({}));
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(c.error().message.find(file.string()), std::string::npos);
}

TEST_F(TempDir, SavedConfigAndSessionAreOwnerOnlyAndRoundTrip) {
    const fs::path pos = dir_ / "a" / "b" / "pos.json";
    ASSERT_TRUE(SavePosConfig(pos, PosConfig{"http://h", "secret", "st_1", ""}).ok());
    struct stat st {};
    ASSERT_EQ(::stat(pos.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(pos.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    auto loaded = LoadPosConfig(pos);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_EQ(loaded->api_key, "secret");
    EXPECT_EQ(loaded->store_id, "st_1");

    const fs::path member = dir_ / "member.json";
    ASSERT_TRUE(SaveMemberSession(member, MemberSession{"http://h", "tok", "1234567890",
                                                        "2026-11-23T00:00:00Z", ""})
                    .ok());
    ASSERT_EQ(::stat(member.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto session = LoadMemberSession(member);
    ASSERT_TRUE(session.has_value());
    EXPECT_EQ(session->token, "tok");
    EXPECT_EQ(session->member_id, "1234567890");
}

}  // namespace
}  // namespace kizuna::cli
