#include "seed_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kizuna::bench {

bool SeedFile::Load(const std::string& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = "cannot open seed file " + path + ": " + std::strerror(errno);
        return false;
    }
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string kind, a, b;
        fields >> kind >> a >> b;
        const auto bad = [&](const char* what) {
            error = path + ":" + std::to_string(number) + ": " + what;
            return false;
        };
        if (kind == "operator") {
            if (a.empty()) return bad("operator line without a token");
            operator_token = a;
        } else if (kind == "store") {
            if (b.empty()) return bad("store line needs <store_id> <api_key>");
            stores.push_back({a, b});
        } else if (kind == "member") {
            if (a.empty()) return bad("member line needs <member_id> [<card_number>]");
            members.push_back({a, b});
        } else if (kind == "session") {
            if (b.empty()) return bad("session line needs <member_id> <token>");
            sessions.push_back({a, b});
        } else {
            return bad("unknown line kind (expected operator, store, member or session)");
        }
    }
    return true;
}

bool SeedFile::Save(const std::string& path, std::string& error) const {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (!out) {
            error = "cannot write " + tmp + ": " + std::strerror(errno);
            return false;
        }
        ::chmod(tmp.c_str(), 0600);
        out << "# kizuna bench seed v1\n";
        if (!operator_token.empty()) out << "operator " << operator_token << '\n';
        for (const auto& s : stores) out << "store " << s.store_id << ' ' << s.api_key << '\n';
        for (const auto& m : members)
            out << "member " << m.member_id << ' ' << m.card_number << '\n';
        for (const auto& s : sessions) out << "session " << s.member_id << ' ' << s.token << '\n';
        out.flush();
        if (!out) {
            error = "write to " + tmp + " failed: " + std::strerror(errno);
            return false;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace kizuna::bench
