// Webhooks on real SQLite: events recorded in the same write as the change they describe,
// deliveries queued from them past a cursor, the retry schedule from an injected clock and
// random source, signatures, replay, and pending deliveries surviving a reopened hub. The
// network is the one thing replaced: a WebhookSender that answers from a script.
#include <gtest/gtest.h>

#include <deque>

#include "../core/fake_random.hpp"
#include "crypto/crypto.hpp"
#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

using core::DeliveryStatus;
using core::ErrorCode;
using std::chrono::hours;
using std::chrono::seconds;

// Answers each POST with the next scripted status (200 once the script is used up) and keeps
// what it was sent.
class ScriptedSender final : public WebhookSender {
  public:
    explicit ScriptedSender(std::deque<int> statuses = {}) : statuses_(std::move(statuses)) {}
    WebhookResponse Post(const WebhookRequest& request) override {
        sent.push_back(request);
        WebhookResponse response;
        response.status = 200;
        if (!statuses_.empty()) {
            response.status = statuses_.front();
            statuses_.pop_front();
        }
        if (response.status == 0) response.error = "connection refused";
        return response;
    }
    std::vector<WebhookRequest> sent;

  private:
    std::deque<int> statuses_;
};

std::string HeaderOf(const WebhookRequest& request, const std::string& name) {
    for (const auto& [key, value] : request.headers) {
        if (key == name) return value;
    }
    return "";
}

class WebhookTest : public HubTest {
  protected:
    // A member enrolled by `store`, so in its program from the start.
    TestMember EnrollAt(const TestStore& store, const std::string& tag) {
        NewMember request;
        request.password = "correct horse " + tag;
        request.profile.name = "Member " + tag;
        request.profile.email = tag + "@example.jp";
        auto enrolled = hub_->members().Enroll(store.caller, request);
        EXPECT_TRUE(enrolled.has_value()) << enrolled.error().message;
        TestMember member;
        member.member_id = enrolled->member_id;
        member.card_number = enrolled->card.card.card_number;
        member.password = request.password;
        member.caller.role = Role::kMember;
        member.caller.member_id = member.member_id;
        return member;
    }
    core::Webhook Register(const TestStore& store, std::vector<std::string> events) {
        auto webhook = hub_->webhooks().Register(
            store.caller, NewWebhook{"http://127.0.0.1:9/hook", std::move(events)});
        EXPECT_TRUE(webhook.has_value()) << webhook.error().message;
        return webhook.has_value() ? *webhook : core::Webhook{};
    }
    std::vector<storage::Event> Events() {
        std::vector<storage::Event> events;
        EXPECT_TRUE(hub_->storage()
                        .Read([&](storage::ReadTxn& txn) -> core::Status {
                            KZ_ASSIGN_OR_RETURN(events, txn.EventsAfter(0, 1000));
                            return core::Status::Ok();
                        })
                        .ok());
        return events;
    }
    std::vector<std::string> EventTypes() {
        std::vector<std::string> types;
        for (const auto& e : Events()) types.push_back(e.type);
        return types;
    }
    std::vector<DeliveryView> DeliveriesOf(const TestStore& store, const core::Webhook& webhook) {
        auto list = hub_->webhooks().Deliveries(store.caller, webhook.webhook_id, 100, {});
        EXPECT_TRUE(list.has_value()) << list.error().message;
        return list.has_value() ? *list : std::vector<DeliveryView>{};
    }
    int Queue() {
        auto queued = hub_->webhooks().QueueNewEvents();
        EXPECT_TRUE(queued.has_value()) << queued.error().message;
        return queued.has_value() ? *queued : -1;
    }
    int Deliver(WebhookSender& sender) {
        auto attempted = hub_->webhooks().DeliverDue(sender);
        EXPECT_TRUE(attempted.has_value()) << attempted.error().message;
        return attempted.has_value() ? *attempted : -1;
    }
};

