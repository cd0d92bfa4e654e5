// Offer dispatch in the hub with a scripted mail server: a 4xx is retried when due and sent
// once, a 5xx fails with the reply, rows a killed hub left "sending" become "unknown" and are
// never sent, and unsubscribe tokens cannot be forged. A recipient's items are written as the
// JSON text nlohmann made of them before the selection wrote it directly, and read back whole.
// The worker thread, and only it, runs at the configured nice value.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "hub/dispatch_content.hpp"
#include "hub/dispatch_worker.hpp"
#include "hub_fixture.hpp"

namespace kizuna::hub::testing {
namespace {

// Answers per recipient address from a script (then kSent), counting every attempt.
class ScriptedServer {
  public:
    void Script(const std::string& address, std::vector<mail::SendResult> answers) {
        std::lock_guard lock(mutex_);
        script_[address] = std::move(answers);
    }
    int Attempts(const std::string& address) {
        std::lock_guard lock(mutex_);
        return attempts_[address];
    }
    mail::SendOutcome Answer(const mail::MailMessage& message) {
        std::lock_guard lock(mutex_);
        ++attempts_[message.to.address];
        auto& answers = script_[message.to.address];
        mail::SendOutcome outcome;
        if (!answers.empty()) {
            outcome.result = answers.front();
            answers.erase(answers.begin());
            outcome.smtp_code = outcome.result == mail::SendResult::kTemporaryFailure ? 451 : 550;
            outcome.reason = std::to_string(outcome.smtp_code) + " scripted";
        }
        return outcome;
    }

  private:
    std::mutex mutex_;
    std::map<std::string, std::vector<mail::SendResult>> script_;
    std::map<std::string, int> attempts_;
};

class ScriptedSender final : public mail::MailSender {
  public:
    explicit ScriptedSender(ScriptedServer& server) : server_(server) {}
    mail::SendOutcome Send(const mail::MailMessage& message) override {
        return server_.Answer(message);
    }

  private:
    ScriptedServer& server_;
};

class DispatchTest : public HubTest {
  protected:
    void OpenDispatchHub(int worker_nice = DispatchOptions{}.worker_nice) {
        hub_.reset();
        HubOptions options;
        options.dispatch.worker_nice = worker_nice;
        options.data_dir = dir_;
        options.clock = &clock_;
        options.dispatch.run_worker = true;
        options.dispatch.smtp.url = "smtp://127.0.0.1:1";  // never dialled: scripted below
        options.dispatch.make_sender = [this] { return std::make_unique<ScriptedSender>(server_); };
        options.dispatch.sender = {{"Kizuna", "offers@example.jp"}, "Kizuna", "help@example.jp"};
        options.dispatch.public_url = "https://hub.example.jp";
        options.dispatch.per_second = 1000;
        options.dispatch.retry_base = std::chrono::seconds(10);
        options.dispatch.poll_interval = std::chrono::milliseconds(10);
        auto hub = Hub::Open(options);
        ASSERT_TRUE(hub.has_value()) << hub.error().message;
        hub_ = std::move(*hub);
    }

    TestMember Consenting(const std::string& tag) {
        TestMember member = MakeMember(tag);
        EXPECT_TRUE(hub_->storage()
                        .Write([&](storage::WriteTxn& txn) -> core::Status {
                            KZ_ASSIGN_OR_RETURN(auto m, txn.FindMember(member.member_id));
                            m->consents.email_offers = true;
                            m->email_confirmed = true;  // as if confirmed from the mailbox
                            return txn.UpdateMember(*m);
                        })
                        .ok());
        return member;
    }

    std::string BooksOffer(const TestStore& store) {
        core::Offer offer;
        offer.title = "本の秋フェア";
        offer.categories = {"books"};
        offer.valid_to = clock_.Now() + std::chrono::days(30);
        auto created = hub_->offers().CreateOffer(store.caller, offer);
        EXPECT_TRUE(created.has_value());
        return created->offer_id;
    }

