#pragma once
// The hand-over between bench/seed and bench/loadgen: who may call the hub (operator token,
// store API keys, member session tokens) and which members exist. A small line-oriented text
// file so a person can read it and a shell script can grep it:
//   # kizuna bench seed v1
//   operator <token>
//   store <store_id> <api_key>
//   member <member_id> <card_number>
//   session <member_id> <token>
// Thread-safety: plain value.

#include <string>
#include <vector>

namespace kizuna::bench {

struct SeedStore {
    std::string store_id;
    std::string api_key;
};

struct SeedMember {
    std::string member_id;
    std::string card_number;
};

struct SeedSession {
    std::string member_id;
    std::string token;
};

struct SeedFile {
    std::string operator_token;
    std::vector<SeedStore> stores;
    std::vector<SeedMember> members;
    std::vector<SeedSession> sessions;

    // Reads the file; on failure returns false and sets `error` to a sentence naming the
    // file and line.
    bool Load(const std::string& path, std::string& error);
    // Writes the file (mode 0600: it holds secrets), replacing any existing one.
    bool Save(const std::string& path, std::string& error) const;
};

}  // namespace kizuna::bench
