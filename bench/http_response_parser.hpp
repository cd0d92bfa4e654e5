#pragma once
// An incremental HTTP/1.1 response parser for the load generator: just enough of RFC 9112 to
// find where each response ends on a keep-alive connection (Content-Length or chunked body) and
// its status code. The body is skipped, not kept: the load generator only counts answers.
// Thread-safety: none; one per connection.

#include <cstddef>
#include <string>
#include <string_view>

namespace kizuna::bench {

class HttpResponseParser {
  public:
    enum class State { kNeedMore, kComplete, kError };

    // Consumes bytes from the front of `data`. Returns kComplete once a whole response has
    // been seen (then `consumed` says how many bytes of `data` belonged to it; the rest is the
    // start of the next response), kNeedMore when it needs more bytes (all of `data` was
    // consumed and remembered), kError on a malformed response.
    State Feed(std::string_view data, std::size_t& consumed);
    // Ready for the next response on the same connection.
    void Reset();

    int status() const { return status_; }
    // The start (up to 1 KiB) of the body of a response whose status is not 2xx, for error
    // reports; empty for 2xx responses, whose bodies are skipped.
    const std::string& error_body() const { return error_body_; }
    // The server asked to close the connection after this response.
    bool close() const { return close_; }

  private:
    enum class Phase { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailer };

    bool ParseHead();
    bool ParseChunkSizeLine();
    void KeepErrorBody(std::string_view bytes);

    Phase phase_ = Phase::kHead;
    std::string line_;  // partial header block or chunk-size line carried across Feed calls
    int status_ = 0;
    bool close_ = false;
    bool chunked_ = false;
    std::size_t remaining_ = 0;  // body or chunk bytes still to skip
    std::string error_body_;
};

}  // namespace kizuna::bench
