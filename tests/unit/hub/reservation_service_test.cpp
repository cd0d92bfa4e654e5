// Reservations on real SQLite: idempotency per creator, visibility by program, status
// transitions, validation, and the event written in the same unit of work as the change.
#include <gtest/gtest.h>

#include "core/ids.hpp"
#include "crypto/crypto.hpp"
#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

using core::ErrorCode;
using core::ReservationStatus;
using ReservationTest = HubTest;

ReservationRequest Book(const std::string& id, const TestMember& member,
                        const std::string& store_id = "") {
    ReservationRequest r;
    r.reservation_id = id;
    r.member_id = member.member_id;
    r.store_id = store_id;
    r.item_name = "新刊 上巻";
    r.item_sku = "978-4-00-000001";
    r.quantity = 2;
    r.pickup_at = core::FromUnixSeconds(1795338000 + 3 * 86400);  // 3 days after the clock starts
    return r;
}

class ReservationsTest : public ReservationTest {
  protected:
    // The reservation events recorded so far (MakeMember's enrollments record theirs too).
    std::vector<storage::Event> Events() {
        std::vector<storage::Event> events;
        EXPECT_TRUE(hub_->storage()
                        .Read([&](storage::ReadTxn& txn) -> core::Status {
                            KZ_ASSIGN_OR_RETURN(events, txn.EventsAfter(0, 1000));
                            return core::Status::Ok();
                        })
                        .ok());
        std::erase_if(events,
                      [](const storage::Event& e) { return e.type.rfind("reservation.", 0) != 0; });
        return events;
    }
    std::vector<core::Reservation> ListAs(const Caller& caller, const std::string& member_id) {
        auto list = hub_->reservations().List(caller, member_id, 100);
        EXPECT_TRUE(list.has_value()) << list.error().message;
        return list.has_value() ? *list : std::vector<core::Reservation>{};
    }
};

TEST_F(ReservationsTest, OnlineReservationShowsAtThePhysicalStoreOfTheProgramOnly) {
    TestStore online = MakeStore("Ekimae Online");
    TestStore shop = MakeStore("Ekimae Shibuya", online.store.program_id);
    TestStore stranger = MakeStore("Other Chain");
    TestMember m = MakeMember("aki");

    // The online shop reserves for pickup at the physical shop.
    auto made = hub_->reservations().Create(online.caller, Book("r-1", m, shop.store.store_id));
    ASSERT_TRUE(made.has_value()) << made.error().message;
    EXPECT_FALSE(made->replayed);
    EXPECT_EQ(made->reservation.status, ReservationStatus::kReserved);
    EXPECT_EQ(made->reservation.program_id, online.store.program_id);
    EXPECT_EQ(made->reservation.created_by, "store:" + online.store.store_id);

    auto at_shop = ListAs(shop.caller, m.member_id);
    ASSERT_EQ(at_shop.size(), 1u);
    EXPECT_EQ(at_shop[0].reservation_id, "r-1");
    EXPECT_EQ(at_shop[0].item_name, "新刊 上巻");
    EXPECT_EQ(at_shop[0].quantity, 2);
    EXPECT_TRUE(ListAs(stranger.caller, m.member_id).empty());
    EXPECT_EQ(ListAs(m.caller, "").size(), 1u);

    // And the other way round: the shop marks it picked up, the online shop sees that.
    auto picked =
        hub_->reservations().UpdateStatus(shop.caller, "r-1", "", ReservationStatus::kPickedUp);
    ASSERT_TRUE(picked.has_value()) << picked.error().message;
    EXPECT_EQ(ListAs(online.caller, m.member_id).at(0).status, ReservationStatus::kPickedUp);
    // Another program's store can neither see nor change it.
    auto foreign = hub_->reservations().UpdateStatus(stranger.caller, "r-1", "",
                                                     ReservationStatus::kCancelled);
    ASSERT_FALSE(foreign.has_value());
    EXPECT_EQ(foreign.error().code, ErrorCode::kNotFound);
}

