#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

using core::ErrorCode;
using AdminTest = HubTest;

NewStore Named(std::string name) {
    NewStore request;
    request.name = std::move(name);
    return request;
}

TEST_F(AdminTest, OnlyTheOperatorManagesStoresAndPrograms) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember member = MakeMember("aki");
    for (const Caller& caller : {store.caller, member.caller}) {
        auto program = hub_->admin().CreateProgram(caller, "Chain");
        ASSERT_FALSE(program.has_value());
        EXPECT_EQ(program.error().code, ErrorCode::kForbidden);
        EXPECT_EQ(hub_->admin().CreateStore(caller, Named("X")).error().code,
                  ErrorCode::kForbidden);
        EXPECT_EQ(hub_->admin().ListStores(caller).error().code, ErrorCode::kForbidden);
    }
    EXPECT_EQ(hub_->admin().ListPrograms(Caller::Anonymous()).error().code,
              ErrorCode::kUnauthenticated);
}

TEST_F(AdminTest, StoreWithoutProgramGetsItsOwnAndTheDefaultRule) {
    TestStore store = MakeStore("Shibuya Books");
    EXPECT_EQ(store.caller.role, Role::kStore);
    EXPECT_EQ(store.caller.program_id, store.store.program_id);
    auto programs = hub_->admin().ListPrograms(operator_);
    ASSERT_TRUE(programs.has_value());
    ASSERT_EQ(programs->size(), 1u);
    EXPECT_EQ(programs->front().name, "Shibuya Books");
    auto rule = hub_->rules().GetRule(store.caller, store.store.store_id);
    ASSERT_TRUE(rule.has_value());
    EXPECT_EQ(rule->amount_per_point, 100);
    EXPECT_EQ(rule->validity_days, 365);
    EXPECT_EQ(rule->version, 1);
}

TEST_F(AdminTest, StoresOfOneProgramShareTheBalance) {
    auto program = hub_->admin().CreateProgram(operator_, "Ekimae chain");
    ASSERT_TRUE(program.has_value());
    TestStore a = MakeStore("Ekimae East", program->program_id);
    TestStore b = MakeStore("Ekimae West", program->program_id);
    TestMember m = MakeMember("aki");
    Buy(a, m, "p-1", 1000);
    auto receipt = Buy(b, m, "p-2", 500);
    EXPECT_EQ(receipt.balance, 15);
    EXPECT_EQ(BalanceOf(m.member_id, program->program_id), 15);
}

TEST_F(AdminTest, UnknownProgramIsNotFoundAndBadNamesAreRefused) {
    NewStore request{"Shibuya Books", core::StoreKind::kPhysical, "pg_missing", "JPY"};
    auto r = hub_->admin().CreateStore(operator_, request);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(r.error().field, "program_id");
    auto bad = hub_->admin().CreateStore(operator_, Named(""));
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().field, "name");
    auto bad_currency = hub_->admin().CreateStore(
        operator_, {"Shop", core::StoreKind::kOnline, std::nullopt, "yen"});
    ASSERT_FALSE(bad_currency.has_value());
    EXPECT_EQ(bad_currency.error().field, "currency");
}

using RuleTest = HubTest;

TEST_F(RuleTest, OnlyTheStoreItselfOrTheOperatorChangesItsRule) {
    TestStore a = MakeStore("A");
    TestStore b = MakeStore("B");
    TestMember m = MakeMember("aki");
    core::EarningRule rule;
    rule.amount_per_point = 50;
    EXPECT_EQ(hub_->rules().SetRule(b.caller, a.store.store_id, rule).error().code,
              ErrorCode::kForbidden);
    EXPECT_EQ(hub_->rules().SetRule(m.caller, a.store.store_id, rule).error().code,
              ErrorCode::kForbidden);
    auto set = hub_->rules().SetRule(a.caller, a.store.store_id, rule);
    ASSERT_TRUE(set.has_value()) << set.error().message;
    EXPECT_EQ(set->version, 2);
    auto by_operator = hub_->rules().SetRule(operator_, a.store.store_id, rule);
    ASSERT_TRUE(by_operator.has_value());
    EXPECT_EQ(by_operator->version, 3);
    EXPECT_EQ(hub_->rules().SetRule(operator_, "st_missing", rule).error().code,
              ErrorCode::kNotFound);
    rule.amount_per_point = 0;
    auto invalid = hub_->rules().SetRule(a.caller, a.store.store_id, rule);
    ASSERT_FALSE(invalid.has_value());
    EXPECT_EQ(invalid.error().code, ErrorCode::kInvalidArgument);
    // Members may read rules.
    EXPECT_EQ(hub_->rules().GetRule(m.caller, a.store.store_id)->amount_per_point, 50);
}