TEST(RetrySchedule, DoublesFromTheBaseUpToTheCapJitteredDownByAtMostHalf) {
    core::RetryPolicy policy{seconds(10), seconds(3600), hours(24)};
    // Uniform() at its lowest: the floor of each window, ceil(d / 2).
    kizuna::testing::FakeRandom low(1, std::deque<uint64_t>(20, 0));
    EXPECT_EQ(core::RetryDelay(policy, 1, low), seconds(5));
    EXPECT_EQ(core::RetryDelay(policy, 2, low), seconds(10));
    EXPECT_EQ(core::RetryDelay(policy, 3, low), seconds(20));
    EXPECT_EQ(core::RetryDelay(policy, 9, low), seconds(1280));
    EXPECT_EQ(core::RetryDelay(policy, 10, low), seconds(1800));  // 5120 capped at 3600
    EXPECT_EQ(core::RetryDelay(policy, 500, low), seconds(1800));
    // At its highest: the whole delay.
    kizuna::testing::FakeRandom high(1, std::deque<uint64_t>(20, 1'000'000'000));
    // 1e9 % (d - floor + 1): pick values that land on the top of each window.
    kizuna::testing::FakeRandom top(1, {5, 10, 1800});
    EXPECT_EQ(core::RetryDelay(policy, 1, top), seconds(10));
    EXPECT_EQ(core::RetryDelay(policy, 2, top), seconds(20));
    EXPECT_EQ(core::RetryDelay(policy, 11, top), seconds(3600));
    for (int attempts = 1; attempts < 40; ++attempts) {
        const auto d = core::RetryDelay(policy, attempts, high);
        EXPECT_GE(d, seconds(5));
        EXPECT_LE(d, seconds(3600));
    }
    // A one-second base still waits at least a second.
    core::RetryPolicy quick{seconds(1), seconds(1), hours(24)};
    EXPECT_EQ(core::RetryDelay(quick, 1, low), seconds(1));
}

TEST(RetrySchedule, ADeliveryIsDeadOnlyAfterFailingForADay) {
    core::RetryPolicy policy{seconds(10), seconds(3600), hours(24)};
    kizuna::testing::FakeRandom random;
    const core::Timestamp t0 = core::FromUnixSeconds(1795338000);
    core::WebhookDelivery d;
    d = core::AfterAttempt(d, t0, 500, "HTTP 500", policy, random);
    EXPECT_EQ(d.status, DeliveryStatus::kPending);
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.first_attempt_at, t0);
    EXPECT_GE(d.next_attempt_at, t0 + seconds(5));
    EXPECT_LE(d.next_attempt_at, t0 + seconds(10));
    d = core::AfterAttempt(d, t0 + hours(24) - seconds(1), 0, "timeout", policy, random);
    EXPECT_EQ(d.status, DeliveryStatus::kPending);
    d = core::AfterAttempt(d, t0 + hours(24), 503, "HTTP 503", policy, random);
    EXPECT_EQ(d.status, DeliveryStatus::kDead);
    EXPECT_EQ(d.attempts, 3);
    EXPECT_EQ(d.last_status, 503);
    core::WebhookDelivery ok =
        core::AfterAttempt(core::WebhookDelivery{}, t0, 204, "", policy, random);
    EXPECT_EQ(ok.status, DeliveryStatus::kDelivered);
    EXPECT_EQ(ok.delivered_at, t0);
}

TEST_F(WebhookTest, EveryChangeRecordsItsEventInTheSameWriteAndReplaysRecordNone) {
    TestStore shop = MakeStore("Ekimae Shibuya");
    TestMember m = EnrollAt(shop, "aki");
    Buy(shop, m, "p-1", 5000);
    Buy(shop, m, "p-1", 5000);  // a replay
    RedemptionRequest redeem{"rd-1", {m.member_id, ""}, 10};
    ASSERT_TRUE(hub_->points().Redeem(shop.caller, redeem).has_value());
    RedemptionRequest too_much{"rd-2", {m.member_id, ""}, 1'000'000};
    auto refused = hub_->points().Redeem(shop.caller, too_much);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::kInsufficientPoints);
    RefundRequest refund;
    refund.refund_id = "rf-1";
    refund.purchase_id = "p-1";
    refund.amount = 1000;
    ASSERT_TRUE(hub_->points().Refund(shop.caller, refund).has_value());
    ASSERT_TRUE(hub_->members()
                    .ReissueCard(shop.caller, m.member_id, m.password, core::CardMedium::kVirtual)
                    .has_value());

    EXPECT_EQ(EventTypes(),
              (std::vector<std::string>{"member.enrolled", "purchase.created", "points.redeemed",
                                        "purchase.refunded", "card.revoked", "card.reissued"}));
    for (const storage::Event& e : Events()) {
        EXPECT_EQ(e.program_id, shop.store.program_id) << e.type;
        EXPECT_EQ(e.member_id, m.member_id) << e.type;
    }
    const auto events = Events();
    EXPECT_NE(events[1].payload.find("\"purchase_id\":\"p-1\""), std::string::npos);
    EXPECT_NE(events[1].payload.find("\"points_earned\":50"), std::string::npos);
    // Sequences increase in commit order: a later pull resumes from the last one it saw.
    for (std::size_t i = 1; i < events.size(); ++i) {
        EXPECT_GT(events[i].sequence, events[i - 1].sequence);
    }
}

