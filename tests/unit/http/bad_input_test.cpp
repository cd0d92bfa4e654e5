// The bad-input matrix: every endpoint that takes a body gets malformed JSON, each required field
// missing, each field null, each field with a wrong type, an oversized body, no or a bad token and
// the wrong role; endpoints with ids in the path get unknown ids. Each answer must have the right
// status and, for bad fields, name the field in error.field.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "http/api.hpp"
#include "http/openapi.hpp"
#include "test_hub.hpp"

namespace kizuna::http::testing {
namespace {

using nlohmann::json;

struct WrongType {
    std::string pointer;  // JSON pointer into the valid body
    std::string field;    // the name the error must give
    json value;
};

struct Endpoint {
    std::string method;
    std::string path;
    std::string token;             // a caller with the right role
    std::string wrong_role_token;  // an authenticated caller without it
    bool needs_auth = true;
    json valid;                                                 // a body of the right shape
    std::vector<std::pair<std::string, std::string>> required;  // pointer, field
    std::vector<WrongType> wrong_types;

    std::string Name() const { return method + " " + path; }
};

std::string UnknownMemberId() {
    std::string digits = "987654321";
    return digits + core::DammCheckDigit(digits);
}

std::string UnknownCardNumber() {
    std::string digits = "981000000000042";
    return digits + core::LuhnCheckDigit(digits);
}

std::vector<Endpoint> Endpoints(TestHub& t) {
    const json line0 = {{"name", "文庫本"},
                        {"sku", "978-4"},
                        {"category", "books"},
                        {"quantity", 2},
                        {"unit_price", 700}};
    const json line1 = {{"name", "Coffee"}, {"quantity", 1}, {"unit_price", 450}};
    std::vector<Endpoint> endpoints;

    endpoints.push_back({"POST",
                         "/v1/programs",
                         t.operator_token,
                         t.store.api_key,
                         true,
                         {{"name", "Matrix chain"}},
                         {{"/name", "name"}},
                         {{"/name", "name", 42}}});
    endpoints.push_back({"POST",
                         "/v1/stores",
                         t.operator_token,
                         t.store.api_key,
                         true,
                         {{"name", "Matrix store"},
                          {"kind", "online"},
                          {"program_id", nullptr},
                          {"currency", "JPY"}},
                         {{"/name", "name"}},
                         {{"/name", "name", json::array()},
                          {"/kind", "kind", 1},
                          {"/kind", "kind", "castle"},
                          {"/program_id", "program_id", 7},
                          {"/currency", "currency", true}}});
    endpoints.push_back({"PUT",
                         "/v1/stores/" + t.store.store_id + "/rule",
                         t.store.api_key,
                         t.member_token,
                         true,
                         {{"amount_per_point", 100},
                          {"rounding", "floor"},
                          {"category_multipliers", {{"books", 2}, {"food", 1.5}}},
                          {"bonus_windows",
                           {{{"start", "2026-12-01T00:00:00Z"},
                             {"end", "2026-12-02T00:00:00Z"},
                             {"multiplier", 1.5}}}},
                          {"validity_days", 365}},
                         {{"/amount_per_point", "amount_per_point"},
                          {"/bonus_windows/0/start", "bonus_windows[0].start"},
                          {"/bonus_windows/0/end", "bonus_windows[0].end"},
                          {"/bonus_windows/0/multiplier", "bonus_windows[0].multiplier"}},
                         {{"/amount_per_point", "amount_per_point", "100"},
                          {"/amount_per_point", "amount_per_point", 100.5},
                          {"/rounding", "rounding", 1},
                          {"/rounding", "rounding", "sideways"},
                          {"/category_multipliers", "category_multipliers", json::array({2})},
                          {"/category_multipliers/books", "category_multipliers.books", "2x"},
                          {"/category_multipliers/books", "category_multipliers.books", 1.2345},
                          {"/bonus_windows", "bonus_windows", "soon"},
                          {"/bonus_windows/0", "bonus_windows[0]", 3},
                          {"/bonus_windows/0/start", "bonus_windows[0].start", 20261201},
                          {"/bonus_windows/0/end", "bonus_windows[0].end", "tomorrow"},
                          {"/bonus_windows/0/multiplier", "bonus_windows[0].multiplier", "1.5"},
                          {"/validity_days", "validity_days", "365"},
                          {"/validity_days", "validity_days", 0}}});
    endpoints.push_back(
        {"POST",
         "/v1/members",
         "",
         t.member_token,
         false,
         {{"password", "another good password"},
          {"profile",
           {{"name", "佐藤 太郎"},
            {"name_kana", "サトウ タロウ"},
            {"postal_code", "150-0002"},
            {"address", "東京都渋谷区"},
            {"phone", "03-1234-5678"},
            {"birth_date", "1990-04-01"},
            {"occupation", "teacher"},
            {"email", "taro@example.jp"}}},
          {"consents",
           {{"email_offers", true}, {"postal_offers", false}, {"share_profile", false}}},
          {"medium", "qr"}},
         {{"/password", "password"}, {"/profile", "profile"}, {"/profile/name", "profile.name"}},
         {{"/password", "password", 12345678},
          {"/profile", "profile", "佐藤"},
          {"/profile/name", "profile.name", 1},
          {"/profile/name_kana", "profile.name_kana", false},
          {"/profile/postal_code", "profile.postal_code", 1500002},
          {"/profile/address", "profile.address", json::array()},
          {"/profile/phone", "profile.phone", 312345678},
          {"/profile/birth_date", "profile.birth_date", 19900401},
          {"/profile/occupation", "profile.occupation", json::object()},
          {"/profile/email", "profile.email", 1},
          {"/consents", "consents", true},
          {"/consents/email_offers", "consents.email_offers", "yes"},
          {"/consents/postal_offers", "consents.postal_offers", 1},
          {"/consents/share_profile", "consents.share_profile", "false"},
          {"/medium", "medium", 2},
          {"/medium", "medium", "paper"}}});
    endpoints.push_back({"POST",
                         "/v1/members/search",
                         t.store.api_key,
                         t.member_token,
                         true,
                         {{"email", t.member_email}, {"phone", "03-1234-5678"}},
                         {},
                         {{"/email", "email", 1}, {"/phone", "phone", 3.5}}});
    endpoints.push_back({"POST",
                         "/v1/members/" + t.member_id + "/cards",
                         t.store.api_key,
                         t.operator_token,
                         true,
                         {{"password", t.member_password}, {"medium", "chip"}},
                         {{"/password", "password"}},
                         {{"/password", "password", 1}, {"/medium", "medium", "paper"}}});
    endpoints.push_back({"POST",
                         "/v1/sessions",
                         "",
                         "",
                         false,
                         {{"login", t.member_id}, {"password", t.member_password}},
                         {{"/login", "login"}, {"/password", "password"}},
                         {{"/login", "login", 12345}, {"/password", "password", false}}});
    endpoints.push_back(
        {"POST",
         "/v1/purchases",
         t.store.api_key,
         t.member_token,
         true,
         {{"purchase_id", "matrix-p1"},
          {"member_id", t.member_id},
          {"occurred_at", "2026-11-22T10:00:00Z"},
          {"currency", "JPY"},
          {"lines", {line0, line1}}},
         {{"/purchase_id", "purchase_id"},
          {"/member_id", "card_number"},
          {"/lines", "lines"},
          {"/lines/0/name", "lines[0].name"},
          {"/lines/1/unit_price", "lines[1].unit_price"}},
         {{"/purchase_id", "purchase_id", 1},
          {"/member_id", "member_id", 1234567890},
          {"/member_id", "member_id", "12345"},
          {"/occurred_at", "occurred_at", 1700000000},
          {"/occurred_at", "occurred_at", "2026-13-40T10:00:00Z"},
          {"/currency", "currency", 392},
          {"/lines", "lines", json::object()},
          {"/lines", "lines", json::array()},
          {"/lines/0", "lines[0]", "文庫本"},
          {"/lines/0/name", "lines[0].name", 5},
          {"/lines/0/sku", "lines[0].sku", 978},
          {"/lines/0/category", "lines[0].category", json::array()},
          {"/lines/1/quantity", "lines[1].quantity", "1"},
          {"/lines/1/quantity", "lines[1].quantity", 1.5},
          {"/lines/1/unit_price", "lines[1].unit_price", "450"},
          {"/lines/1/unit_price", "lines[1].unit_price", json::parse("18446744073709551615")}}});
    endpoints.push_back({"POST",
                         "/v1/purchases/matrix-p0/refunds",
                         t.store.api_key,
                         t.member_token,
                         true,
                         {{"refund_id", "matrix-r1"}, {"amount", 100}},
                         {{"/refund_id", "refund_id"}, {"/amount", "amount"}},
                         {{"/refund_id", "refund_id", 1},
                          {"/amount", "amount", "100"},
                          {"/amount", "amount", 1.25}}});
    endpoints.push_back(
        {"POST",
         "/v1/purchases/matrix-p0/refunds",
         t.store.api_key,
         t.member_token,
         true,
         {{"refund_id", "matrix-r2"}, {"lines", {{{"sku", "978-4"}, {"quantity", 1}}}}},
         {{"/lines/0/quantity", "lines[0].quantity"}, {"/lines/0/sku", "lines[0].sku"}},
         {{"/lines", "lines", "all"},
          {"/lines/0", "lines[0]", 1},
          {"/lines/0/sku", "lines[0].sku", 9784},
          {"/lines/0/quantity", "lines[0].quantity", "1"}}});
    endpoints.push_back(
        {"POST",
         "/v1/redemptions",
         t.store.api_key,
         t.member_token,
         true,
         {{"redemption_id", "matrix-d1"}, {"card_number", t.card_number}, {"points", 10}},
         {{"/redemption_id", "redemption_id"},
          {"/card_number", "card_number"},
          {"/points", "points"}},
         {{"/redemption_id", "redemption_id", json::object()},
          {"/card_number", "card_number", 9810},
          {"/card_number", "card_number", "98100000000000001"},
          {"/points", "points", "10"},
          {"/points", "points", 0},
          {"/points", "points", 2.5}}});
    endpoints.push_back({"POST",
                         "/v1/offers",
                         t.store.api_key,
                         t.member_token,
                         true,
                         {{"title", "年末セール"},
                          {"body", "All books 20% off"},
                          {"categories", {"books", "stationery"}},
                          {"valid_from", "2026-12-01T00:00:00Z"},
                          {"valid_to", "2026-12-31T00:00:00Z"}},
                         {{"/title", "title"}, {"/valid_to", "valid_to"}},
                         {{"/title", "title", 1},
                          {"/body", "body", json::array()},
                          {"/categories", "categories", "books"},
                          {"/categories/1", "categories[1]", 2},
                          {"/valid_from", "valid_from", "December"},
                          {"/valid_to", "valid_to", true}}});
    endpoints.push_back({"POST",
                         "/v1/reservations",
                         t.store.api_key,
                         t.operator_token,
                         true,
                         {{"reservation_id", "matrix-r1"},
                          {"member_id", t.member_id},
                          {"item", {{"name", "新刊 上巻"}, {"sku", "978-4"}}},
                          {"quantity", 2},
                          {"pickup_at", "2026-12-24T09:00:00Z"}},
                         {{"/reservation_id", "reservation_id"},
                          {"/item", "item"},
                          {"/item/name", "item.name"},
                          {"/pickup_at", "pickup_at"}},
                         {{"/reservation_id", "reservation_id", 7},
                          {"/member_id", "member_id", 1234567890},
                          {"/item", "item", "新刊"},
                          {"/item/sku", "item.sku", 978},
                          {"/quantity", "quantity", "2"},
                          {"/pickup_at", "pickup_at", "Christmas"}}});
    endpoints.push_back({"PATCH",
                         "/v1/reservations/matrix-r1",
                         t.store.api_key,
                         t.operator_token,
                         true,
                         {{"status", "picked_up"}},
                         {{"/status", "status"}},
                         {{"/status", "status", 1}, {"/created_by", "created_by", false}}});
    endpoints.push_back({"POST",
                         "/v1/webhooks",
                         t.store.api_key,
                         t.member_token,
                         true,
                         {{"url", "https://shop.example.jp/kizuna"},
                          {"events", {"member.enrolled", "reservation.created"}}},
                         {{"/url", "url"}, {"/events", "events"}},
                         {{"/url", "url", 80},
                          {"/events", "events", "member.enrolled"},
                          {"/events/1", "events[1]", 2}}});
    return endpoints;
}

class BadInputTest : public ::testing::Test {
  protected:
    TestHub& t_ = TestHub::Get();
};

TEST_F(BadInputTest, MalformedJsonIsRefusedNamingTheBody) {
    const std::vector<std::string> bodies = {"",
                                             "   ",
                                             "{",
                                             "{\"name\":}",
                                             "[1,2,3]",
                                             "\"text\"",
                                             "42",
                                             "nul",
                                             "{'a':1}",
                                             "{\"a\":1}x",
                                             std::string(100, '[') + std::string(100, ']'),
                                             "{\"name\":\"\xff\xfe\"}"};
    for (const Endpoint& e : Endpoints(t_)) {
        for (const std::string& body : bodies) {
            Reply reply = t_.client().Send(e.method, e.path, body, e.token);
            EXPECT_EQ(reply.status, 400) << e.Name() << " body " << body << ": " << reply.body;
            EXPECT_EQ(reply.ErrorCode(), "invalid_argument") << e.Name();
            EXPECT_EQ(reply.ErrorField(), "body") << e.Name() << " body " << body;
        }
    }
}

TEST_F(BadInputTest, EachMissingRequiredFieldIsNamed) {
    for (const Endpoint& e : Endpoints(t_)) {
        for (const auto& [pointer, field] : e.required) {
            json::json_pointer ptr(pointer);
            json missing = e.valid;
            missing.at(ptr.parent_pointer()).erase(ptr.back());
            Reply reply = t_.client().Send(e.method, e.path, missing.dump(), e.token);
            EXPECT_EQ(reply.status, 400)
                << e.Name() << " without " << pointer << ": " << reply.body;
            EXPECT_EQ(reply.ErrorField(), field) << e.Name() << " without " << pointer;
        }
    }
}

// Every JSON pointer to a value inside `body` (members of objects and elements of arrays, at any
// depth), in document order.
void CollectPointers(const json& body, const std::string& prefix, std::vector<std::string>& out) {
    if (body.is_object()) {
        for (auto it = body.begin(); it != body.end(); ++it) {
            out.push_back(prefix + "/" + it.key());
            CollectPointers(it.value(), prefix + "/" + it.key(), out);
        }
    } else if (body.is_array()) {
        for (std::size_t i = 0; i < body.size(); ++i) {
            out.push_back(prefix + "/" + std::to_string(i));
            CollectPointers(body[i], prefix + "/" + std::to_string(i), out);
        }
    }
}

// The tokens of a JSON pointer: "/lines/0/name" -> lines, 0, name (no escapes in our bodies).
std::vector<std::string> Tokens(const std::string& pointer) {
    std::vector<std::string> tokens;
    for (std::size_t at = 1; at <= pointer.size();) {
        std::size_t end = std::min(pointer.find('/', at), pointer.size());
        tokens.push_back(pointer.substr(at, end - at));
        at = end + 1;
    }
    return tokens;
}

// "/lines/0/name" as the server names it: "lines[0].name".
std::string FieldOf(const std::string& pointer) {
    std::string field;
    for (const std::string& token : Tokens(pointer)) {
        if (!token.empty() && token.find_first_not_of("0123456789") == std::string::npos) {
            field += "[" + token + "]";
        } else {
            field += (field.empty() ? "" : ".") + token;
        }
    }
    return field;
}

// The schema the document gives to the value at `pointer` of the request body of `operation`,
// or null when it gives none.
json SchemaAt(const json& doc, const json& operation, const std::string& pointer) {
    auto resolve = [&](json schema) {
        while (schema.is_object() && schema.contains("$ref")) {
            std::string ref = schema["$ref"];
            schema = doc["components"]["schemas"][ref.substr(ref.rfind('/') + 1)];
        }
        return schema;
    };
    json schema = resolve(operation["requestBody"]["content"]["application/json"]["schema"]);
    for (const std::string& token : Tokens(pointer)) {
        if (!schema.is_object()) return json();
        if (schema.contains("items")) {
            schema = resolve(schema["items"]);
        } else if (schema.contains("properties") && schema["properties"].contains(token)) {
            schema = resolve(schema["properties"][token]);
        } else if (schema.contains("additionalProperties")) {
            schema = resolve(schema["additionalProperties"]);
        } else {
            return json();
        }
    }
    return schema;
}

// Issue 15, defect 9: fields not declared nullable took null for missing ("validity_days": null
// gave 365). Every field of every body is sent as null: it is refused naming the field unless
// the document declares it nullable, and then it is not refused for that field.
TEST_F(BadInputTest, NullIsRefusedNamingTheFieldExactlyWhereTheDocumentSaysSo) {
    const json doc = json::parse(OpenApiDocument());
    Api api(t_.hub());
    int nullable_seen = 0;
    for (const Endpoint& e : Endpoints(t_)) {
        const RouteMatch match = api.router().Match(e.method, e.path);
        ASSERT_EQ(match.kind, RouteMatch::Kind::kFound) << e.Name();
        const Route& route = api.router().route(match.route_index);
        std::string method = e.method;
        std::transform(method.begin(), method.end(), method.begin(), ::tolower);
        const json& operation = doc["paths"][route.pattern][method];
        std::vector<std::string> pointers;
        CollectPointers(e.valid, "", pointers);
        for (const std::string& pointer : pointers) {
            json body = e.valid;
            body[json::json_pointer(pointer)] = nullptr;
            Reply reply = t_.client().Send(e.method, e.path, body.dump(), e.token);
            const json schema = SchemaAt(doc, operation, pointer);
            if (schema.value("nullable", false)) {
                ++nullable_seen;
                EXPECT_NE(reply.ErrorField(), FieldOf(pointer))
                    << e.Name() << " null " << pointer << " is declared nullable: " << reply.body;
                continue;
            }
            EXPECT_EQ(reply.status, 400) << e.Name() << " null " << pointer << ": " << reply.body;
            EXPECT_EQ(reply.ErrorField(), FieldOf(pointer)) << e.Name() << " null " << pointer;
        }
    }
    EXPECT_GE(nullable_seen, 1);  // program_id of POST /v1/stores
}

TEST_F(BadInputTest, EachWrongTypeIsNamed) {
    for (const Endpoint& e : Endpoints(t_)) {
        for (const WrongType& w : e.wrong_types) {
            json body = e.valid;
            body[json::json_pointer(w.pointer)] = w.value;
            Reply reply = t_.client().Send(e.method, e.path, body.dump(), e.token);
            EXPECT_EQ(reply.status, 400)
                << e.Name() << " " << w.pointer << "=" << w.value.dump() << ": " << reply.body;
            EXPECT_EQ(reply.ErrorCode(), "invalid_argument") << e.Name();
            EXPECT_EQ(reply.ErrorField(), w.field)
                << e.Name() << " " << w.pointer << "=" << w.value.dump() << ": " << reply.body;
        }
    }
}

TEST_F(BadInputTest, WrongTypeMessagesSayWhatIsExpected) {
    json body = {{"purchase_id", "msg-1"},
                 {"member_id", t_.member_id},
                 {"lines",
                  {{{"name", "a"}, {"unit_price", 1}},
                   {{"name", "b"}, {"quantity", "2"}, {"unit_price", 1}}}}};
    Reply reply = t_.client().Post("/v1/purchases", body, t_.store.api_key);
    ASSERT_EQ(reply.status, 400);
    EXPECT_EQ(reply.Json()["error"]["message"], "lines[1].quantity must be an integer");
}

TEST_F(BadInputTest, SearchNeedsEmailOrPhone) {
    Reply reply = t_.client().Post("/v1/members/search", json::object(), t_.store.api_key);
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_EQ(reply.ErrorField(), "email");
}

TEST_F(BadInputTest, BothMemberReferencesAreRefused) {
    json body = {{"purchase_id", "both-1"},
                 {"member_id", t_.member_id},
                 {"card_number", t_.card_number},
                 {"lines", {{{"name", "a"}, {"unit_price", 100}}}}};
    Reply reply = t_.client().Post("/v1/purchases", body, t_.store.api_key);
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(reply.ErrorField(), "card_number");

    json refund = {
        {"refund_id", "both-r"}, {"amount", 1}, {"lines", {{{"sku", "x"}, {"quantity", 1}}}}};
    reply = t_.client().Post("/v1/purchases/p/refunds", refund, t_.store.api_key);
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(reply.ErrorField(), "amount");
}

TEST_F(BadInputTest, OversizedBodyIs413WithOrWithoutExpectContinue) {
    for (const Endpoint& e : Endpoints(t_)) {
        json body = e.valid;
        body["padding"] = std::string(TestHub::kBodyLimit + 1, 'x');
        for (bool expect_continue : {false, true}) {
            std::vector<std::string> headers;
            if (expect_continue) headers.push_back("Expect: 100-continue");
            TestClient client(t_.base_url());
            Reply reply = client.Send(e.method, e.path, body.dump(), e.token, headers);
            EXPECT_EQ(reply.curl, CURLE_OK) << e.Name() << ": " << curl_easy_strerror(reply.curl);
            EXPECT_EQ(reply.status, 413) << e.Name() << ": " << reply.body;
            EXPECT_EQ(reply.ErrorCode(), "payload_too_large") << e.Name();
            EXPECT_EQ(reply.ErrorField(), "body") << e.Name();
        }
    }
}

TEST_F(BadInputTest, ABodyJustUnderTheLimitIsRead) {
    json body = {{"name", "Padded chain"}};
    body["padding"] = std::string(TestHub::kBodyLimit - 100, 'x');
    Reply reply = t_.client().Post("/v1/programs", body, t_.operator_token);
    EXPECT_EQ(reply.status, 201) << reply.body;
}

TEST_F(BadInputTest, MissingOrInvalidTokenIs401) {
    for (const Endpoint& e : Endpoints(t_)) {
        if (!e.needs_auth) continue;
        Reply reply = t_.client().Send(e.method, e.path, e.valid.dump());
        EXPECT_EQ(reply.status, 401) << e.Name() << ": " << reply.body;
        EXPECT_EQ(reply.ErrorCode(), "unauthenticated") << e.Name();
        EXPECT_FALSE(reply.headers["www-authenticate"].empty()) << e.Name();

        for (const std::string& token :
             {std::string("kzs_not-a-key"), std::string("kzm_nope"), std::string("operator?")}) {
            reply = t_.client().Send(e.method, e.path, e.valid.dump(), token);
            EXPECT_EQ(reply.status, 401) << e.Name() << " token " << token << ": " << reply.body;
        }
        reply =
            t_.client().Send(e.method, e.path, e.valid.dump(), "", {"Authorization: Basic dTpw"});
        EXPECT_EQ(reply.status, 401) << e.Name() << " basic auth";
    }
    // Reads too.
    for (const std::string& path : std::vector<std::string>{
             "/v1/programs", "/v1/stores", "/v1/offers", "/metrics", "/v1/members/" + t_.member_id,
             "/v1/members/" + t_.member_id + "/usage",
             "/v1/stores/" + t_.store.store_id + "/rule"}) {
        EXPECT_EQ(t_.client().Get(path).status, 401) << path;
        EXPECT_EQ(t_.client().Get(path, "kzm_expired").status, 401) << path;
    }
}

TEST_F(BadInputTest, WrongRoleIs403WhateverTheBody) {
    for (const Endpoint& e : Endpoints(t_)) {
        if (e.wrong_role_token.empty()) continue;
        for (const std::string& body : {e.valid.dump(), std::string("{")}) {
            Reply reply = t_.client().Send(e.method, e.path, body, e.wrong_role_token);
            EXPECT_EQ(reply.status, 403) << e.Name() << ": " << reply.body;
            EXPECT_EQ(reply.ErrorCode(), "forbidden") << e.Name();
        }
    }
    EXPECT_EQ(t_.client().Get("/v1/programs", t_.member_token).status, 403);
    EXPECT_EQ(t_.client().Get("/v1/stores", t_.store.api_key).status, 403);
    EXPECT_EQ(t_.client().Get("/metrics", t_.store.api_key).status, 403);
    EXPECT_EQ(t_.client().Get("/v1/offers", t_.operator_token).status, 403);
    // A member reads their own record (self-care), a store's lookup is for stores.
    EXPECT_EQ(t_.client().Get("/v1/members/" + t_.member_id, t_.member_token).status, 200);
    EXPECT_EQ(t_.client().Get("/v1/members/" + t_.member_id + "/usage", t_.store.api_key).status,
              403);
    // A store may not change another store's rule.
    Reply reply = t_.client().Send("PUT", "/v1/stores/" + t_.other_store.store_id + "/rule",
                                   json{{"amount_per_point", 50}}.dump(), t_.store.api_key);
    EXPECT_EQ(reply.status, 403) << reply.body;
    // A member sees only their own usage.
    json other = t_.Enroll("other-usage@example.jp", "another secret pw");
    reply = t_.client().Get("/v1/members/" + other["member_id"].get<std::string>() + "/usage",
                            t_.member_token);
    EXPECT_EQ(reply.status, 403) << reply.body;
}

TEST_F(BadInputTest, UnknownIdsAre404) {
    const std::string unknown_member = UnknownMemberId();
    struct Case {
        std::string method, path, token;
        json body;
    };
    std::vector<Case> cases = {
        {"PUT",
         "/v1/stores/st_doesnotexist0000/rule",
         t_.operator_token,
         {{"amount_per_point", 100}}},
        {"GET", "/v1/stores/st_doesnotexist0000/rule", t_.operator_token, nullptr},
        {"POST",
         "/v1/members/" + unknown_member + "/cards",
         t_.store.api_key,
         {{"password", "whatever pw"}}},
        {"POST", "/v1/members/12345/cards", t_.store.api_key, {{"password", "whatever pw"}}},
        {"GET", "/v1/members/" + unknown_member + "/usage", t_.operator_token, nullptr},
        {"GET", "/v1/members/not-a-member/usage", t_.operator_token, nullptr},
        {"GET", "/v1/members/" + unknown_member, t_.store.api_key, nullptr},
        {"GET", "/v1/members/%E5%B1%B1", t_.store.api_key, nullptr},
        {"POST",
         "/v1/purchases/no-such-purchase/refunds",
         t_.store.api_key,
         {{"refund_id", "r-404"}, {"amount", 100}}},
        {"POST",
         "/v1/purchases",
         t_.store.api_key,
         {{"purchase_id", "p-404"},
          {"member_id", unknown_member},
          {"lines", {{{"name", "a"}, {"unit_price", 100}}}}}},
        {"POST",
         "/v1/purchases",
         t_.store.api_key,
         {{"purchase_id", "p-404c"},
          {"card_number", UnknownCardNumber()},
          {"lines", {{{"name", "a"}, {"unit_price", 100}}}}}},
        {"POST",
         "/v1/redemptions",
         t_.store.api_key,
         {{"redemption_id", "d-404"}, {"member_id", unknown_member}, {"points", 1}}},
        {"POST",
         "/v1/stores",
         t_.operator_token,
         {{"name", "Orphan"}, {"program_id", "pg_doesnotexist0000"}}},
    };
    for (const Case& c : cases) {
        Reply reply =
            t_.client().Send(c.method, c.path, c.body.is_null() ? "" : c.body.dump(), c.token);
        EXPECT_EQ(reply.status, 404) << c.method << " " << c.path << ": " << reply.body;
        EXPECT_EQ(reply.ErrorCode(), "not_found") << c.method << " " << c.path;
    }
}

TEST_F(BadInputTest, UnknownPathsAre404AndWrongMethodsAre405WithAllow) {
    Reply reply = t_.client().Get("/v1/nothing-here");
    EXPECT_EQ(reply.status, 404);
    EXPECT_EQ(reply.ErrorCode(), "not_found");
    EXPECT_EQ(t_.client().Get("/v1/members/").status, 404);
    EXPECT_EQ(t_.client().Get("//healthz").status, 404);

    reply = t_.client().Send("PUT", "/v1/members/" + t_.member_id, "", t_.store.api_key);
    EXPECT_EQ(reply.status, 405);
    EXPECT_EQ(reply.ErrorCode(), "method_not_allowed");
    EXPECT_EQ(reply.headers["allow"], "DELETE, GET, HEAD, PATCH");

    reply = t_.client().Send("DELETE", "/v1/offers");
    EXPECT_EQ(reply.status, 405);
    EXPECT_EQ(reply.headers["allow"], "GET, HEAD, POST");
    reply = t_.client().Send("POST", "/healthz", "{}");
    EXPECT_EQ(reply.status, 405);
    EXPECT_EQ(reply.headers["allow"], "GET, HEAD");
    // A malformed escape is bad input, not a wrong method (issue 15 defect 8).
    reply = t_.client().Get("/v1/stores/%zz/rule", t_.store.api_key);
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_EQ(reply.ErrorCode(), "invalid_argument");
}

TEST_F(BadInputTest, UnknownFieldsAreIgnored) {
    Reply reply = t_.client().Post("/v1/programs", {{"name", "Extra chain"}, {"colour", "red"}},
                                   t_.operator_token);
    EXPECT_EQ(reply.status, 201) << reply.body;
}

}  // namespace
}  // namespace kizuna::http::testing
