#pragma once
// Result<T>: a value or an Error. Status: success or an Error. The member names follow
// std::expected (has_value, value, error, operator*, operator->) so the type can be swapped
// for std::expected once the toolchain enables it under C++20.
// Thread-safety: plain values; as safe as the T they hold.

#include <cassert>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/error_code.hpp"

namespace kizuna::core {

// What went wrong, for a machine (code), for a person (message) and, for bad input, which field.
struct Error {
    ErrorCode code = ErrorCode::kInternal;
    std::string message;
    std::string field;  // the offending request field, when the error is about one; else empty
    // kTooManyRequests: how long until a retry may succeed; zero when unknown.
    std::chrono::seconds retry_after{0};

    friend bool operator==(const Error&, const Error&) = default;
};

inline Error MakeError(ErrorCode code, std::string message, std::string field = {}) {
    return Error{code, std::move(message), std::move(field)};
}

// kInvalidArgument about one request field; the message is the field name followed by `what`,
// e.g. InvalidField("profile.phone", "must have 7 to 15 digits").
inline Error InvalidField(std::string_view field, std::string_view what) {
    std::string name(field);
    std::string message = name + " " + std::string(what);
    return Error{ErrorCode::kInvalidArgument, std::move(message), std::move(name)};
}

// Tag type so `return Unexpected(err)` reads like std::unexpected.
struct Unexpected {
    Error error;
    explicit Unexpected(Error e) : error(std::move(e)) {}
};

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}         // NOLINT: implicit
    Result(Error error) : data_(std::in_place_index<1>, std::move(error)) {}     // NOLINT
    Result(Unexpected u) : data_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT

    bool has_value() const { return data_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & {
        assert(has_value());
        return std::get<0>(data_);
    }
    const T& value() const& {
        assert(has_value());
        return std::get<0>(data_);
    }
    T&& value() && {
        assert(has_value());
        return std::get<0>(std::move(data_));
    }
    const Error& error() const {
        assert(!has_value());
        return std::get<1>(data_);
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

  private:
    std::variant<T, Error> data_;
};

// Success or an Error, when there is no value to return.
class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(Error error) : error_(std::move(error)), ok_(false) {}     // NOLINT: implicit
    Status(Unexpected u) : error_(std::move(u.error)), ok_(false) {}  // NOLINT: implicit
    static Status Ok() { return Status(); }

    bool ok() const { return ok_; }
    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const {
        assert(!ok_);
        return error_;
    }

  private:
    Error error_;
    bool ok_ = true;
};

}  // namespace kizuna::core

// Propagates an error from an expression returning Status or Result<T>.
#define KZ_RETURN_IF_ERROR(expr)                                                            \
    do {                                                                                    \
        auto&& kz_status_ = (expr);                                                         \
        if (!kz_status_.has_value()) return ::kizuna::core::Unexpected(kz_status_.error()); \
    } while (0)

#define KZ_CONCAT_INNER(a, b) a##b
#define KZ_CONCAT(a, b) KZ_CONCAT_INNER(a, b)
// `KZ_ASSIGN_OR_RETURN(auto x, Compute());` declares x from a Result or returns its error.
#define KZ_ASSIGN_OR_RETURN(decl, expr) \
    KZ_ASSIGN_OR_RETURN_IMPL(KZ_CONCAT(kz_result_, __LINE__), decl, expr)
#define KZ_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr)                         \
    auto tmp = (expr);                                                    \
    if (!tmp.has_value()) return ::kizuna::core::Unexpected(tmp.error()); \
    decl = std::move(tmp).value()
