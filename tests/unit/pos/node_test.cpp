// The store node's logic (src/pos/node.*) over its real local SQLite store, talking to a real hub
// in process (http::Api over a temporary hub directory) through a link the test can take down.
// The hub's sync endpoints (bootstrap, leases, push, pull) are played by FakeSync below, which
// applies pushed purchases and redemptions through the real hub API, once per event_id.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/earning_rule.hpp"
#include "core/ids.hpp"
#include "crypto/crypto.hpp"
#include "http/api.hpp"
#include "hub/hub.hpp"
#include "pos/hub_link.hpp"
#include "pos/node.hpp"
#include "pos/node_store.hpp"

namespace kizuna::pos {
namespace {

using nlohmann::json;

// Sync must succeed; says why when not.
#define ASSERT_SYNCED(node)                                       \
    do {                                                          \
        core::Status kz_synced = (node).Sync();                   \
        ASSERT_TRUE(kz_synced.ok()) << kz_synced.error().message; \
    } while (0)

class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "kizuna-node-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

class FixedClock final : public core::Clock {
  public:
    core::Timestamp Now() const override { return now; }
    core::Timestamp now = core::FromUnixSeconds(1'796'000'000);  // 2026-11-30
};

// A real hub in process, reached as the node reaches one; `down` makes it unreachable.
class InProcessHub final : public HubLink {
  public:
    InProcessHub() {
        crypto::InitCrypto();
        hub::HubOptions options;
        options.data_dir = dir_.path() / "hub";
        auto opened = hub::Hub::Open(options);
        if (!opened) throw std::runtime_error(opened.error().message);
        hub_ = std::move(*opened);
        api_ = std::make_unique<http::Api>(*hub_);
        std::ifstream token_file(hub_->operator_token_path());
        std::getline(token_file, operator_token);
        json store = Ask("POST", "/v1/stores", operator_token,
                         {{"name", "Ekimae Books"}, {"kind", "physical"}, {"program_id", nullptr}});
        api_key = store["api_key"];
        store_id = store["store_id"];
        Ask("PUT", "/v1/stores/" + store_id + "/rule", api_key,
            {{"amount_per_point", 100},
             {"rounding", "floor"},
             {"category_multipliers", {{"books", 2}, {"food", 1.5}}}});
    }

    // A call to the real hub API as `token`; the answer's JSON.
    json Ask(const std::string& method, const std::string& path, const std::string& token,
             const json& body = nullptr, int* status = nullptr) {
        http::HttpRequest request;
        request.method = method;
        http::SplitTarget(path, request);
        request.authorization = "Bearer " + token;
        if (!body.is_null()) request.body = body.dump();
        request.received_at = std::chrono::steady_clock::now();
        http::HttpResponse response = api_->Handle(request);
        if (status != nullptr) *status = response.status;
        return response.body.empty() ? json() : json::parse(response.body);
    }

    HubReply Call(std::string_view method, std::string_view path, const std::string* body,
                  const std::string* token, std::string_view) override {
        std::lock_guard lock(mutex_);
        if (down) return HubReply{false, 0, "", "connection refused"};
        calls.push_back(std::string(method) + " " + std::string(path));  // calls that arrived
        if (path.rfind("/v1/sync/", 0) == 0) return Sync(method, path, body);
        int status = 0;
        json answer = Ask(std::string(method), std::string(path), token ? *token : api_key,
                          body ? json::parse(*body) : json(), &status);
        return HubReply{true, status, answer.is_null() ? "" : answer.dump(), ""};
    }