TEST_F(ReservationsTest, SameIdSameBodyAnswersTheFirstReservationAndAnotherBodyConflicts) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    auto first = hub_->reservations().Create(store.caller, Book("r-1", m));
    ASSERT_TRUE(first.has_value()) << first.error().message;
    clock_.Advance(std::chrono::minutes(5));
    auto again = hub_->reservations().Create(store.caller, Book("r-1", m));
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_TRUE(again->replayed);
    EXPECT_EQ(again->reservation.created_at, first->reservation.created_at);

    ReservationRequest other = Book("r-1", m);
    other.quantity = 3;
    auto conflict = hub_->reservations().Create(store.caller, other);
    ASSERT_FALSE(conflict.has_value());
    EXPECT_EQ(conflict.error().code, ErrorCode::kIdempotencyConflict);
    EXPECT_EQ(conflict.error().field, "reservation_id");
    EXPECT_EQ(ListAs(store.caller, m.member_id).size(), 1u);
    EXPECT_EQ(Events().size(), 1u) << "a replay or a conflict records no event";
}

TEST_F(ReservationsTest, IdsAreScopedToTheCreatingStore) {
    TestStore a = MakeStore("Ekimae A");
    TestStore b = MakeStore("Ekimae B", a.store.program_id);
    TestMember m = MakeMember("aki");
    ASSERT_TRUE(hub_->reservations().Create(a.caller, Book("r-1", m)).has_value());
    ReservationRequest other = Book("r-1", m);
    other.item_name = "Notebook";
    auto second = hub_->reservations().Create(b.caller, other);
    ASSERT_TRUE(second.has_value()) << second.error().message;
    EXPECT_FALSE(second->replayed);
    EXPECT_EQ(ListAs(a.caller, m.member_id).size(), 2u);

    // Both share the id: a change must say whose.
    auto ambiguous =
        hub_->reservations().UpdateStatus(a.caller, "r-1", "", ReservationStatus::kCancelled);
    ASSERT_FALSE(ambiguous.has_value());
    EXPECT_EQ(ambiguous.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(ambiguous.error().field, "created_by");
    auto named = hub_->reservations().UpdateStatus(a.caller, "r-1", "store:" + b.store.store_id,
                                                   ReservationStatus::kCancelled);
    ASSERT_TRUE(named.has_value()) << named.error().message;
    EXPECT_EQ(named->reservation.item_name, "Notebook");
}

TEST_F(ReservationsTest, StatusMovesOnlyOutOfReserved) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    ASSERT_TRUE(hub_->reservations().Create(store.caller, Book("r-1", m)).has_value());
    auto picked =
        hub_->reservations().UpdateStatus(store.caller, "r-1", "", ReservationStatus::kPickedUp);
    ASSERT_TRUE(picked.has_value()) << picked.error().message;
    EXPECT_FALSE(picked->replayed);
    EXPECT_EQ(picked->reservation.updated_by, "store:" + store.store.store_id);

    auto again =
        hub_->reservations().UpdateStatus(store.caller, "r-1", "", ReservationStatus::kPickedUp);
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(again->replayed) << "a retried PATCH changes nothing";

    for (auto to : {ReservationStatus::kCancelled, ReservationStatus::kReserved}) {
        auto refused = hub_->reservations().UpdateStatus(store.caller, "r-1", "", to);
        ASSERT_FALSE(refused.has_value());
        EXPECT_EQ(refused.error().code, ErrorCode::kRuleViolation);
        EXPECT_EQ(refused.error().field, "status");
    }
    auto events = Events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].type, "reservation.created");
    EXPECT_EQ(events[1].type, "reservation.updated");
    EXPECT_NE(events[1].payload.find("\"status\":\"picked_up\""), std::string::npos);
}

