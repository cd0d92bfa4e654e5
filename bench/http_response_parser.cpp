#include "http_response_parser.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace kizuna::bench {
namespace {

constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kMaxErrorBody = 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool ContainsTokenIgnoreCase(std::string_view value, std::string_view token) {
    for (std::size_t i = 0; i + token.size() <= value.size(); ++i) {
        if (EqualsIgnoreCase(value.substr(i, token.size()), token)) return true;
    }
    return false;
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

void HttpResponseParser::Reset() {
    phase_ = Phase::kHead;
    line_.clear();
    status_ = 0;
    close_ = false;
    chunked_ = false;
    remaining_ = 0;
    error_body_.clear();
}

// Parses the status line and the headers this parser cares about from the block in line_
// (without the final blank line).
bool HttpResponseParser::ParseHead() {
    std::string_view head(line_);
    const std::size_t eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    // "HTTP/1.1 201 Created"
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return false;
    const std::size_t sp = status_line.find(' ');
    if (sp == std::string_view::npos || sp + 4 > status_line.size()) return false;
    const auto code = status_line.substr(sp + 1, 3);
    if (std::from_chars(code.data(), code.data() + 3, status_).ec != std::errc{}) return false;
    if (status_line.substr(0, sp) == "HTTP/1.0") close_ = true;

    bool have_length = false;
    std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
        std::size_t end = head.find("\r\n", pos);
        if (end == std::string_view::npos) end = head.size();
        const std::string_view header = head.substr(pos, end - pos);
        pos = end + 2;
        const std::size_t colon = header.find(':');
        if (colon == std::string_view::npos) return false;
        const std::string_view name = header.substr(0, colon);
        const std::string_view value = Trim(header.substr(colon + 1));
        if (EqualsIgnoreCase(name, "content-length")) {
            if (std::from_chars(value.data(), value.data() + value.size(), remaining_).ec !=
                std::errc{}) {
                return false;
            }
            have_length = true;
        } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
            chunked_ = ContainsTokenIgnoreCase(value, "chunked");
        } else if (EqualsIgnoreCase(name, "connection")) {
            if (ContainsTokenIgnoreCase(value, "close")) close_ = true;
            if (ContainsTokenIgnoreCase(value, "keep-alive")) close_ = false;
        }
    }
    line_.clear();
    const bool no_body = (status_ >= 100 && status_ < 200) || status_ == 204 || status_ == 304;
    if (no_body) {
        remaining_ = 0;
        phase_ = Phase::kBody;
    } else if (chunked_) {
        phase_ = Phase::kChunkSize;
    } else if (have_length) {
        phase_ = Phase::kBody;
    } else {
        return false;  // a body delimited by closing the connection: not for a keep-alive bench
    }
    return true;
}

bool HttpResponseParser::ParseChunkSizeLine() {
    std::string_view size = line_;
    const std::size_t semi = size.find(';');  // chunk extensions are ignored
    size = Trim(size.substr(0, semi));
    if (size.empty()) return false;
    if (std::from_chars(size.data(), size.data() + size.size(), remaining_, 16).ec != std::errc{}) {
        return false;
    }
    line_.clear();
    phase_ = remaining_ == 0 ? Phase::kTrailer : Phase::kChunkData;
    return true;
}

void HttpResponseParser::KeepErrorBody(std::string_view bytes) {
    if (status_ >= 200 && status_ < 300) return;
    const std::size_t room = kMaxErrorBody - std::min(kMaxErrorBody, error_body_.size());
    error_body_.append(bytes.substr(0, room));
}

HttpResponseParser::State HttpResponseParser::Feed(std::string_view data, std::size_t& consumed) {
    std::size_t pos = 0;
    while (true) {
        switch (phase_) {
            case Phase::kHead: {
                // Look for the blank line that ends the head, also across Feed calls.
                const std::size_t old = line_.size();
                line_.append(data.substr(pos));
                const std::size_t from = old >= 3 ? old - 3 : 0;
                const std::size_t end = line_.find("\r\n\r\n", from);
                if (end == std::string::npos) {
                    if (line_.size() > kMaxHead) return State::kError;
                    consumed = data.size();
                    return State::kNeedMore;
                }
                pos += end + 4 - old;
                line_.resize(end);
                if (!ParseHead()) return State::kError;
                break;
            }
            case Phase::kBody: {
                const std::size_t take = std::min(remaining_, data.size() - pos);
                KeepErrorBody(data.substr(pos, take));
                pos += take;
                remaining_ -= take;
                if (remaining_ == 0) {
                    consumed = pos;
                    return State::kComplete;
                }
                consumed = data.size();
                return State::kNeedMore;
            }
            case Phase::kChunkSize:
            case Phase::kTrailer: {
                const std::size_t old = line_.size();
                line_.append(data.substr(pos));
                const std::size_t from = old >= 1 ? old - 1 : 0;
                const std::size_t end = line_.find("\r\n", from);
                if (end == std::string::npos) {
                    if (line_.size() > kMaxHead) return State::kError;
                    consumed = data.size();
                    return State::kNeedMore;
                }
                pos += end + 2 - old;
                line_.resize(end);
                if (phase_ == Phase::kChunkSize) {
                    if (!ParseChunkSizeLine()) return State::kError;
                } else if (line_.empty()) {
                    consumed = pos;
                    return State::kComplete;
                } else {
                    line_.clear();  // a trailer field: skipped
                }
                break;
            }
            case Phase::kChunkData: {
                const std::size_t take = std::min(remaining_, data.size() - pos);
                KeepErrorBody(data.substr(pos, take));
                pos += take;
                remaining_ -= take;
                if (remaining_ > 0) {
                    consumed = data.size();
                    return State::kNeedMore;
                }
                remaining_ = 2;  // the CRLF after the chunk's data
                phase_ = Phase::kChunkDataEnd;
                break;
            }
            case Phase::kChunkDataEnd: {
                const std::size_t take = std::min(remaining_, data.size() - pos);
                pos += take;
                remaining_ -= take;
                if (remaining_ > 0) {
                    consumed = data.size();
                    return State::kNeedMore;
                }
                phase_ = Phase::kChunkSize;
                break;
            }
        }
    }
}

}  // namespace kizuna::bench
