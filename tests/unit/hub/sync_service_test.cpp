// Store node sync, the hub side, on real SQLite: id leases, exactly-once push (also across a
// restart), conflicts, pull filtering and order.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/ids.hpp"
#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

using nlohmann::json;

// The hub knows no API JSON; these renderings say enough to compare answers.
const SyncRendering& TestRendering() {
    static const SyncRendering rendering{
        .purchase =
            [](const PurchaseReceipt& r) {
                return json{{"purchase_id", r.purchase_id},
                            {"points_earned", r.points_earned},
                            {"balance", r.balance}}
                    .dump();
            },
        .refund =
            [](const RefundReceipt& r) {
                return json{{"refund_id", r.refund_id}, {"balance", r.balance}}.dump();
            },
        .redemption =
            [](const RedemptionReceipt& r) {
                return json{
                    {"points", r.points}, {"balance", r.balance}, {"points_short", r.points_short}}
                    .dump();
            },
        .enrollment =
            [](const Enrollment& e) {
                return json{{"member_id", e.member_id}, {"card", e.card.card.card_number}}.dump();
            },
        .card =
            [](const IssuedCard& c) {
                return json{{"card", c.card.card_number}}.dump();
            },
        .reservation =
            [](const ReservationAnswer& a) {
                return json{{"reservation_id", a.reservation.reservation_id}}.dump();
            },
        .error =
            [](const core::Error& e) {
                return json{{"error", e.message}}.dump();
            },
        .error_status = [](const core::Error&) { return 400; },
    };
    return rendering;
}

class SyncTest : public HubTest {
  protected:
    std::vector<std::string> Lease(const TestStore& store, const std::string& kind, int count) {
        auto values = hub_->sync().Lease(store.caller, kind, count);
        EXPECT_TRUE(values.has_value()) << values.error().message;
        return values.has_value() ? *values : std::vector<std::string>{};
    }

    PushAnswer Push(const TestStore& store, std::vector<SyncEvent> events) {
        auto answer = hub_->sync().Push(store.caller, std::move(events), TestRendering());
        EXPECT_TRUE(answer.has_value()) << answer.error().message;
        return answer.has_value() ? *answer : PushAnswer{};
    }

    static std::vector<std::string> Statuses(const PushAnswer& answer) {
        std::vector<std::string> statuses;
        for (const auto& r : answer.results) statuses.push_back(r.status);
        return statuses;
    }

    SyncEvent Enrolled(const std::string& id, const std::string& member_id, const std::string& card,
                       const std::string& email) {
        OfflineEnrollment e;
        e.member.password = "correct horse battery";
        e.member.profile.name = "Offline " + id;
        e.member.profile.email = email;
        e.member_id = member_id;
        e.card_number = card;
        return SyncEvent{id, "member.enrolled", clock_.Now(), "till-1", e};
    }

    SyncEvent Sale(const std::string& id, const std::string& purchase_id, MemberRef member,
                   int64_t amount, core::Timestamp at) {
        PurchaseRequest p;
        p.purchase_id = purchase_id;
        p.member = std::move(member);
        p.occurred_at = at;
        core::PurchaseLine line;
        line.name = "item";
        line.unit_price = amount;
        p.lines = {line};
        return SyncEvent{id, "purchase.created", at, "", p};
    }

    SyncEvent Redeem(const std::string& id, const std::string& member_id, int64_t points) {
        RedemptionRequest r;
        r.redemption_id = "r-" + id;
        r.member.member_id = member_id;
        r.points = points;
        return SyncEvent{id, "points.redeemed", clock_.Now(), "", r};
    }

    // Every purchase, redemption and refund agrees with its ledger entries.
    void ExpectRecordsConsistent() {
        std::vector<std::string> problems;
        ASSERT_TRUE(hub_->storage()
                        .Read([&](storage::ReadTxn& txn) -> core::Status {
                            KZ_ASSIGN_OR_RETURN(problems, txn.CheckRecordInvariants());
                            return core::Status::Ok();
                        })
                        .ok());
        for (const auto& p : problems) ADD_FAILURE() << p;
    }

    std::vector<storage::SyncConflict> Conflicts(const Caller& caller) {
        auto list = hub_->sync().Conflicts(caller, 0, 1000);
        EXPECT_TRUE(list.has_value()) << list.error().message;
        return list.has_value() ? *list : std::vector<storage::SyncConflict>{};
    }
};

