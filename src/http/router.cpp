#include "http/router.hpp"

#include <algorithm>
#include <stdexcept>

namespace kizuna::http {
namespace {

// Splits "/a/b/c" into {"a","b","c"}; false for a path not starting with '/' or with an empty
// segment ("//", a trailing '/'), which no route has.
bool SplitPath(std::string_view path, std::vector<std::string_view>& segments) {
    segments.clear();
    if (path.empty() || path.front() != '/') return false;
    if (path == "/") return true;
    std::size_t start = 1;
    while (true) {
        std::size_t slash = path.find('/', start);
        std::string_view segment = path.substr(start, slash - start);
        if (segment.empty()) return false;
        segments.push_back(segment);
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

}  // namespace

const std::string& RequestContext::Param(std::string_view name) const {
    static const std::string kEmpty;
    for (const auto& [key, value] : params) {
        if (key == name) return value;
    }
    return kEmpty;
}

Access Access::Roles(std::initializer_list<hub::Role> roles) {
    uint8_t mask = 0;
    for (hub::Role role : roles) mask |= Bit(role);
    return Access(true, mask);
}

std::vector<hub::Role> Access::roles() const {
    std::vector<hub::Role> result;
    for (hub::Role role :
         {hub::Role::kAnonymous, hub::Role::kOperator, hub::Role::kStore, hub::Role::kMember}) {
        if (Allows(role)) result.push_back(role);
    }
    return result;
}

void Router::Add(Route route) {
    std::vector<std::string_view> parts;
    if (!SplitPath(route.pattern, parts)) {
        throw std::invalid_argument("malformed route pattern: " + route.pattern);
    }
    Compiled compiled;
    for (std::string_view part : parts) {
        bool is_param = part.size() > 2 && part.front() == '{' && part.back() == '}';
        compiled.segments.emplace_back(is_param ? part.substr(1, part.size() - 2) : part);
        compiled.is_param.push_back(is_param);
        if (!is_param) ++compiled.literals;
    }
    for (const Route& existing : routes_) {
        if (existing.method == route.method && existing.pattern == route.pattern) {
            throw std::invalid_argument("duplicate route: " + route.method + " " + route.pattern);
        }
    }
    routes_.push_back(std::move(route));
    compiled_.push_back(std::move(compiled));
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
    RouteMatch result;
    std::vector<std::string_view> parts;
    parts.reserve(8);  // deeper than any route: one allocation
    if (!SplitPath(path, parts)) return result;
    std::string decoded;
    // A malformed escape can only be in a parameter (no literal segment has a '%'): the request
    // is wrong whatever route it meant.
    for (std::string_view part : parts) {
        if (!PercentDecode(part, false, decoded)) {
            result.kind = RouteMatch::Kind::kBadRequest;
            return result;
        }
    }
    // HEAD is GET without the body (RFC 9110 9.3.2); the server leaves the body out.
    const std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;

    auto matches = [&](const Compiled& compiled) {
        if (compiled.segments.size() != parts.size()) return false;
        for (std::size_t s = 0; s < parts.size(); ++s) {
            if (!compiled.is_param[s] && compiled.segments[s] != parts[s]) return false;
        }
        return true;
    };
    int best_literals = -1;
    bool other_methods = false;  // the path matches a route of another method
    for (std::size_t i = 0; i < routes_.size(); ++i) {
        const Compiled& compiled = compiled_[i];
        if (!matches(compiled)) continue;
        if (routes_[i].method != wanted) {
            other_methods = true;
            continue;
        }
        if (compiled.literals <= best_literals) continue;
        PathParams params;
        for (std::size_t s = 0; s < parts.size(); ++s) {
            if (!compiled.is_param[s]) continue;
            (void)PercentDecode(parts[s], false, decoded);  // checked above
            params.emplace_back(compiled.segments[s], decoded);
        }
        best_literals = compiled.literals;
        result.kind = RouteMatch::Kind::kFound;
        result.route_index = i;
        result.params = std::move(params);
    }
    if (result.kind == RouteMatch::Kind::kFound || !other_methods) return result;

    // 405: the methods the path accepts (found again here, since this is the rare case).
    std::vector<std::string_view> allowed;
    for (std::size_t i = 0; i < routes_.size(); ++i) {
        if (!matches(compiled_[i])) continue;
        allowed.push_back(routes_[i].method);
        if (routes_[i].method == "GET") allowed.push_back("HEAD");
    }
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    result.kind = RouteMatch::Kind::kMethodNotAllowed;
    for (std::string_view m : allowed) {
        if (!result.allow.empty()) result.allow += ", ";
        result.allow += m;
    }
    return result;
}

}  // namespace kizuna::http