TEST_F(WebhookTest, ASelfServiceEnrollmentIsNoProgramsBusinessUntilTheMemberJoinsOne) {
    TestStore shop = MakeStore("Ekimae Shibuya");
    TestMember m = MakeMember("aki");  // anonymous self-service
    auto events = Events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "member.enrolled");
    EXPECT_EQ(events[0].program_id, "");
    ASSERT_TRUE(hub_->members()
                    .ReissueCard(m.caller, m.member_id, m.password, core::CardMedium::kVirtual)
                    .has_value());
    EXPECT_EQ(Events().back().program_id, "");
    Buy(shop, m, "p-1", 500);  // joins the shop's program
    ASSERT_TRUE(hub_->members()
                    .ReissueCard(m.caller, m.member_id, m.password, core::CardMedium::kVirtual)
                    .has_value());
    EXPECT_EQ(Events().back().type, "card.reissued");
    EXPECT_EQ(Events().back().program_id, shop.store.program_id);
}

TEST_F(WebhookTest, RegistrationValidatesAndShowsTheSecretOnce) {
    TestStore shop = MakeStore("Ekimae Online");
    TestMember m = MakeMember("aki");
    auto bad_url = hub_->webhooks().Register(shop.caller,
                                             NewWebhook{"ftp://example.jp/x", {"member.enrolled"}});
    ASSERT_FALSE(bad_url.has_value());
    EXPECT_EQ(bad_url.error().field, "url");
    for (const char* url : {"http://", "http://user:pw@host/x", "http://host/a b", "host/x"}) {
        auto refused = hub_->webhooks().Register(shop.caller, NewWebhook{url, {"member.enrolled"}});
        ASSERT_FALSE(refused.has_value()) << url;
        EXPECT_EQ(refused.error().field, "url") << url;
    }
    auto bad_event = hub_->webhooks().Register(
        shop.caller, NewWebhook{"https://shop.example.jp/k", {"member.enrolled", "member.gone"}});
    ASSERT_FALSE(bad_event.has_value());
    EXPECT_EQ(bad_event.error().field, "events[1]");
    auto none = hub_->webhooks().Register(shop.caller, NewWebhook{"https://shop.example.jp/k", {}});
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().field, "events");
    auto by_member =
        hub_->webhooks().Register(m.caller, NewWebhook{"https://x.jp/k", {"member.enrolled"}});
    ASSERT_FALSE(by_member.has_value());
    EXPECT_EQ(by_member.error().code, ErrorCode::kForbidden);

    core::Webhook webhook = Register(shop, {"member.enrolled"});
    EXPECT_EQ(webhook.secret.rfind("whsec_", 0), 0u);
    EXPECT_EQ(webhook.secret.size(), 6u + 64u);
    EXPECT_EQ(webhook.webhook_id.rfind("wh_", 0), 0u);
    EXPECT_NE(webhook.webhook_id.at(3), '_') << "one separator, as in st_ and pg_";
    auto listed = hub_->webhooks().List(shop.caller);
    ASSERT_TRUE(listed.has_value());
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ(listed->at(0).url, "http://127.0.0.1:9/hook");
}

