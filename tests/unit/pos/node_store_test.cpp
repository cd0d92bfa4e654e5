// NodeStore's queue (node_store.hpp): WriteAsync answers on the writer once durable, and
// WriteBehind stops queueing without end when the writer is behind. And what a member.merged pull
// does to the node's records (NodeTxn::MergeMember, CurrentMemberId).

#include "pos/node_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "storage_test_support.hpp"

namespace kizuna::pos {
namespace {

core::Status Queue(NodeTxn& txn, const std::string& id) {
    return txn.AppendOutbox({0, id, "purchase.created", "2026-12-07T17:00:00Z", "{}"});
}

int64_t Queued(NodeStore& store) {
    int64_t count = -1;
    EXPECT_TRUE(store
                    .Read([&](NodeTxn& txn) -> core::Status {
                        KZ_ASSIGN_OR_RETURN(count, txn.CountOutbox());
                        return core::Status::Ok();
                    })
                    .ok());
    return count;
}

TEST(NodeStore, WriteBehindWaitsOnceMaxBatchUnitsAreQueued) {
    storage::testing::TempDir dir;
    NodeStoreOptions options;
    options.max_batch = 2;
    auto opened = NodeStore::Open((dir.path() / "node.db").string(), options);
    ASSERT_TRUE(opened) << opened.error().message;
    NodeStore& store = **opened;

    // The writer is held inside a unit, so what comes next stays queued.
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::promise<void> holding;
    store.WriteAsync(
        [&](NodeTxn& txn) {
            holding.set_value();
            released.wait();
            return Queue(txn, "ev-held");
        },
        [](core::Status) {});
    holding.get_future().wait();
    store.WriteBehind([](NodeTxn& txn) { return Queue(txn, "ev-1"); });  // returns at once
    store.WriteBehind([](NodeTxn& txn) { return Queue(txn, "ev-2"); });  // returns at once
    std::atomic<bool> third_returned{false};
    std::thread third([&] {
        store.WriteBehind([](NodeTxn& txn) { return Queue(txn, "ev-3"); });
        third_returned = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_FALSE(third_returned.load()) << "two units were queued: the third must wait";
    release.set_value();
    third.join();
    EXPECT_TRUE(third_returned.load());
    // The third returned once its own batch was durable, after the two before it.
    EXPECT_EQ(Queued(store), 4);
}

TEST(NodeStore, WriteAsyncAnswersOnceDurableAndAFailingUnitAlone) {
    storage::testing::TempDir dir;
    auto opened = NodeStore::Open((dir.path() / "node.db").string());
    ASSERT_TRUE(opened) << opened.error().message;
    NodeStore& store = **opened;
    std::promise<core::Status> ok;
    std::promise<core::Status> failed;
    store.WriteAsync([](NodeTxn& txn) { return Queue(txn, "ev-a"); },
                     [&](core::Status s) { ok.set_value(s); });
    store.WriteAsync(
        [](NodeTxn& txn) -> core::Status {
            KZ_RETURN_IF_ERROR(Queue(txn, "ev-b"));  // written, then the unit fails
            return core::MakeError(core::ErrorCode::kRuleViolation, "refused");
        },
        [&](core::Status s) { failed.set_value(s); });
    EXPECT_TRUE(ok.get_future().get().ok());
    EXPECT_EQ(failed.get_future().get().error().code, core::ErrorCode::kRuleViolation);
    EXPECT_EQ(Queued(store), 1);
}

TEST(NodeStore, MergedMembersMapToTheEndOfTheirChainWithTheirCardsAndSales) {
    storage::testing::TempDir dir;
    auto opened = NodeStore::Open((dir.path() / "node.db").string());
    ASSERT_TRUE(opened) << opened.error().message;
    NodeStore& store = **opened;
    ASSERT_TRUE(store
                    .Write([](NodeTxn& txn) -> core::Status {
                        KZ_RETURN_IF_ERROR(txn.SetBalance("b", 40));
                        KZ_RETURN_IF_ERROR(txn.PutCard({"card-b", "b", 1, false}));
                        KZ_RETURN_IF_ERROR(txn.PutPurchase({"p-b", "b", 1000, 10, 0}));
                        KZ_RETURN_IF_ERROR(txn.PutReservation("r-b", "b", R"({"member_id":"b"})"));
                        KZ_RETURN_IF_ERROR(txn.AddRedeemedOffline("a", "2026-12-07", 20));
                        KZ_RETURN_IF_ERROR(txn.AddRedeemedOffline("b", "2026-12-07", 30));
                        // b merged into a, later a into c: b is c now.
                        KZ_RETURN_IF_ERROR(txn.MergeMember("b", "a"));
                        return txn.MergeMember("a", "c");
                    })
                    .ok());
    ASSERT_TRUE(store
                    .Read([](NodeTxn& txn) -> core::Status {
                        for (const char* id : {"a", "b", "c"}) {
                            KZ_ASSIGN_OR_RETURN(std::string now, txn.CurrentMemberId(id));
                            EXPECT_EQ(now, "c") << id;
                        }
                        KZ_ASSIGN_OR_RETURN(std::string other, txn.CurrentMemberId("d"));
                        EXPECT_EQ(other, "d");
                        KZ_ASSIGN_OR_RETURN(std::string none, txn.CurrentMemberId(""));
                        EXPECT_EQ(none, "");
                        KZ_ASSIGN_OR_RETURN(auto card, txn.FindCard("card-b"));
                        EXPECT_EQ(card.value_or(CachedCard{}).member_id, "c");
                        KZ_ASSIGN_OR_RETURN(auto purchase, txn.FindPurchase("p-b"));
                        EXPECT_EQ(purchase.value_or(NodeTxn::LocalPurchase{}).member_id, "c");
                        KZ_ASSIGN_OR_RETURN(auto reservations, txn.ReservationsOf("c"));
                        EXPECT_EQ(reservations, std::vector<std::string>{R"({"member_id":"c"})"});
                        KZ_ASSIGN_OR_RETURN(int64_t redeemed,
                                            txn.RedeemedOffline("c", "2026-12-07"));
                        EXPECT_EQ(redeemed, 50);  // one person's cap: both records' redemptions
                        KZ_ASSIGN_OR_RETURN(int64_t left, txn.RedeemedOffline("b", "2026-12-07"));
                        EXPECT_EQ(left, 0);
                        KZ_ASSIGN_OR_RETURN(auto b, txn.FindMember("b"));
                        EXPECT_TRUE(b.has_value());
                        EXPECT_FALSE(b.value_or(CachedMember{}).balance);  // went to the survivor
                        return core::Status::Ok();
                    })
                    .ok());
}

}  // namespace
}  // namespace kizuna::pos
