// The hub's JSON request decoders, driven the way the server drives them (http::Api: routing,
// authentication, the handlers' JSON reading, the services behind them) on a real hub over
// SQLite, without the network. Properties: the hub answers every request; never with 5xx (a
// handler that threw, or an internal error, is a bug whatever the input); a refusal is 4xx
// with the one error shape {"error":{"code","message"}}; and every JSON answer is well-formed.
//
// Input: the first byte picks the route, the second the caller (nobody, the operator, a store,
// a member); the rest is the request body, or for GET routes the query string. The last
// route takes the whole target ("/v1/...?...") from the rest instead, to reach the router and
// the percent-decoding. "$MEMBER", "$CARD", "$STORE" and "$PURCHASE" in the rest stand for the
// ids of the hub's member, card, store and purchase (made at start, different on every run),
// so that the corpus reaches past "not found".

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/time.hpp"
#include "fuzz_check.hpp"
#include "http/api.hpp"
#include "http/http_message.hpp"
#include "hub/hub.hpp"

using namespace kizuna;

namespace {

// 2026-11-22T09:00:00Z, always: inputs must behave the same on every run.
class FixedClock final : public core::Clock {
  public:
    core::Timestamp Now() const override { return core::FromUnixSeconds(1795338000); }
};

struct Route {
    const char* method;
    const char* path;  // "{member}", "{purchase}" and "{store}" are filled in
};

constexpr Route kRoutes[] = {
    {"POST", "/v1/programs"},
    {"POST", "/v1/stores"},
    {"POST", "/v1/members"},
    {"POST", "/v1/members/search"},
    {"POST", "/v1/members/{member}/cards"},
    {"POST", "/v1/sessions"},
    {"POST", "/v1/purchases"},
    {"POST", "/v1/redemptions"},
    {"POST", "/v1/purchases/{purchase}/refunds"},
    {"PUT", "/v1/stores/{store}/rule"},
    {"POST", "/v1/offers"},
    {"GET", "/v1/members/{member}/usage"},
    {"GET", "/v1/members/{member}"},
    {"GET", "/v1/offers"},
    {"GET", "/v1/stores/{store}/rule"},
    {"GET", nullptr},  // the target comes from the input
    // Added after the raw target so that the corpus's first bytes keep choosing their routes.
    {"POST", "/v1/reservations"},
    {"PATCH", "/v1/reservations/fz-res-1"},
    {"GET", "/v1/reservations"},
    {"POST", "/v1/webhooks"},
    {"POST", "/v1/members/confirmations"},
};

// One hub for the whole run, with a store, a member and a purchase for the inputs to refer to.
struct World {
    std::filesystem::path dir;
    FixedClock clock;
    std::unique_ptr<hub::Hub> hub;
    std::unique_ptr<http::Api> api;
    std::string operator_token;
    std::string store_key;
    std::string store_id;
    std::string member_id;
    std::string card_number;
    std::string member_token;
    std::string purchase_id = "seed-purchase-1";

    http::HttpResponse Call(const std::string& method, const std::string& target,
                            const std::string& token, std::string body) {
        http::HttpRequest request;
        request.method = method;
        http::SplitTarget(target, request);
        if (!token.empty()) request.authorization = "Bearer " + token;
        request.content_type = "application/json";
        request.body = std::move(body);
        request.remote_address = "127.0.0.1";
        api->RequestStarted();
        return api->Handle(request);
    }

