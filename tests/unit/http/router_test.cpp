#include "http/router.hpp"

#include <gtest/gtest.h>

namespace kizuna::http {
namespace {

HttpResponse Answer(int status) {
    HttpResponse response;
    response.status = status;
    return response;
}

Router MakeRouter() {
    Router router;
    auto any = Access::Roles({hub::Role::kAnonymous});
    router.Add({"POST", "/v1/members", any, [](const RequestContext&) { return Answer(1); }});
    router.Add(
        {"POST", "/v1/members/search", any, [](const RequestContext&) { return Answer(2); }});
    router.Add({"GET", "/v1/members/{id}", any, [](const RequestContext&) { return Answer(3); }});
    router.Add(
        {"POST", "/v1/members/{id}/cards", any, [](const RequestContext&) { return Answer(4); }});
    router.Add({"GET", "/healthz", Access::Public(),
                [](const RequestContext&) { return Answer(5); }, true});
    return router;
}

TEST(Router, MatchesLiteralAndParameterSegments) {
    Router router = MakeRouter();
    RouteMatch match = router.Match("POST", "/v1/members/0123456789/cards");
    ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
    EXPECT_EQ(router.route(match.route_index).pattern, "/v1/members/{id}/cards");
    ASSERT_EQ(match.params.size(), 1u);
    EXPECT_EQ(match.params[0], std::make_pair(std::string("id"), std::string("0123456789")));
}

TEST(Router, PrefersTheMostLiteralPattern) {
    Router router = MakeRouter();
    RouteMatch match = router.Match("POST", "/v1/members/search");
    ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
    EXPECT_EQ(router.route(match.route_index).pattern, "/v1/members/search");
    match = router.Match("GET", "/v1/members/search");
    ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
    EXPECT_EQ(router.route(match.route_index).pattern, "/v1/members/{id}");
}

TEST(Router, PercentDecodesParameters) {
    Router router = MakeRouter();
    RouteMatch match = router.Match("GET", "/v1/members/a%2Fb%20c");
    ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
    EXPECT_EQ(match.params[0].second, "a/b c");
}

// Issue 15 defect 8: GET /v1/stores/%zz/rule answered 405 (only PUT matched after the bad
// parameter was skipped).
TEST(Router, AMalformedEscapeIsABadRequestWhateverTheMethod) {
    Router router = MakeRouter();
    EXPECT_EQ(router.Match("GET", "/v1/members/%zz").kind, RouteMatch::Kind::kBadRequest);
    EXPECT_EQ(router.Match("PUT", "/v1/members/%zz/cards").kind, RouteMatch::Kind::kBadRequest);
    EXPECT_EQ(router.Match("GET", "/v1/members/%4").kind, RouteMatch::Kind::kBadRequest);
}

TEST(Router, HeadMatchesTheGetRoutes) {
    Router router = MakeRouter();
    RouteMatch match = router.Match("HEAD", "/healthz");
    ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
    EXPECT_EQ(router.route(match.route_index).method, "GET");
    match = router.Match("HEAD", "/v1/members/search");
    ASSERT_EQ(match.kind, RouteMatch::Kind::kFound);
    EXPECT_EQ(router.route(match.route_index).pattern, "/v1/members/{id}");
    EXPECT_EQ(router.Match("HEAD", "/v1/members/1/cards").kind,
              RouteMatch::Kind::kMethodNotAllowed);
}

TEST(Router, UnknownPathsAreNotFound) {
    Router router = MakeRouter();
    for (const char* path : {"", "/", "/v1", "/v1/members/", "//v1/members",
                             "/v1/members/1/cards/2", "v1/members", "/healthz/"}) {
        EXPECT_EQ(router.Match("GET", path).kind, RouteMatch::Kind::kNotFound) << path;
    }
}

TEST(Router, OtherMethodsAreListedInAllow) {
    Router router = MakeRouter();
    RouteMatch match = router.Match("DELETE", "/v1/members/search");
    ASSERT_EQ(match.kind, RouteMatch::Kind::kMethodNotAllowed);
    EXPECT_EQ(match.allow, "GET, HEAD, POST");
    match = router.Match("PUT", "/healthz");
    EXPECT_EQ(match.allow, "GET, HEAD");
}

TEST(Router, RefusesMalformedAndDuplicatePatterns) {
    Router router = MakeRouter();
    auto any = Access::Public();
    auto handler = [](const RequestContext&) { return Answer(0); };
    EXPECT_THROW(router.Add({"GET", "/healthz", any, handler}), std::invalid_argument);
    EXPECT_THROW(router.Add({"GET", "no-slash", any, handler}), std::invalid_argument);
    EXPECT_THROW(router.Add({"GET", "/a//b", any, handler}), std::invalid_argument);
}

TEST(Access, RolesAndPublic) {
    Access store_only = Access::Roles({hub::Role::kStore});
    EXPECT_TRUE(store_only.authenticates());
    EXPECT_TRUE(store_only.Allows(hub::Role::kStore));
    EXPECT_FALSE(store_only.Allows(hub::Role::kAnonymous));
    EXPECT_FALSE(store_only.Allows(hub::Role::kMember));
    EXPECT_FALSE(Access::Public().authenticates());
}

TEST(SplitTarget, SeparatesPathAndDecodesQuery) {
    HttpRequest request;
    SplitTarget("/v1/members/1/usage?limit=10&q=a%20b+c&flag&=x", request);
    EXPECT_EQ(request.path, "/v1/members/1/usage");
    EXPECT_EQ(request.query.at("limit"), "10");
    EXPECT_EQ(request.query.at("q"), "a b c");
    EXPECT_EQ(request.query.at("flag"), "");
    SplitTarget("/healthz", request);
    EXPECT_EQ(request.path, "/healthz");
    EXPECT_TRUE(request.query.empty());
}

TEST(PercentDecode, RejectsTruncatedEscapes) {
    std::string out;
    EXPECT_TRUE(PercentDecode("%E5%B1%B1", false, out));
    EXPECT_EQ(out, "山");
    EXPECT_FALSE(PercentDecode("%E", false, out));
    EXPECT_FALSE(PercentDecode("abc%", false, out));
    EXPECT_FALSE(PercentDecode("%G0", false, out));
    EXPECT_TRUE(PercentDecode("a+b", false, out));
    EXPECT_EQ(out, "a+b");
}

}  // namespace
}  // namespace kizuna::http