TEST_F(RuleTest, PurchaseEarnsByTheRuleInEffectWhenItOccurred) {
    TestStore store = MakeStore("Shibuya Books");
    TestMember m = MakeMember("aki");
    const core::Timestamp before_change = clock_.Now();
    clock_.Advance(std::chrono::hours(1));
    core::EarningRule rule;
    rule.amount_per_point = 100;
    rule.category_multipliers_milli["books"] = 2000;
    ASSERT_TRUE(hub_->rules().SetRule(store.caller, store.store.store_id, rule).has_value());

    auto now = Buy(store, m, "p-now", 1980, "books");
    EXPECT_EQ(now.points_earned, 39);  // 1980 x 2 / 100, floor

    // An offline sale from before the change earns by the old rule.
    PurchaseRequest old;
    old.purchase_id = "p-old";
    old.member.member_id = m.member_id;
    old.occurred_at = before_change;
    old.origin = core::PurchaseOrigin::kNodeSync;
    old.lines.push_back({"Novel", "", "books", 1, 1980});
    auto receipt = hub_->points().RecordPurchase(store.caller, old);
    ASSERT_TRUE(receipt.has_value());
    EXPECT_EQ(receipt->points_earned, 19);
}

using OfferTest = HubTest;

TEST_F(OfferTest, StoresRegisterOffersMembersSeeAllCurrentStoresTheirOwn) {
    TestStore a = MakeStore("A");
    TestStore b = MakeStore("B");
    TestMember m = MakeMember("aki");
    core::Offer offer;
    offer.title = "秋の読書フェア";
    offer.body = "文庫本 2 倍ポイント";
    offer.categories = {"books"};
    offer.valid_to = clock_.Now() + std::chrono::days(7);
    auto created = hub_->offers().CreateOffer(a.caller, offer);
    ASSERT_TRUE(created.has_value()) << created.error().message;
    EXPECT_EQ(created->store_id, a.store.store_id);
    EXPECT_EQ(created->valid_from, clock_.Now());
    offer.title = "Winter sale";
    offer.valid_to = clock_.Now() + std::chrono::days(1);
    ASSERT_TRUE(hub_->offers().CreateOffer(b.caller, offer).has_value());

    EXPECT_EQ(hub_->offers().ListOffers(m.caller)->size(), 2u);
    auto own = hub_->offers().ListOffers(a.caller);
    ASSERT_EQ(own->size(), 1u);
    EXPECT_EQ(own->front().title, "秋の読書フェア");
    EXPECT_EQ(hub_->offers().ListOffers(Caller::Anonymous()).error().code,
              ErrorCode::kUnauthenticated);
    EXPECT_EQ(hub_->offers().CreateOffer(m.caller, offer).error().code, ErrorCode::kForbidden);

    clock_.Advance(std::chrono::days(2));  // the winter sale is over
    auto later = hub_->offers().ListOffers(m.caller);
    ASSERT_EQ(later->size(), 1u);
    EXPECT_EQ(later->front().store_id, a.store.store_id);
}

TEST_F(OfferTest, InvalidOfferNamesTheField) {
    TestStore a = MakeStore("A");
    core::Offer offer;
    offer.title = "Sale";
    offer.valid_to = clock_.Now() - std::chrono::days(1);
    auto r = hub_->offers().CreateOffer(a.caller, offer);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().field, "valid_to");
}

}  // namespace
}  // namespace kizuna::hub::testing