TEST_F(ReservationsTest, AMemberReservesAndCancelsTheirOwnButDoesNotPickUp) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    TestMember other = MakeMember("ben");
    ReservationRequest mine = Book("r-1", m, store.store.store_id);
    mine.member_id.clear();  // themself
    auto made = hub_->reservations().Create(m.caller, mine);
    ASSERT_TRUE(made.has_value()) << made.error().message;
    EXPECT_EQ(made->reservation.member_id, m.member_id);
    EXPECT_EQ(made->reservation.created_by, "member:" + m.member_id);
    EXPECT_EQ(ListAs(store.caller, m.member_id).size(), 1u) << "the store sees it";

    auto for_other =
        hub_->reservations().Create(m.caller, Book("r-2", other, store.store.store_id));
    ASSERT_FALSE(for_other.has_value());
    EXPECT_EQ(for_other.error().code, ErrorCode::kForbidden);
    auto list_other = hub_->reservations().List(m.caller, other.member_id, 10);
    ASSERT_FALSE(list_other.has_value());
    EXPECT_EQ(list_other.error().code, ErrorCode::kForbidden);
    auto hidden =
        hub_->reservations().UpdateStatus(other.caller, "r-1", "", ReservationStatus::kCancelled);
    ASSERT_FALSE(hidden.has_value());
    EXPECT_EQ(hidden.error().code, ErrorCode::kNotFound);

    auto pick =
        hub_->reservations().UpdateStatus(m.caller, "r-1", "", ReservationStatus::kPickedUp);
    ASSERT_FALSE(pick.has_value());
    EXPECT_EQ(pick.error().code, ErrorCode::kForbidden);
    auto cancel =
        hub_->reservations().UpdateStatus(m.caller, "r-1", "", ReservationStatus::kCancelled);
    ASSERT_TRUE(cancel.has_value()) << cancel.error().message;
    EXPECT_EQ(cancel->reservation.status, ReservationStatus::kCancelled);
}

TEST_F(ReservationsTest, BadInputIsRefusedNamingTheFieldBeforeStorage) {
    TestStore store = MakeStore("Shibuya Books");
    TestStore stranger = MakeStore("Other Chain");
    TestMember m = MakeMember("aki");
    auto expect_field = [&](ReservationRequest r, ErrorCode code, const std::string& field) {
        auto made = hub_->reservations().Create(store.caller, r);
        ASSERT_FALSE(made.has_value()) << field;
        EXPECT_EQ(made.error().code, code) << field;
        EXPECT_EQ(made.error().field, field);
    };
    ReservationRequest r = Book("r-1", m);
    r.quantity = 0;
    expect_field(r, ErrorCode::kInvalidArgument, "quantity");
    r.quantity = core::kMaxReservationQuantity + 1;
    expect_field(r, ErrorCode::kInvalidArgument, "quantity");
    r = Book("r-1", m);
    r.item_name = "";
    expect_field(r, ErrorCode::kInvalidArgument, "item.name");
    r.item_name = "bad\x01name";
    expect_field(r, ErrorCode::kInvalidArgument, "item.name");
    r.item_name = std::string(201, 'x');
    expect_field(r, ErrorCode::kInvalidArgument, "item.name");
    r = Book("r-1", m);
    r.item_sku = "a\nb";
    expect_field(r, ErrorCode::kInvalidArgument, "item.sku");
    r = Book("r-1", m);
    r.pickup_at = core::FromUnixSeconds(-1);
    expect_field(r, ErrorCode::kInvalidArgument, "pickup_at");
    r.pickup_at = core::FromUnixSeconds(253402300800);  // 10000-01-01
    expect_field(r, ErrorCode::kInvalidArgument, "pickup_at");
    r = Book("bad id with spaces", m);
    expect_field(r, ErrorCode::kInvalidArgument, "reservation_id");
    r = Book("r-1", m);
    r.member_id = "123";
    expect_field(r, ErrorCode::kInvalidArgument, "member_id");
    // Another program's store is reported as missing.
    expect_field(Book("r-1", m, stranger.store.store_id), ErrorCode::kNotFound, "store_id");
    EXPECT_TRUE(Events().empty());
    EXPECT_TRUE(ListAs(store.caller, m.member_id).empty());
}

TEST_F(ReservationsTest, TheEventIsWrittenWithTheReservationAndNamesItsProgram) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    auto made = hub_->reservations().Create(store.caller, Book("r-1", m));
    ASSERT_TRUE(made.has_value());
    auto events = Events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "reservation.created");
    EXPECT_EQ(events[0].program_id, store.store.program_id);
    EXPECT_EQ(events[0].member_id, m.member_id);
    EXPECT_NE(events[0].payload.find("\"reservation_id\":\"r-1\""), std::string::npos);
    EXPECT_NE(events[0].payload.find("新刊 上巻"), std::string::npos);

    // A refused reservation (no such member) records nothing.
    crypto::SystemRandom random;
    TestMember nobody;
    nobody.member_id = core::NewMemberId(random);
    auto unknown = hub_->reservations().Create(store.caller, Book("r-2", nobody));
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(Events().size(), 1u);
}

}  // namespace
}  // namespace kizuna::hub::testing