TEST_F(WebhookTest, EventsAreQueuedOncePerSubscribedWebhookOfTheProgramAfterItsRegistration) {
    TestStore online = MakeStore("Ekimae Online");
    TestStore shop = MakeStore("Ekimae Shibuya", online.store.program_id);
    TestStore stranger = MakeStore("Other Chain");
    TestMember before = EnrollAt(shop, "early");  // before any webhook: nobody's
    core::Webhook enrolled = Register(online, {"member.enrolled"});
    core::Webhook purchases = Register(online, {"purchase.created"});
    core::Webhook foreign = Register(stranger, {"member.enrolled", "purchase.created"});
    TestMember m = EnrollAt(shop, "aki");
    Buy(shop, m, "p-1", 1000);
    Buy(shop, before, "p-2", 1000);

    EXPECT_EQ(Queue(), 4);
    EXPECT_EQ(Queue(), 0) << "caught up: nothing is queued twice";
    auto e = DeliveriesOf(online, enrolled);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].event_type, "member.enrolled");
    EXPECT_EQ(e[0].delivery.status, DeliveryStatus::kPending);
    EXPECT_EQ(DeliveriesOf(online, purchases).size(), 2u);
    EXPECT_TRUE(DeliveriesOf(stranger, foreign).empty());

    // A store manages only its own webhooks.
    auto peek = hub_->webhooks().Deliveries(shop.caller, enrolled.webhook_id, 10, {});
    ASSERT_FALSE(peek.has_value());
    EXPECT_EQ(peek.error().code, ErrorCode::kNotFound);
    auto replay =
        hub_->webhooks().Replay(stranger.caller, enrolled.webhook_id, e[0].delivery.delivery_id);
    ASSERT_FALSE(replay.has_value());
    EXPECT_EQ(replay.error().code, ErrorCode::kNotFound);
}

TEST_F(WebhookTest, AFailingReceiverGetsTheEventOnceItAnswers2xxSignedWithTheSecret) {
    TestStore online = MakeStore("Ekimae Online");
    TestStore shop = MakeStore("Ekimae Shibuya", online.store.program_id);
    core::Webhook webhook = Register(online, {"member.enrolled"});
    TestMember m = EnrollAt(shop, "aki");
    ASSERT_EQ(Queue(), 1);

    ScriptedSender sender({500, 0, 503});
    EXPECT_EQ(Deliver(sender), 1);
    EXPECT_EQ(Deliver(sender), 0) << "not due again before its backoff";
    for (int i = 0; i < 3; ++i) {
        clock_.Advance(std::chrono::minutes(5));
        EXPECT_EQ(Deliver(sender), 1);
    }
    clock_.Advance(std::chrono::hours(1));
    EXPECT_EQ(Deliver(sender), 0) << "delivered: never sent again";
    ASSERT_EQ(sender.sent.size(), 4u);

    auto d = DeliveriesOf(online, webhook).at(0).delivery;
    EXPECT_EQ(d.status, DeliveryStatus::kDelivered);
    EXPECT_EQ(d.attempts, 4);
    EXPECT_EQ(d.last_status, 200);

    const WebhookRequest& last = sender.sent.back();
    EXPECT_EQ(last.url, webhook.url);
    for (const WebhookRequest& sent : sender.sent) EXPECT_EQ(sent.body, last.body);
    EXPECT_EQ(last.body.rfind("{\"id\":\"evt_", 0), 0u);
    EXPECT_NE(last.body.find("\"type\":\"member.enrolled\""), std::string::npos);
    EXPECT_NE(last.body.find("\"data\":{\"member_id\":\"" + m.member_id + "\""), std::string::npos);
    const std::string signature = HeaderOf(last, "Kizuna-Signature");
    const std::string t = std::to_string(core::ToUnixSeconds(clock_.Now() - std::chrono::hours(1)));
    EXPECT_EQ(signature,
              "t=" + t + ",v1=" + crypto::HmacSha256Hex(webhook.secret, t + "." + last.body));
    EXPECT_EQ(HeaderOf(last, "Content-Type"), "application/json");
}

