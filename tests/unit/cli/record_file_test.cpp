#include "cli/record_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace kizuna::cli {
namespace {

namespace fs = std::filesystem;

class RecordFile : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "kizuna-record-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::size_t EntriesIn(const fs::path& dir) {
        return static_cast<std::size_t>(
            std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
    }
    static std::string ReadFd(int fd) {
        std::string text(4096, '\0');
        const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
        text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return text;
    }
    fs::path dir_;
};

TEST_F(RecordFile, WritesTheContentOwnerOnly) {
    const fs::path file = dir_ / "usage.json";
    ASSERT_TRUE(WriteFileAtomically(file, "{\"balances\":[]}\n").ok());
    auto text = ReadWholeFile(file);
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(*text, "{\"balances\":[]}\n");
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(EntriesIn(dir_), 1u) << "no temporary file may remain";
}

TEST_F(RecordFile, ReplacesTheOldFileWholeNeverInPlace) {
    const fs::path file = dir_ / "customer.json";
    ASSERT_TRUE(WriteFileAtomically(file, "old content").ok());
    // A reader that opened the old file keeps seeing all of it: the new content went to a new
    // inode that was renamed over the name, not written into the old one.
    const int reader = ::open(file.c_str(), O_RDONLY);
    ASSERT_GE(reader, 0);
    const std::string big(100000, 'n');
    ASSERT_TRUE(WriteFileAtomically(file, big).ok());
    EXPECT_EQ(ReadFd(reader), "old content");
    ::close(reader);
    auto text = ReadWholeFile(file);
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(*text, big);
    EXPECT_EQ(EntriesIn(dir_), 1u);
}

TEST_F(RecordFile, AFailedWriteLeavesTheOldFileAndNoLitter) {
    const fs::path file = dir_ / "offers.json";
    ASSERT_TRUE(WriteFileAtomically(file, "first").ok());
    // A directory where the file should be: the rename fails after the temporary was written.
    const fs::path blocked = dir_ / "blocked";
    fs::create_directories(blocked / "inner");
    auto status = WriteFileAtomically(blocked, "second");
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, core::ErrorCode::kUnavailable);
    EXPECT_NE(status.error().message.find(blocked.string()), std::string::npos);
    EXPECT_EQ(EntriesIn(dir_), 2u) << "only offers.json and blocked/";
    auto text = ReadWholeFile(file);
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(*text, "first");
}

TEST_F(RecordFile, MissingDirectoryIsAnErrorUnlessAskedToCreateIt) {
    const fs::path file = dir_ / "a" / "b" / "c.json";
    auto status = WriteFileAtomically(file, "x");
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, core::ErrorCode::kUnavailable);
    ASSERT_TRUE(WriteFileAtomically(file, "x", WriteOptions{.create_parent_dirs = true}).ok());
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / "a").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(RecordFile, ReadingAMissingFileIsNotFound) {
    auto text = ReadWholeFile(dir_ / "absent");
    ASSERT_FALSE(text.has_value());
    EXPECT_EQ(text.error().code, core::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace kizuna::cli