    // Polls until `done` says so (10 s at most).
    template <typename Predicate>
    bool WaitFor(Predicate done) {
        for (int i = 0; i < 1000; ++i) {
            if (done()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    DispatchView View(const std::string& id) {
        auto view = hub_->dispatches().Get(operator_, id);
        if (!view) {
            ADD_FAILURE() << view.error().message;
            return DispatchView{};
        }
        return *view;
    }

    std::map<std::string, storage::DispatchRecipient> Rows(const std::string& id) {
        std::map<std::string, storage::DispatchRecipient> rows;
        auto page = hub_->dispatches().Recipients(operator_, id, "", 500);
        if (!page) {
            ADD_FAILURE() << page.error().message;
            return rows;
        }
        for (auto& r : page->recipients) rows[r.row.member_id] = r.row;
        return rows;
    }

    ScriptedServer server_;
};

TEST_F(DispatchTest, DeferredIsRetriedWhenDueAndSentOnceRejectedFailsWithTheReply) {
    OpenDispatchHub();
    TestStore store = MakeStore("本の森");
    BooksOffer(store);
    TestMember ok = Consenting("ok"), later = Consenting("later"), bad = Consenting("bad");
    for (auto* m : {&ok, &later, &bad}) Buy(store, *m, "p-" + m->member_id, 3000, "books");
    server_.Script(later.email, {mail::SendResult::kTemporaryFailure});
    server_.Script(bad.email, {mail::SendResult::kPermanentFailure});

    auto run = hub_->dispatches().Create(operator_, {{"email"}, false, "", 3, false});
    ASSERT_TRUE(run.has_value()) << run.error().message;
    ASSERT_TRUE(WaitFor([&] { return View(run->dispatch_id).counts.pending == 1; }));
    ASSERT_TRUE(WaitFor([&] { return View(run->dispatch_id).counts.sent == 1; }));
    // The retry is due 10 s later on the hub's clock, not before.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(server_.Attempts(later.email), 1);
    EXPECT_EQ(Rows(run->dispatch_id)[later.member_id].state, "pending");
    clock_.Advance(std::chrono::seconds(11));
    ASSERT_TRUE(WaitFor([&] { return View(run->dispatch_id).run.status == "done"; }));

    auto rows = Rows(run->dispatch_id);
    EXPECT_EQ(rows[ok.member_id].state, "sent");
    EXPECT_EQ(rows[later.member_id].state, "sent");
    EXPECT_EQ(rows[later.member_id].attempts, 2);
    EXPECT_EQ(rows[bad.member_id].state, "failed");
    EXPECT_EQ(rows[bad.member_id].reason, "550 scripted");
    EXPECT_EQ(server_.Attempts(ok.email), 1);
    EXPECT_EQ(server_.Attempts(later.email), 2);
    EXPECT_EQ(server_.Attempts(bad.email), 1);
}

TEST_F(DispatchTest, RowsLeftSendingByAKilledHubBecomeUnknownAndAreNeverSent) {
    TestStore store = MakeStore("本の森");
    const std::string offer_id = BooksOffer(store);
    TestMember member = Consenting("inflight");
    // What a hub killed between the claim and the server's answer leaves behind.
    storage::DispatchRun run;
    run.dispatch_id = "dsp_killed";
    run.status = "running";
    run.channels = {"email"};
    run.created_by = "operator";
    run.created_at = run.updated_at = clock_.Now();
    storage::DispatchRecipient row{run.dispatch_id,
                                   member.member_id,
                                   "email",
                                   "sending",
                                   "[{\"kind\":\"offer\",\"offer_id\":\"" + offer_id + "\"}]",
                                   1,
                                   clock_.Now(),
                                   clock_.Now(),
                                   ""};
    ASSERT_TRUE(hub_->storage()
                    .Write([&](storage::WriteTxn& txn) -> core::Status {
                        KZ_RETURN_IF_ERROR(txn.InsertDispatch(run));
                        return txn.InsertDispatchRecipient(row);
                    })
                    .ok());
    OpenDispatchHub();  // the restart
    ASSERT_TRUE(WaitFor([&] { return View(run.dispatch_id).run.status == "done"; }));
    EXPECT_EQ(Rows(run.dispatch_id)[member.member_id].state, "unknown");
    EXPECT_EQ(View(run.dispatch_id).counts.unknown, 1);
    EXPECT_EQ(server_.Attempts(member.email), 0);
    // Its offer counts as sent: a new run does not choose it for the member again.
    Buy(store, member, "p-again", 3000, "books");
    auto again = hub_->dispatches().Create(operator_, {{"email"}, false, "", 3, false});
    ASSERT_TRUE(again.has_value());
    ASSERT_TRUE(WaitFor([&] { return View(again->dispatch_id).run.status == "done"; }));
    EXPECT_EQ(View(again->dispatch_id).counts.selected, 0);
    EXPECT_EQ(server_.Attempts(member.email), 0);
}

TEST_F(DispatchTest, UnsubscribeTokensTurnTheConsentOffAndCannotBeForged) {
    OpenDispatchHub();
    TestMember member = Consenting("leaver");
    DispatchService& dispatches = hub_->dispatches();
    const std::string token = dispatches.UnsubscribeToken(member.member_id, "email");
    EXPECT_EQ(dispatches.UnsubscribeUrl(member.member_id, "email"),
              "https://hub.example.jp/v1/unsubscribe?token=" + token);
    std::string forged = token;
    forged.back() = forged.back() == '0' ? '1' : '0';
    EXPECT_EQ(dispatches.Unsubscribe(forged).error().code, core::ErrorCode::kNotFound);
    // The same mac with another member or channel is refused too.
    std::string other = token;
    other.replace(other.find(".email."), 7, ".print.");
    EXPECT_EQ(dispatches.Unsubscribe(other).error().code, core::ErrorCode::kNotFound);
    EXPECT_EQ(dispatches.Unsubscribe("").error().code, core::ErrorCode::kNotFound);

    auto channel = dispatches.Unsubscribe(token);
    ASSERT_TRUE(channel.has_value());
    EXPECT_EQ(*channel, "email");
    EXPECT_TRUE(dispatches.Unsubscribe(token).has_value());  // again: the same answer
    ASSERT_TRUE(hub_->storage()
                    .Read([&](storage::ReadTxn& txn) -> core::Status {
                        KZ_ASSIGN_OR_RETURN(auto m, txn.FindMember(member.member_id));
                        EXPECT_FALSE(m->consents.email_offers);
                        return core::Status::Ok();
                    })
                    .ok());
}

TEST_F(DispatchTest, UnsubscribeLinkOfAMemberMergedAwayTurnsTheSurvivorsConsentOff) {
    OpenDispatchHub();
    TestMember survivor = Consenting("survivor");
    TestMember twin = Consenting("twin");
    const std::string token = hub_->dispatches().UnsubscribeToken(twin.member_id, "email");
    auto merged = hub_->merges().Merge(operator_, survivor.member_id, twin.member_id, true);
    ASSERT_TRUE(merged.has_value()) << merged.error().message;
    ASSERT_TRUE(hub_->dispatches().Unsubscribe(token).has_value());
    ASSERT_TRUE(hub_->storage()
                    .Read([&](storage::ReadTxn& txn) -> core::Status {
                        KZ_ASSIGN_OR_RETURN(auto m, txn.FindMember(survivor.member_id));
                        EXPECT_FALSE(m->consents.email_offers);
                        return core::Status::Ok();
                    })
                    .ok());
}

// The nice value of every live thread of this process named `name` (Linux: per thread).
std::vector<int> NiceOfThreads(const std::string& name) {
    std::vector<int> nices;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::string comm;
        std::getline(std::ifstream(task.path() / "comm"), comm);
        if (comm != name) continue;
        errno = 0;
        const int nice =
            getpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(task.path().filename())));
        if (errno == 0) nices.push_back(nice);
    }
    return nices;
}

TEST_F(DispatchTest, TheWorkerThreadAloneRunsAtTheConfiguredNice) {
    errno = 0;
    const int own = getpriority(PRIO_PROCESS, 0);
    ASSERT_EQ(errno, 0);
    ASSERT_LT(own, 7) << "the test must start below the nice it checks";
    OpenDispatchHub(7);
    EXPECT_TRUE(WaitFor([] { return NiceOfThreads("kz-dispatch") == std::vector<int>{7}; }))
        << "kz-dispatch threads' nice values: "
        << ::testing::PrintToString(NiceOfThreads("kz-dispatch"));
    // The rest of the process, this thread and the storage writer among them, is left alone.
    EXPECT_EQ(getpriority(PRIO_PROCESS, 0), own);
    for (int nice : NiceOfThreads("kz-writer")) EXPECT_EQ(nice, own);
    // The default: the lowest priority there is.
    EXPECT_EQ(DispatchOptions{}.worker_nice, 19);
}

TEST(DispatchBusyShare, PausesOnlyWhileOthersWriteSoTheRunTakesItsShare) {
    using std::chrono::milliseconds;
    // Nobody else wrote (a step's own units): no pause, an idle hub runs the dispatch flat out.
    EXPECT_EQ(PauseForBusyShare(milliseconds(40), 0, 0.5), milliseconds(0));
    EXPECT_EQ(PauseForBusyShare(milliseconds(40), 8, 0.5), milliseconds(0));
    // Purchases beside the step: half the time at 0.5, a quarter at 0.25 (pause 3x the step).
    EXPECT_EQ(PauseForBusyShare(milliseconds(40), 500, 0.5), milliseconds(40));
    EXPECT_EQ(PauseForBusyShare(milliseconds(40), 500, 0.25), milliseconds(120));
    // Share 1 never pauses; a long step's pause is capped at a second.
    EXPECT_EQ(PauseForBusyShare(milliseconds(40), 500, 1.0), milliseconds(0));
    EXPECT_EQ(PauseForBusyShare(std::chrono::seconds(5), 500, 0.5), std::chrono::seconds(1));
}

TEST(DispatchItemsJson, IsTheTextNlohmannMadeAndReadsBackWhole) {
    DispatchItem offer;
    offer.kind = "offer";
    offer.offer_id = "off_1";
    offer.title = "秋の\"読書\"フェア \\ 20%\tオフ\n\x01\x1f\x7f";
    offer.store_id = "sto_1";
    offer.store_name = "渋谷ブックス";
    offer.program_id = "prg_1";
    offer.program_name = "駅前チェーン";
    offer.valid_to = core::FromUnixSeconds(1798675200);
    offer.reasons = {{core::ReasonKind::kCategoryBought, "books", 4, 90, 0},
                     {core::ReasonKind::kStoreVisited, "sto_1", 2, 30, 0}};
    offer.explanation_en = "bought books 4 times in 90 days";
    offer.explanation_ja = "90日間に「books」を4回購入";
    DispatchItem notice;
    notice.kind = "expiry_notice";
    notice.program_id = "prg_1";
    notice.program_name = "駅前チェーン";
    notice.points = 1200;
    notice.expires_at = core::FromUnixSeconds(1790000000);
    notice.reasons = {{core::ReasonKind::kPointsExpiring, "prg_1", 0, 14, 1200}};
    for (double score : {0.0, 1.0, 1.5, 0.1, 2.75, 1e6, 1e-7, 123456789.125}) {
        offer.score = score;
        const std::vector<DispatchItem> items = {offer, notice};
        const std::string text = ItemsToJson(items);
        EXPECT_EQ(text, ItemsToJsonThroughNlohmann(items)) << "score " << score;
        auto back = ItemsFromJson(text);
        ASSERT_TRUE(back.has_value()) << text;
        ASSERT_EQ(back->size(), 2u);
        const DispatchItem& o = (*back)[0];
        EXPECT_EQ(o.title, offer.title);
        EXPECT_EQ(o.store_name, offer.store_name);
        EXPECT_EQ(o.score, score);
        EXPECT_EQ(o.valid_to, offer.valid_to);
        EXPECT_EQ(o.reasons, offer.reasons);
        EXPECT_EQ(o.explanation_ja, offer.explanation_ja);
        const DispatchItem& n = (*back)[1];
        EXPECT_EQ(n.kind, "expiry_notice");
        EXPECT_EQ(n.points, 1200);
        EXPECT_EQ(n.expires_at, notice.expires_at);
        EXPECT_EQ(n.reasons, notice.reasons);
    }
    EXPECT_EQ(ItemsToJson({}), "[]");
    // Bytes that are not UTF-8 are replaced (U+FFFD) as nlohmann's replacing dump would.
    offer.title = std::string("bad \xff\xfe bytes");
    EXPECT_EQ(ItemsToJson({offer}), ItemsToJsonThroughNlohmann({offer}));
    EXPECT_TRUE(ItemsFromJson(ItemsToJson({offer})).has_value());
}

}  // namespace
}  // namespace kizuna::hub::testing