TEST_F(WebhookTest, ADeadDeliveryIsReplayedAsANewRound) {
    TestStore online = MakeStore("Ekimae Online");
    core::Webhook webhook = Register(online, {"member.enrolled"});
    EnrollAt(online, "aki");
    ASSERT_EQ(Queue(), 1);
    ScriptedSender down(std::deque<int>(1000, 500));
    EXPECT_EQ(Deliver(down), 1);
    for (int i = 0; i < 60; ++i) {
        clock_.Advance(std::chrono::hours(1));
        Deliver(down);
    }
    auto d = DeliveriesOf(online, webhook).at(0).delivery;
    EXPECT_EQ(d.status, DeliveryStatus::kDead);
    EXPECT_GE(*d.last_attempt_at - *d.first_attempt_at, std::chrono::hours(24));
    const std::size_t tries = down.sent.size();
    clock_.Advance(std::chrono::hours(1));
    EXPECT_EQ(Deliver(down), 0) << "dead: left alone";
    EXPECT_EQ(down.sent.size(), tries);

    auto replayed = hub_->webhooks().Replay(online.caller, webhook.webhook_id, d.delivery_id);
    ASSERT_TRUE(replayed.has_value()) << replayed.error().message;
    EXPECT_EQ(replayed->delivery.status, DeliveryStatus::kPending);
    EXPECT_EQ(replayed->event_type, "member.enrolled");
    ScriptedSender up;
    EXPECT_EQ(Deliver(up), 1);
    d = DeliveriesOf(online, webhook).at(0).delivery;
    EXPECT_EQ(d.status, DeliveryStatus::kDelivered);
    EXPECT_EQ(d.attempts, 1);
}

TEST_F(WebhookTest, PendingDeliveriesAndUnqueuedEventsSurviveAReopenedHub) {
    TestStore online = MakeStore("Ekimae Online");
    core::Webhook webhook = Register(online, {"member.enrolled", "reservation.created"});
    TestMember m = EnrollAt(online, "aki");
    ASSERT_EQ(Queue(), 1);
    ScriptedSender down({0});
    EXPECT_EQ(Deliver(down), 1);
    // An event recorded but not yet queued when the hub stops.
    ReservationRequest r;
    r.reservation_id = "r-1";
    r.member_id = m.member_id;
    r.item_name = "Notebook";
    r.pickup_at = clock_.Now() + std::chrono::hours(48);
    ASSERT_TRUE(hub_->reservations().Create(online.caller, r).has_value());

    OpenHub();  // a restart on the same data directory
    clock_.Advance(std::chrono::hours(1));
    EXPECT_EQ(Queue(), 1);
    ScriptedSender up;
    EXPECT_EQ(Deliver(up), 2);
    for (const DeliveryView& view : DeliveriesOf(online, webhook)) {
        EXPECT_EQ(view.delivery.status, DeliveryStatus::kDelivered) << view.event_type;
    }
}

}  // namespace
}  // namespace kizuna::hub::testing