TEST_F(SyncTest, LeasesNeverOverlapAcrossStoresAndConcurrentCalls) {
    TestStore a = MakeStore("A");
    TestStore b = MakeStore("B", a.store.program_id);
    std::vector<std::vector<std::string>> got(8);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            got[t] = hub_->sync().Lease((t % 2 ? a : b).caller, "card_number", 100).value();
        });
    }
    for (auto& thread : threads) thread.join();
    std::set<std::string> all;
    for (const auto& values : got) {
        EXPECT_EQ(values.size(), 100u);
        for (const auto& v : values) {
            EXPECT_TRUE(core::IsValidCardNumber(v)) << v;
            all.insert(v);
        }
    }
    EXPECT_EQ(all.size(), 800u);
    // A leased value is the store's alone: another store cannot use it.
    std::string member_id = Lease(a, "member_id", 1).at(0);
    std::string card = Lease(a, "card_number", 1).at(0);
    auto stolen = Push(b, {Enrolled("e1", member_id, card, "x@example.jp")});
    EXPECT_EQ(Statuses(stolen), std::vector<std::string>{"rejected"});
    auto own = Push(a, {Enrolled("e1", member_id, card, "x@example.jp")});
    EXPECT_EQ(Statuses(own), std::vector<std::string>{"applied"});
    EXPECT_FALSE(hub_->sync().Lease(a.caller, "member_id", 0).has_value());
    EXPECT_FALSE(hub_->sync().Lease(a.caller, "member_id", 1001).has_value());
    EXPECT_FALSE(hub_->sync().Lease(a.caller, "coupon", 1).has_value());
}

TEST_F(SyncTest, ReplayAfterRestartAnswersDuplicateAndChangesNothing) {
    TestStore a = MakeStore("A");
    std::string member_id = Lease(a, "member_id", 1).at(0);
    std::string card = Lease(a, "card_number", 1).at(0);
    const core::Timestamp at = clock_.Now() - std::chrono::hours(2);
    std::vector<SyncEvent> events = {
        Enrolled("e1", member_id, card, "replay@example.jp"),
        Sale("e2", "p1", MemberRef{"", card}, 2500, at),
        Redeem("e3", member_id, 5),
    };
    PushAnswer first = Push(a, events);
    EXPECT_EQ(Statuses(first), (std::vector<std::string>{"applied", "applied", "applied"}));
    const int64_t balance = BalanceOf(member_id, a.store.program_id);
    EXPECT_EQ(balance, 20);

    // The node never saw the answer; the hub restarts; the node pushes again.
    OpenHub();
    PushAnswer again = Push(a, events);
    EXPECT_EQ(Statuses(again), (std::vector<std::string>{"duplicate", "duplicate", "duplicate"}));
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(again.results[i].body, first.results[i].body);
        EXPECT_EQ(again.results[i].http_status, first.results[i].http_status);
    }
    EXPECT_EQ(BalanceOf(member_id, a.store.program_id), balance);
    EXPECT_EQ(again.cursor, first.cursor);  // no event recorded by the replay

    // The sale kept the offline time on its ledger entry.
    bool found = false;
    for (const auto& entry : EntriesOf(member_id)) {
        if (entry.ref == "p1") {
            found = true;
            EXPECT_EQ(entry.occurred_at, at);
        }
    }
    EXPECT_TRUE(found);
    ExpectRecordsConsistent();
}

TEST_F(SyncTest, OverspendBooksWhatTheBalanceHoldsAndIsFlagged) {
    TestStore a = MakeStore("A");
    TestMember m = MakeMember("spender");
    Buy(a, m, "p1", 1000);  // 10 points
    PushAnswer answer = Push(a, {Redeem("o1", m.member_id, 25)});
    ASSERT_EQ(Statuses(answer), std::vector<std::string>{"flagged"});
    json body = json::parse(answer.results[0].body);
    EXPECT_EQ(body["points"], 10);
    EXPECT_EQ(body["points_short"], 15);
    EXPECT_EQ(BalanceOf(m.member_id, a.store.program_id), 0);
    // Nothing left: another offline redemption books nothing, never a negative balance.
    answer = Push(a, {Redeem("o2", m.member_id, 3)});
    ASSERT_EQ(Statuses(answer), std::vector<std::string>{"flagged"});
    EXPECT_EQ(BalanceOf(m.member_id, a.store.program_id), 0);
    auto conflicts = Conflicts(operator_);
    ASSERT_EQ(conflicts.size(), 2u);
    EXPECT_EQ(conflicts[0].kind, "overspend");
    EXPECT_EQ(conflicts[0].points_short, 15);
    EXPECT_EQ(conflicts[1].points_short, 3);
    EXPECT_EQ(conflicts[0].store_id, a.store.store_id);
    ExpectRecordsConsistent();
}