    // The sync endpoints, played here.
    HubReply Sync(std::string_view method, std::string_view path, const std::string* body) {
        if (path == "/v1/sync/bootstrap") {
            json boot = {{"cursor", static_cast<int64_t>(pull_events.size())},
                         {"store", Ask("GET", "/v1/stores/me", api_key)},
                         {"program", json::object()},
                         {"rule", Ask("GET", "/v1/stores/" + store_id + "/rule", api_key)},
                         {"offers", json::array()},
                         {"card_public_key", Ask("GET", "/v1/card-key", "")["public_key"]},
                         {"revoked_cards", revoked_at_bootstrap}};
            return HubReply{true, 200, boot.dump(), ""};
        }
        if (path == "/v1/sync/leases" && method == "POST") {
            json request = json::parse(*body);
            json values = json::array();
            for (int i = 0; i < request["count"].get<int>(); ++i) {
                values.push_back(request["kind"] == "member_id" ? core::NewMemberId(random_)
                                                                : core::NewCardNumber(random_));
            }
            leased += request["count"].get<int>();
            return HubReply{true, 201, json{{"kind", request["kind"]}, {"values", values}}.dump(),
                            ""};
        }
        if (path == "/v1/sync/push") {
            json results = json::array();
            int answered = 0;
            const json request = json::parse(*body);
            for (const json& event : request["events"]) {
                const std::string id = event["event_id"];
                pushed_order.push_back(id);
                std::string status = "applied";
                json answer = json::object();
                if (applied.count(id) != 0) {
                    status = "duplicate";
                } else {
                    applied.insert(id);
                    ++applied_count[event["type"]];
                    int code = 0;
                    if (event["type"] == "purchase.created" || event["type"] == "points.redeemed") {
                        // Applied by the hub's own push, as a real one is (older sales than
                        // today's business day are accepted only there).
                        json pushed = Ask("POST", "/v1/sync/push", api_key,
                                          json{{"events", json::array({event})}}, &code);
                        if (code < 400 && pushed["results"].size() == 1) {
                            answer = pushed["results"][0]["body"];
                            if (pushed["results"][0]["status"] == "rejected") code = 422;
                        }
                    }
                    if (code >= 400) status = "rejected";
                }
                if (answer_only >= 0 && answered >= answer_only) continue;
                ++answered;
                results.push_back(
                    {{"event_id", id}, {"status", status}, {"http_status", 200}, {"body", answer}});
            }
            if (lose_push_answers) return HubReply{false, 0, "", "connection reset"};
            return HubReply{true, 200, json{{"results", results}, {"cursor", 0}}.dump(), ""};
        }
        if (path.rfind("/v1/sync/pull", 0) == 0) {
            const std::string query(path.substr(path.find("cursor=") + 7));
            const std::size_t cursor = std::stoul(query);
            json events = json::array();
            for (std::size_t i = cursor; i < pull_events.size(); ++i)
                events.push_back(pull_events[i]);
            return HubReply{true, 200,
                            json{{"events", events},
                                 {"cursor", static_cast<int64_t>(pull_events.size())},
                                 {"more", false}}
                                .dump(),
                            ""};
        }
        return HubReply{true, 404, R"({"error":{"code":"not_found","message":"no"}})", ""};
    }

    int Count(const std::string& call) {
        std::lock_guard lock(mutex_);
        return static_cast<int>(std::count(calls.begin(), calls.end(), call));
    }

    // Enrolls a member at the hub directly; their member id and card number.
    std::pair<std::string, std::string> EnrollAtHub(const std::string& email) {
        json member = Ask("POST", "/v1/members", api_key,
                          {{"password", "correct horse 42"},
                           {"profile", {{"name", "Sato Hanako"}, {"email", email}}}});
        return {member["member_id"], member["card"]["card_number"]};
    }

    std::string operator_token, api_key, store_id;
    bool down = false;
    bool lose_push_answers = false;  // the hub applies the batch, the answer never arrives
    int answer_only = -1;            // answer for only this many events of a batch
    std::vector<std::string> calls;
    std::set<std::string> applied;
    std::map<std::string, int> applied_count;
    std::vector<std::string> pushed_order;
    std::vector<json> pull_events;
    json revoked_at_bootstrap = json::array();
    int leased = 0;

  private:
    std::mutex mutex_;
    TempDir dir_;
    crypto::SystemRandom random_;
    std::unique_ptr<hub::Hub> hub_;
    std::unique_ptr<http::Api> api_;
};

class NodeTest : public ::testing::Test {
  protected:
    void SetUp() override { Open(); }

    void Open(NodeOptions options = {}) {
        node_.reset();
        store_.reset();
        auto store = NodeStore::Open((dir_.path() / "node.db").string());
        ASSERT_TRUE(store) << store.error().message;
        store_ = std::move(*store);
        node_ = std::make_unique<Node>(*store_, hub_, clock_, random_, options);
        ASSERT_TRUE(node_->Start().ok());
    }

    static json Body(const NodeAnswer& answer) { return json::parse(answer.body); }

    static std::string Sale(const std::string& id, const std::string& card, int64_t price,
                            const std::string& category = "books") {
        return json{
            {"purchase_id", id},
            {"card_number", card},
            {"lines",
             {{{"name", "Item"}, {"category", category}, {"quantity", 3}, {"unit_price", price}}}}}
            .dump();
    }

