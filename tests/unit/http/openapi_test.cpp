// The OpenAPI document against what the server does (issue 15, defect 9): who may call each
// operation (security, 401 and 403 follow the router, and every documented 403 is answered), and
// the limits it states are the server's.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/limits.hpp"
#include "http/api.hpp"
#include "http/openapi.hpp"
#include "test_hub.hpp"

namespace kizuna::http::testing {
namespace {

using nlohmann::json;

json Document() { return json::parse(OpenApiDocument()); }

std::string Lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), ::tolower);
    return text;
}

const json& Schema(const json& doc, const std::string& name) {
    return doc["components"]["schemas"][name];
}

// A caller of each authenticated role, by its token.
struct RoleToken {
    hub::Role role;
    std::string token;
};

TEST(OpenApi, SecurityAnd401And403FollowTheRouterAndEveryDocumented403IsAnswered) {
    TestHub& t = TestHub::Get();
    const json doc = Document();
    const std::vector<RoleToken> tokens = {{hub::Role::kOperator, t.operator_token},
                                           {hub::Role::kStore, t.store.api_key},
                                           {hub::Role::kMember, t.member_token}};
    Api api(t.hub());
    for (const Route& route : api.router().routes()) {
        const std::string name = route.method + " " + route.pattern;
        const json& op = doc["paths"][route.pattern][Lower(route.method)];
        const json& responses = op["responses"];
        const json& security = op.contains("security") ? op["security"] : doc["security"];
        const bool anonymous_documented =
            security.empty() ||
            std::any_of(security.begin(), security.end(), [](const json& s) { return s.empty(); });
        if (!route.access.authenticates()) {
            EXPECT_TRUE(security.empty()) << name << ": public, so no security";
            continue;
        }
        EXPECT_EQ(anonymous_documented, route.access.Allows(hub::Role::kAnonymous))
            << name << ": the document must allow a missing token exactly when the server does";
        EXPECT_TRUE(responses.contains("401")) << name << ": a bad token is always 401";
        // The path as a caller would send it: any id, the role check comes first.
        std::string path = route.pattern;
        for (std::size_t at; (at = path.find("{id}")) != std::string::npos;) {
            path.replace(at, 4, "x1");
        }
        EXPECT_EQ(t.client().Send(route.method, path, "{}", "not-a-token").status, 401) << name;
        for (const RoleToken& caller : tokens) {
            if (route.access.Allows(caller.role)) continue;
            EXPECT_TRUE(responses.contains("403")) << name << " refuses a role: 403 documented";
            EXPECT_EQ(t.client().Send(route.method, path, "{}", caller.token).status, 403) << name;
        }
    }
}

TEST(OpenApi, StatesTheLimitsOfCoreLimits) {
    const json doc = Document();
    const json& line = Schema(doc, "PurchaseLineInput")["properties"];
    EXPECT_EQ(line["quantity"]["maximum"], core::kMaxLineQuantity);
    EXPECT_EQ(line["unit_price"]["maximum"], core::kMaxUnitPrice);
    EXPECT_EQ(Schema(doc, "NewPurchase")["properties"]["lines"]["maxItems"],
              core::kMaxLinesPerPurchase);
    EXPECT_EQ(Schema(doc, "NewRefund")["properties"]["amount"]["maximum"], core::kMaxPurchaseTotal);
    EXPECT_EQ(Schema(doc, "NewRedemption")["properties"]["points"]["maximum"],
              core::kMaxRedeemPoints);
    EXPECT_EQ(Schema(doc, "RuleInput")["properties"]["amount_per_point"]["maximum"],
              core::kMaxAmountPerPoint);
    EXPECT_EQ(Schema(doc, "Multiplier")["maximum"].get<double>() * 1000,
              static_cast<double>(core::kMaxMultiplierMilli));
    // Exactly one of the member references, and of amount and lines.
    for (const char* schema : {"NewPurchase", "NewRedemption"}) {
        EXPECT_EQ(Schema(doc, schema)["oneOf"],
                  json::parse(R"([{"required":["card_number"]},{"required":["member_id"]}])"))
            << schema;
    }
    EXPECT_EQ(Schema(doc, "NewRefund")["oneOf"],
              json::parse(R"([{"required":["amount"]},{"required":["lines"]}])"));
}

}  // namespace
}  // namespace kizuna::http::testing