    // Set-up calls must succeed; their answers are JSON.
    nlohmann::json MustCall(const std::string& method, const std::string& target,
                            const std::string& token, const std::string& body) {
        http::HttpResponse response = Call(method, target, token, body);
        FUZZ_CHECK(response.status / 100 == 2, target + ": " + response.body);
        return nlohmann::json::parse(response.body);
    }
};

World& TheWorld() {
    static World* world = [] {
        auto* w = new World;
        std::string templ = (std::filesystem::temp_directory_path() / "kizuna-fuzz-XXXXXX");
        FUZZ_CHECK(::mkdtemp(templ.data()) != nullptr, "mkdtemp");
        w->dir = templ;
        hub::HubOptions options;
        options.data_dir = w->dir / "data";
        options.storage_url = "sqlite::memory:";
        options.clock = &w->clock;
        auto opened = hub::Hub::Open(options);
        FUZZ_CHECK(opened.has_value(), opened ? "" : opened.error().message);
        w->hub = std::move(*opened);
        w->api = std::make_unique<http::Api>(*w->hub);
        std::ifstream token_file(w->hub->operator_token_path());
        std::getline(token_file, w->operator_token);

        auto store = w->MustCall("POST", "/v1/stores", w->operator_token,
                                 R"({"name":"Fuzz Books","kind":"physical","program_id":null})");
        w->store_key = store["api_key"];
        w->store_id = store["store_id"];
        auto member = w->MustCall("POST", "/v1/members", w->store_key,
                                  R"({"password":"correct horse fuzz",
                                      "profile":{"name":"Fuzz Member","email":"fuzz@example.jp"},
                                      "consents":{"share_profile":true}})");
        w->member_id = member["member_id"];
        w->card_number = member["card"]["card_number"];
        auto session =
            w->MustCall("POST", "/v1/sessions", "",
                        R"({"login":"fuzz@example.jp","password":"correct horse fuzz"})");
        w->member_token = session["token"];
        w->MustCall(
            "POST", "/v1/purchases", w->store_key,
            R"({"purchase_id":"seed-purchase-1","member_id":")" + w->member_id +
                R"(","lines":[{"name":"Novel","sku":"B-1","quantity":2,"unit_price":990}]})");
        return w;
    }();
    return *world;
}

// Puts the world's ids in place of "{member}" (path patterns) and "$MEMBER" (inputs), etc.
std::string Fill(std::string text, const World& w) {
    auto put = [&](const std::string& name, const std::string& value) {
        for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at)) {
            text.replace(at, name.size(), value);
            at += value.size();
        }
    };
    for (const char* name : {"{member}", "$MEMBER"}) put(name, w.member_id);
    for (const char* name : {"{purchase}", "$PURCHASE"}) put(name, w.purchase_id);
    for (const char* name : {"{store}", "$STORE"}) put(name, w.store_id);
    put("$CARD", w.card_number);
    return text;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    TheWorld();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    World& w = TheWorld();
    const Route& route = kRoutes[data[0] % std::size(kRoutes)];
    const std::string callers[] = {"", w.operator_token, w.store_key, w.member_token};
    const std::string& token = callers[data[1] % 4];
    std::string rest = Fill(std::string(reinterpret_cast<const char*>(data) + 2, size - 2), w);

    std::string target;
    std::string body;
    if (route.path == nullptr) {
        target = rest.substr(0, rest.find('\n'));
        if (target.empty() || target[0] != '/') target = "/" + target;
    } else if (std::string_view(route.method) == "GET") {
        target = Fill(route.path, w) + "?" + rest;
    } else {
        target = Fill(route.path, w);
        body = std::move(rest);
    }
    const http::HttpResponse response = w.Call(route.method, target, token, std::move(body));

    const std::string where = std::string(route.method) + " " + target + " -> " +
                              std::to_string(response.status) + " " + response.body;
    FUZZ_CHECK(response.status >= 200 && response.status < 500, where);
    if (response.content_type.starts_with("application/json")) {
        FUZZ_CHECK(nlohmann::json::accept(response.body), "an answer that is not JSON: " + where);
        if (response.status >= 400) {
            const auto answer = nlohmann::json::parse(response.body);
            FUZZ_CHECK(
                answer.is_object() && answer.contains("error") && answer["error"].is_object() &&
                    answer["error"].contains("code") && answer["error"]["code"].is_string() &&
                    answer["error"].contains("message") && answer["error"]["message"].is_string(),
                "an error without the error shape: " + where);
        }
    }
    return 0;
}