    TempDir dir_;
    InProcessHub hub_;
    FixedClock clock_;
    crypto::SystemRandom random_;
    std::unique_ptr<NodeStore> store_;
    std::unique_ptr<Node> node_;
};

TEST_F(NodeTest, OnlinePurchaseIsTheHubsAnswer) {
    auto [member, card] = hub_.EnrollAtHub("a@example.jp");
    NodeAnswer answer = node_->Purchase(Sale("p-1", card, 1234));
    EXPECT_EQ(answer.status, 201) << answer.body;
    EXPECT_EQ(Body(answer)["points_earned"], 74);  // 3 x 1234 x 2 / 100, floor
    EXPECT_EQ(hub_.Count("POST /v1/purchases"), 1);
    EXPECT_EQ(node_->Status().outbox_pending, 0);
}

TEST_F(NodeTest, OfflinePointsEqualTheHubsForTheSameSale) {
    auto [member, card] = hub_.EnrollAtHub("b@example.jp");
    for (const char* category : {"books", "food", "toys"}) {
        for (int64_t price : {1, 99, 150, 1234, 99999}) {
            hub_.down = false;
            const std::string online_id = "on-" + std::string(category) + std::to_string(price);
            NodeAnswer online = node_->Purchase(Sale(online_id, card, price, category));
            ASSERT_EQ(online.status, 201) << online.body;
            hub_.down = true;
            NodeAnswer offline =
                node_->Purchase(Sale("off" + online_id.substr(2), card, price, category));
            ASSERT_EQ(offline.status, 202) << offline.body;
            EXPECT_TRUE(Body(offline)["pending"].get<bool>());
            EXPECT_EQ(Body(offline)["points_earned"], Body(online)["points_earned"])
                << category << " " << price;
            // Drain so that the next online sale is forwarded.
            hub_.down = false;
            ASSERT_SYNCED(*node_);
        }
    }
}

TEST_F(NodeTest, OutboxKeepsOrderAndLaterWritesJoinItUntilPushed) {
    auto [member, card] = hub_.EnrollAtHub("c@example.jp");
    hub_.down = true;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(node_->Purchase(Sale("q-" + std::to_string(i), card, 500)).status, 202);
    }
    hub_.down = false;
    // The hub is back but the outbox is not empty: this sale joins the queue, unforwarded.
    EXPECT_EQ(node_->Purchase(Sale("q-3", card, 500)).status, 202);
    EXPECT_EQ(hub_.Count("POST /v1/purchases"), 0);
    EXPECT_EQ(node_->Status().outbox_pending, 4);
    ASSERT_SYNCED(*node_);
    EXPECT_EQ(node_->Status().outbox_pending, 0);
    ASSERT_EQ(hub_.pushed_order.size(), 4u);
    EXPECT_EQ(hub_.applied_count["purchase.created"], 4);
    // Pushed in the order sold: the hub's balance is all four.
    json usage = hub_.Ask("GET", "/v1/members/" + member, hub_.api_key);
    EXPECT_EQ(usage["purchases"].size(), 4u);
    // Now empty: the next sale is forwarded again.
    EXPECT_EQ(node_->Purchase(Sale("q-4", card, 500)).status, 201);
}

TEST_F(NodeTest, OnlyEventsTheHubAnsweredForLeaveTheOutbox) {
    auto [member, card] = hub_.EnrollAtHub("d@example.jp");
    hub_.down = true;
    for (int i = 0; i < 5; ++i) (void)node_->Purchase(Sale("r-" + std::to_string(i), card, 100));
    hub_.down = false;
    hub_.answer_only = 2;  // of each batch; the rest stay and are sent again
    ASSERT_SYNCED(*node_);
    EXPECT_EQ(node_->Status().outbox_pending, 0);
    EXPECT_EQ(hub_.applied_count["purchase.created"], 5);  // each once, though some sent twice
    EXPECT_EQ(hub_.pushed_order.size(), 5u + 3u + 1u);
}

TEST_F(NodeTest, CrashBetweenTheHubsCommitAndTheNodesAckIsHarmless) {
    auto [member, card] = hub_.EnrollAtHub("e@example.jp");
    hub_.down = true;
    for (int i = 0; i < 3; ++i) (void)node_->Purchase(Sale("s-" + std::to_string(i), card, 100));
    hub_.down = false;
    hub_.lose_push_answers = true;  // the hub commits; the node never hears it
    EXPECT_FALSE(node_->Sync().ok());
    EXPECT_EQ(hub_.applied_count["purchase.created"], 3);
    Open();  // the node restarts from its file: the outbox is still there
    EXPECT_EQ(node_->Status().outbox_pending, 3);
    hub_.lose_push_answers = false;
    ASSERT_SYNCED(*node_);
    EXPECT_EQ(node_->Status().outbox_pending, 0);
    EXPECT_EQ(hub_.applied_count["purchase.created"], 3);  // duplicates, not applied again
    json usage = hub_.Ask("GET", "/v1/members/" + member, hub_.api_key);
    EXPECT_EQ(usage["purchases"].size(), 3u);
}

TEST_F(NodeTest, PullMovesTheCursorAndARevokedCardIsRefusedOffline) {
    auto [member, card] = hub_.EnrollAtHub("f@example.jp");
    ASSERT_EQ(node_->Purchase(Sale("t-0", card, 100)).status, 201);  // the node knows the card
    hub_.pull_events.push_back({{"sequence", 1},
                                {"type", "card.revoked"},
                                {"created_at", "2026-11-30T00:00:00Z"},
                                {"data", {{"member_id", member}, {"card_number", card}}}});
    ASSERT_SYNCED(*node_);
    EXPECT_EQ(node_->Status().cursor, 1);
    hub_.down = true;
    NodeAnswer refused = node_->Purchase(Sale("t-1", card, 100));
    EXPECT_EQ(refused.status, 409) << refused.body;
    EXPECT_EQ(Body(refused)["error"]["code"], "card_revoked");
    EXPECT_EQ(node_->Status().outbox_pending, 0);
}

TEST_F(NodeTest, ARevocationListedAtBootstrapIsRefusedOffline) {
    const std::string kRevokedCard =
        "981000000000001" + std::string(1, core::LuhnCheckDigit("981000000000001"));
    hub_.revoked_at_bootstrap = json::array({kRevokedCard});
    TempDir fresh;
    auto store = NodeStore::Open((fresh.path() / "node.db").string());
    ASSERT_TRUE(store);
    Node node(**store, hub_, clock_, random_, {});
    ASSERT_TRUE(node.Start().ok());
    hub_.down = true;
    EXPECT_EQ(node.Purchase(Sale("u-1", kRevokedCard, 100)).status, 409);
}

TEST_F(NodeTest, LeasesAreKeptInStockAndOfflineEnrollmentUsesThem) {
    NodeOptions options;
    options.lease_stock = 4;
    Open(options);
    ASSERT_SYNCED(*node_);
    EXPECT_EQ(hub_.leased, 8);  // 4 member ids, 4 card numbers
    hub_.down = true;
    const std::string enroll =
        json{{"password", "correct horse 42"},
             {"profile", {{"name", "Tanaka Ichiro"}, {"email", "G@Example.jp"}}}}
            .dump();
    NodeAnswer enrolled = node_->Enroll(enroll);
    ASSERT_EQ(enrolled.status, 202) << enrolled.body;
    const std::string member_id = Body(enrolled)["member_id"];
    EXPECT_TRUE(core::IsValidMemberId(member_id));
    EXPECT_TRUE(core::IsValidCardNumber(Body(enrolled)["card"]["card_number"].get<std::string>()));
    // "Already registered?" is answered from the cache while offline.
    NodeAnswer again = node_->Enroll(enroll);
    EXPECT_EQ(again.status, 409) << again.body;
    NodeAnswer found = node_->SearchMembers(R"({"email":"g@example.jp"})");
    EXPECT_EQ(Body(found)["members"][0]["member_id"], member_id);
    hub_.down = false;
    ASSERT_SYNCED(*node_);
    EXPECT_EQ(hub_.leased, 8);  // 3 of 4 left: above half, no refill yet
    hub_.down = true;
    ASSERT_EQ(
        node_
            ->Enroll(json{{"password", "correct horse 42"}, {"profile", {{"name", "Suzuki Jiro"}}}}
                         .dump())
            .status,
        202);
    hub_.down = false;
    ASSERT_SYNCED(*node_);
    EXPECT_EQ(hub_.leased, 12);  // down to half: refilled to 4 of each
}

TEST_F(NodeTest, OfflineEnrollmentWithoutLeasesIsRefused) {
    hub_.down = true;
    NodeAnswer refused = node_->Enroll(
        json{{"password", "correct horse 42"}, {"profile", {{"name", "No Stock"}}}}.dump());
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(Body(refused)["error"]["code"], "hub_unreachable");
}

TEST_F(NodeTest, OfflineRedemptionIsOffByDefault) {
    auto [member, card] = hub_.EnrollAtHub("h@example.jp");
    ASSERT_EQ(node_->Purchase(Sale("v-0", card, 10000)).status, 201);
    hub_.down = true;
    NodeAnswer refused = node_->Redeem(
        json{{"redemption_id", "rd-1"}, {"card_number", card}, {"points", 10}}.dump());
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(Body(refused)["error"]["code"], "hub_unreachable");
}

TEST_F(NodeTest, OfflineRedemptionIsCappedPerMemberPerDay) {
    NodeOptions options;
    options.offline_redemption_cap = 100;
    Open(options);
    auto [member, card] = hub_.EnrollAtHub("i@example.jp");
    ASSERT_EQ(node_->Purchase(Sale("w-0", card, 10000)).status, 201);  // 600 points
    hub_.down = true;
    auto redeem = [&](const std::string& id, int points) {
        return node_->Redeem(
            json{{"redemption_id", id}, {"card_number", card}, {"points", points}}.dump());
    };
    NodeAnswer first = redeem("rd-1", 60);
    ASSERT_EQ(first.status, 202) << first.body;
    EXPECT_EQ(Body(first)["balance"], 540);
    NodeAnswer over = redeem("rd-2", 50);
    EXPECT_EQ(over.status, 422) << over.body;
    EXPECT_EQ(Body(over)["error"]["code"], "offline_limit");
    EXPECT_EQ(redeem("rd-1", 60).status, 200);  // the same id again: the first answer
    EXPECT_EQ(redeem("rd-3", 40).status, 202);
    clock_.now += std::chrono::hours(24);  // a new day
    EXPECT_EQ(redeem("rd-4", 100).status, 202);
    hub_.down = false;
    ASSERT_SYNCED(*node_);
    EXPECT_EQ(hub_.applied_count["points.redeemed"], 3);
    json usage = hub_.Ask("GET", "/v1/members/" + member, hub_.api_key);
    EXPECT_EQ(node_->Status().outbox_pending, 0);
}

TEST_F(NodeTest, AnOfflineSaleRetriedGetsTheSameAnswer) {
    auto [member, card] = hub_.EnrollAtHub("j@example.jp");
    hub_.down = true;
    NodeAnswer first = node_->Purchase(Sale("x-1", card, 700));
    NodeAnswer again = node_->Purchase(Sale("x-1", card, 700));
    EXPECT_EQ(first.status, 202);
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(Body(again)["points_earned"], Body(first)["points_earned"]);
    EXPECT_EQ(node_->Status().outbox_pending, 1);
}

TEST(NodeStore, ConcurrentWritesShareCommitsAndAFailingUnitIsRolledBackAlone) {
    TempDir dir;
    auto opened = NodeStore::Open((dir.path() / "node.db").string());
    ASSERT_TRUE(opened);
    NodeStore& store = **opened;
    std::vector<std::thread> threads;
    std::atomic<int> refused{0};
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 40; ++i) {
                const std::string id = "ev-" + std::to_string(t) + "-" + std::to_string(i);
                core::Status written = store.Write([&](NodeTxn& txn) -> core::Status {
                    KZ_RETURN_IF_ERROR(txn.AppendOutbox({0, id, "purchase.created", "t", "{}"}));
                    // Every tenth unit writes and then fails: none of it may stay.
                    if (i % 10 == 9) {
                        KZ_RETURN_IF_ERROR(txn.SetMeta("poison-" + id, "x"));
                        return core::MakeError(core::ErrorCode::kRuleViolation, "refused");
                    }
                    return core::Status::Ok();
                });
                if (!written.ok()) ++refused;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(refused.load(), 8 * 4);
    int64_t pending = 0;
    std::optional<std::string> poison;
    ASSERT_TRUE(store
                    .Read([&](NodeTxn& txn) -> core::Status {
                        KZ_ASSIGN_OR_RETURN(pending, txn.CountOutbox());
                        KZ_ASSIGN_OR_RETURN(poison, txn.GetMeta("poison-ev-0-9"));
                        return core::Status::Ok();
                    })
                    .ok());
    EXPECT_EQ(pending, 8 * 36);
    EXPECT_FALSE(poison.has_value());
}

}  // namespace
}  // namespace kizuna::pos