TEST_F(SyncTest, DuplicateMemberIsEnrolledAnywayAndFlagged) {
    TestStore a = MakeStore("A");
    TestStore b = MakeStore("B", a.store.program_id);
    TestMember first = MakeMember("taken", false, "03-1234-5678");
    std::string member_id = Lease(a, "member_id", 1).at(0);
    std::string card = Lease(a, "card_number", 1).at(0);
    SyncEvent event = Enrolled("d1", member_id, card, first.email);
    std::get<OfflineEnrollment>(event.request).member.profile.phone = "0312345678";
    PushAnswer answer = Push(a, {event});
    ASSERT_EQ(Statuses(answer), std::vector<std::string>{"flagged"});
    EXPECT_EQ(json::parse(answer.results[0].body)["member_id"], member_id);
    auto conflicts = Conflicts(a.caller);
    ASSERT_EQ(conflicts.size(), 1u);
    EXPECT_EQ(conflicts[0].kind, "duplicate_member");
    EXPECT_EQ(conflicts[0].member_id, member_id);
    EXPECT_EQ(conflicts[0].other_member_id, first.member_id);
    EXPECT_TRUE(Conflicts(b.caller).empty());  // a store sees its own only
}

TEST_F(SyncTest, SaleOnACardRevokedBeforeItIsBookedAndFlagged) {
    TestStore a = MakeStore("A");
    TestMember m = MakeMember("revoked");
    const core::Timestamp before = clock_.Now() - std::chrono::minutes(10);
    clock_.Advance(std::chrono::seconds(1));
    auto reissued =
        hub_->members().ReissueCard(a.caller, m.member_id, m.password, core::CardMedium::kVirtual);
    ASSERT_TRUE(reissued.has_value()) << reissued.error().message;
    clock_.Advance(std::chrono::minutes(5));
    PushAnswer answer =
        Push(a, {Sale("s1", "p-before", MemberRef{"", m.card_number}, 1000, before),
                 Sale("s2", "p-after", MemberRef{"", m.card_number}, 1000, clock_.Now())});
    EXPECT_EQ(Statuses(answer), (std::vector<std::string>{"applied", "flagged"}));
    EXPECT_EQ(BalanceOf(m.member_id, a.store.program_id), 20);
    auto conflicts = Conflicts(operator_);
    ASSERT_EQ(conflicts.size(), 1u);
    EXPECT_EQ(conflicts[0].kind, "revoked_card");
    EXPECT_EQ(conflicts[0].card_number, m.card_number);
    // The old card is in the program's revoked list a node bootstraps with.
    auto snapshot = hub_->sync().Bootstrap(a.caller);
    ASSERT_TRUE(snapshot.has_value());
    EXPECT_EQ(snapshot->revoked_cards, std::vector<std::string>{m.card_number});
}

TEST_F(SyncTest, PullShowsTheProgramInOrderWithoutTheStoresOwnSales) {
    TestStore a = MakeStore("A");
    TestStore b = MakeStore("B", a.store.program_id);
    TestStore other = MakeStore("Other");
    TestMember m = MakeMember("puller");
    const int64_t start = hub_->sync().Bootstrap(b.caller)->cursor;
    Buy(a, m, "pa", 1000);
    Buy(other, m, "po", 1000);
    Buy(b, m, "pb", 1000);

    std::vector<storage::Event> seen;
    int64_t cursor = start;
    while (true) {
        auto page = hub_->sync().Pull(b.caller, cursor, 1);
        ASSERT_TRUE(page.has_value()) << page.error().message;
        for (auto& e : page->events) {
            EXPECT_GT(e.sequence, cursor);
            seen.push_back(e);
        }
        EXPECT_GE(page->cursor, cursor);
        cursor = page->cursor;
        if (!page->more) break;
    }
    ASSERT_EQ(seen.size(), 1u);  // A's sale; not the other program's, not B's own
    EXPECT_EQ(seen[0].type, "purchase.created");
    json data = json::parse(seen[0].payload);
    EXPECT_EQ(data["purchase_id"], "pa");
    EXPECT_EQ(data["balance"], 10);
    EXPECT_FALSE(hub_->sync().Pull(b.caller, 0, 0).has_value());
    EXPECT_FALSE(hub_->sync().Pull(b.caller, 0, 1001).has_value());
    EXPECT_FALSE(hub_->sync().Pull(operator_, 0, 10).has_value());
}

}  // namespace
}  // namespace kizuna::hub::testing
