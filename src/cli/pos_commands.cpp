#include "cli/pos_commands.hpp"

#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "cli/argument_parsers.hpp"
#include "cli/card_support.hpp"
#include "cli/client_config.hpp"
#include "cli/enrollment_form.hpp"
#include "cli/output.hpp"
#include "cli/pos_node_commands.hpp"
#include "cli/pos_session.hpp"
#include "cli/purchase_records.hpp"
#include "cli/receipt.hpp"
#include "cli/record_file.hpp"
#include "cli/reservation_commands.hpp"
#include "cli/till_commands.hpp"
#include "cli/webhook_commands.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

int UsageError(const std::string& message, const std::string& field, bool as_json) {
    return ReportError(core::MakeError(core::ErrorCode::kInvalidArgument, message, field),
                       kExitUsage, as_json);
}

core::Timestamp Now() {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

// --card N | --member ID | --card-reader R (or KIZUNA_CARD_READER), exactly one.
struct MemberChoice {
    std::string card;
    std::string member;
    std::string card_reader;
};

void AddMemberChoice(CLI::App* command, MemberChoice& choice) {
    auto* card = command->add_option("--card", choice.card,
                                     "The member's card number, or the scanned QR code");
    auto* member = command->add_option("--member", choice.member, "The member's id");
    auto* reader = AddCardReaderFlag(command, choice.card_reader);
    card->excludes(member)->excludes(reader);
    member->excludes(card)->excludes(reader);
    reader->excludes(card)->excludes(member);
}

// Puts card_number or member_id into `body`; false (after reporting) when the member cannot be
// named. A card read from the reader or scanned as a QR code is verified offline first.
bool PutMember(const MemberChoice& choice, HubClient& client, json& body, bool as_json,
               int& exit_code) {
    const std::string reader =
        choice.card.empty() && choice.member.empty() ? CardReaderSpec(choice.card_reader) : "";
    if (!choice.card.empty()) {
        auto input = CardFromInput(choice.card, "--card", client);
        if (!input) {
            exit_code = ReportCardError(input.error(), as_json);
            return false;
        }
        body["card_number"] = input->card_number;
    } else if (!choice.member.empty()) {
        body["member_id"] = choice.member;
    } else if (!reader.empty()) {
        auto record = ReadVerifiedCard(reader, client);
        if (!record) {
            exit_code = ReportCardError(record.error(), as_json);
            return false;
        }
        body["card_number"] = record->card_number;
    } else {
        exit_code = UsageError("name the member with --card NUMBER, --member ID or --card-reader",
                               "--card", as_json);
        return false;
    }
    return true;
}

// ---- configure -----------------------------------------------------------------------------

void AddConfigure(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        std::string hub, api_key, store_id, ca_cert, config;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = pos.add_subcommand("configure", "Save the hub URL and this store's API key");
    cmd->add_option("--hub", o->hub, "Hub URL, e.g. https://hub.example.jp")->required();
    cmd->add_option("--api-key", o->api_key, "The store's API key from `kizuna hub stores add`")
        ->required();
    cmd->add_option("--store-id", o->store_id, "The store's id (for rule commands)");
    cmd->add_option("--config", o->config,
                    "File to write (default $XDG_CONFIG_HOME/kizuna/pos.json)");
    AddCaCertFlag(cmd, o->ca_cert);
    AddExamples(cmd, {"kizuna pos configure --hub http://127.0.0.1:8080 --api-key sk_... "
                      "--store-id st_..."});
    OnRun(cmd, dispatcher, [o] {
        std::filesystem::path path = o->config;
        if (path.empty()) {
            auto dir = ConfigDirectory(ProcessEnvironment());
            if (!dir) return ReportError(dir.error(), kExitUsage, false);
            path = *dir / "pos.json";
        }
        auto saved = SavePosConfig(
            path,
            PosConfig{o->hub, o->api_key, o->store_id,
                      o->ca_cert.empty() ? "" : std::filesystem::absolute(o->ca_cert).string()});
        if (!saved) return ReportError(saved.error(), kExitUnreachable, false);
        std::cout << "Saved the store terminal's connection to " << path.string()
                  << " (mode 0600).\n";
        return kExitOk;
    });
}

// ---- enroll / reissue -----------------------------------------------------------------------

void AddEnroll(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        EnrollmentForm form;
        std::string card_reader;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = pos.add_subcommand("enroll", "Enroll a new member and issue a card (seed (1))");
    AddEnrollmentFlags(cmd, o->form);
    AddCardReaderFlag(cmd, o->card_reader);
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd,
                {"kizuna pos enroll --name '山田 太郎' --kana 'ヤマダ タロウ' "
                 "--email taro@example.jp --email-offers",
                 "printf 'secret-pass\\n' | kizuna pos enroll --name 'Ann Lee' "
                 "--password-stdin --json",
                 "kizuna pos enroll --name '山田 花子' --card-reader pcsc   # writes the card"});
    OnRun(cmd, dispatcher, [o] {
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        return RunEnrollment(*session.client, o->form, o->common.json,
                             CardReaderSpec(o->card_reader));
    });
}

void AddReissue(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string member_id;
        PasswordOptions password;
        std::string medium;
        std::string card_reader;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = pos.add_subcommand(
        "reissue", "Issue a new card after the member's password check; the old card is revoked");
    AddCardReaderFlag(cmd, o->card_reader);
    cmd->add_option("MEMBER_ID", o->member_id, "The member's id")->required();
    cmd->add_option("--medium", o->medium, "Card medium: chip, qr or virtual")
        ->check(CLI::IsMember({"chip", "qr", "virtual"}));
    AddPasswordFlags(cmd, o->password);
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos reissue 1234567890",
                      "printf 'secret-pass\\n' | kizuna pos reissue 1234567890 --password-stdin",
                      "kizuna pos reissue 1234567890 --card-reader pcsc   # writes a blank card"});
    OnRun(cmd, dispatcher, [o] {
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        const std::string reader = CardReaderSpec(o->card_reader);
        std::string medium = o->medium;
        if (int code = PrepareCardIssue(reader, medium, o->common.json); code != kExitOk) {
            return code;
        }
        auto password = ObtainPassword(o->password, "Member's password", false);
        if (!password) return ReportError(password.error(), kExitUsage, o->common.json);
        json body = {{"password", *password}};
        if (!medium.empty()) body["medium"] = medium;
        auto answer =
            session.client->Post("/v1/members/" + HubClient::Escape(o->member_id) + "/cards", body);
        if (answer.ok) {
            const json card = answer.body.value("card", json::object());
            if (int code = FinishCardIssue(reader, o->member_id, card, o->common.json);
                code != kExitOk) {
                return code;
            }
        }
        return PrintAnswer(answer, o->common.json, [&](const json& reply) {
            std::cout << "New card issued; the previous card no longer works.\n";
            PrintIssuedCard(o->member_id, reply.value("card", json::object()));
            if (!reader.empty()) std::cout << "Card written in " << reader << ".\n";
        });
    });
}

// ---- sale / redeem / refund -----------------------------------------------------------------

json LineJson(const core::PurchaseLine& line) {
    json j = {{"name", line.name}, {"quantity", line.quantity}, {"unit_price", line.unit_price}};
    if (!line.category.empty()) j["category"] = line.category;
    if (!line.sku.empty()) j["sku"] = line.sku;
    return j;
}

// "Purchase recorded." or, for a replay of an id already taken, says that nothing changed. A store
// node that cannot reach the hub accepts a sale, redemption or refund offline (202, "pending"):
// it is in the node's outbox, not at the hub yet, and the headline says so.
void PrintRecordedHeadline(const json& reply, const std::string& what) {
    const bool replayed = reply.value("replayed", false);
    if (reply.value("pending", false)) {
        // A replay is answered from the node's copy of its first answer, which cannot tell
        // whether a sync has since taken it to the hub: it says no more than it knows.
        std::cout << what
                  << (replayed ? " already accepted offline by the store node (same id); nothing "
                                 "changed.\n"
                               : " accepted offline by the store node; it reaches the hub at the "
                                 "next sync.\n");
    } else if (replayed) {
        std::cout << what << " already recorded (same id); nothing changed.\n";
    } else {
        std::cout << what << " recorded.\n";
    }
}

// Tells the operator how to retry safely after a failure that may have reached the hub.
int ReportWithRetryHint(const HubFailure& failure, bool as_json, const std::string& option,
                        const std::string& id) {
    const int code = ReportFailure(failure, as_json);
    if (failure.kind != FailureKind::kRefused || failure.status >= 500) {
        std::cerr << "The request may or may not have been recorded. Run the same command with "
                  << option << " " << id << " to retry safely.\n";
    }
    return code;
}

void AddSale(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        MemberChoice member;
        std::vector<std::string> items;
        std::string items_file, purchase_id, at, currency, use_points, receipt_pdf;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = pos.add_subcommand("sale", "Record a purchase and earn points (seed (3))");
    cmd->add_option("--use-points", o->use_points,
                    "Pay part of the sale with points: a number, or \"all\" the member has "
                    "(in the same transaction as the sale)");
    cmd->add_option("--receipt-pdf", o->receipt_pdf, "Also write the receipt as an 80 mm PDF");
    AddMemberChoice(cmd, o->member);
    cmd->add_option("--item", o->items,
                    "An item: \"name,category,price[,qty[,sku]]\" (price in minor units; "
                    "repeatable)");
    cmd->add_option("--items-file", o->items_file,
                    "CSV file of items (same columns, or a header naming them)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--purchase-id", o->purchase_id,
                    "Id of this purchase; reuse it to retry safely (default: a new one)");
    cmd->add_option("--at", o->at, "When it happened (default now), e.g. 2026-11-22T15:04");
    cmd->add_option("--currency", o->currency, "Currency (default: the store's)");
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos sale --card 9810123456789012 --item '緑茶,drinks,150,2' "
                      "--item 'Notebook,stationery,480'",
                      "kizuna pos sale --member 1234567890 --items-file basket.csv "
                      "--purchase-id 2026-11-22-0001",
                      "kizuna pos sale --card-reader pcsc --item 'Notebook,stationery,480'"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        std::vector<core::PurchaseLine> lines;
        for (const auto& text : o->items) {
            auto line = ParseItem(text);
            if (!line) return ReportError(line.error(), kExitUsage, js);
            lines.push_back(*line);
        }
        if (!o->items_file.empty()) {
            auto content = ReadWholeFile(o->items_file);
            if (!content) return ReportError(content.error(), kExitUnreachable, js);
            auto parsed = ParseItemsCsv(*content, "--items-file");
            if (!parsed) return ReportError(parsed.error(), kExitUsage, js);
            lines.insert(lines.end(), parsed->begin(), parsed->end());
        }
        if (lines.empty())
            return UsageError("give at least one --item or --items-file", "--item", js);
        json points_used;
        if (o->use_points == "all") {
            points_used = "all";
        } else if (!o->use_points.empty()) {
            int64_t n = -1;
            try {
                std::size_t used = 0;
                n = std::stoll(o->use_points, &used);
                if (used != o->use_points.size()) n = -1;
            } catch (const std::exception&) {
                n = -1;
            }
            if (n < 0) return UsageError("--use-points is a number or \"all\"", "--use-points", js);
            points_used = n;
        }
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        json body = {{"purchase_id", o->purchase_id.empty() ? NewClientId() : o->purchase_id}};
        int code = kExitOk;
        if (!PutMember(o->member, *session.client, body, js, code)) return code;
        if (!o->at.empty()) {
            auto at = ParseTimeArgument(o->at, "--at", Now());
            if (!at) return ReportError(at.error(), kExitUsage, js);
            body["occurred_at"] = core::FormatRfc3339(*at);
        }
        if (!o->currency.empty()) body["currency"] = o->currency;
        body["lines"] = json::array();
        for (const auto& line : lines) body["lines"].push_back(LineJson(line));
        if (!points_used.is_null()) body["points_used"] = points_used;
        body["receipt"] = true;

        const std::string id = body["purchase_id"];
        auto answer = session.client->Post("/v1/purchases", body, /*attempts=*/3);
        if (!answer.ok) return ReportWithRetryHint(answer.failure, js, "--purchase-id", id);
        if (!o->receipt_pdf.empty()) {
            auto written = WriteReceiptPdf(o->receipt_pdf, ReceiptFromAnswer(lines, answer.body));
            if (!written.ok()) return ReportError(written.error(), kExitUnreachable, js);
        }
        return PrintAnswer(answer, js, [&](const json& reply) {
            PrintRecordedHeadline(reply, "Purchase");
            if (reply.contains("amount_due")) {
                std::cout << ReceiptText(ReceiptFromAnswer(lines, reply));
                if (!o->receipt_pdf.empty()) {
                    std::cout << "Receipt PDF written to " << o->receipt_pdf << "\n";
                }
                return;
            }
            std::vector<std::pair<std::string, std::string>> out = {
                {"purchase id", JsonString(reply, "purchase_id", id)}};
            if (reply.contains("member_id"))
                out.emplace_back("member id", JsonString(reply, "member_id"));
            if (reply.contains("total")) {
                // The receipt does not name the currency; show it only when it is known.
                const std::string currency = JsonString(reply, "currency", o->currency);
                out.emplace_back("total", currency.empty()
                                              ? GroupThousands(JsonInt(reply, "total"))
                                              : FormatMoney(JsonInt(reply, "total"), currency));
            }
            out.emplace_back("points earned", GroupThousands(JsonInt(reply, "points_earned")));
            out.emplace_back("balance", reply.value("balance", json()).is_number()
                                            ? GroupThousands(JsonInt(reply, "balance")) + " points"
                                            : std::string("not known yet"));
            // A store node that could not reach the hub queued the sale (202).
            if (reply.value("pending", false)) out.emplace_back("status", "queued for the hub");
            PrintSummary(std::cout, out);
        });
    });
}

void AddRedeem(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        MemberChoice member;
        int64_t points = 0;
        std::string redemption_id;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = pos.add_subcommand("redeem", "Spend a member's points");
    AddMemberChoice(cmd, o->member);
    cmd->add_option("--points", o->points, "Points to spend")
        ->required()
        ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000'000}));
    cmd->add_option("--redemption-id", o->redemption_id,
                    "Id of this redemption; reuse it to retry safely (default: a new one)");
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos redeem --card 9810123456789012 --points 500",
                      "kizuna pos redeem --card-reader pcsc --points 500"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        const std::string id = o->redemption_id.empty() ? NewClientId() : o->redemption_id;
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        json body = {{"redemption_id", id}, {"points", o->points}};
        int code = kExitOk;
        if (!PutMember(o->member, *session.client, body, js, code)) return code;
        auto answer = session.client->Post("/v1/redemptions", body, 3);
        if (!answer.ok) return ReportWithRetryHint(answer.failure, js, "--redemption-id", id);
        return PrintAnswer(answer, js, [&](const json& reply) {
            PrintRecordedHeadline(reply, "Redemption");
            PrintSummary(std::cout,
                         {{"redemption id", JsonString(reply, "redemption_id", id)},
                          {"points spent", GroupThousands(JsonInt(reply, "points", o->points))},
                          {"balance", GroupThousands(JsonInt(reply, "balance")) + " points"}});
        });
    });
}

void AddRefund(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string purchase_id, refund_id;
        int64_t amount = 0;
        std::vector<std::string> items;
    };
    auto o = std::make_shared<Options>();
    auto* cmd =
        pos.add_subcommand("refund", "Refund all or part of a purchase; points are reversed");
    cmd->add_option("PURCHASE_ID", o->purchase_id, "The purchase to refund")->required();
    auto* amount = cmd->add_option("--amount", o->amount, "Amount to refund, in minor units")
                       ->check(CLI::PositiveNumber);
    auto* items = cmd->add_option(
        "--item", o->items,
        "A returned item: \"SKU-OR-NAME[,QTY]\" (repeatable; prefix sku: or name: to be exact)");
    amount->excludes(items);
    items->excludes(amount);
    cmd->add_option("--refund-id", o->refund_id,
                    "Id of this refund; reuse it to retry safely (default: a new one)");
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos refund 7c0e...-purchase --item '緑茶,1'",
                      "kizuna pos refund 2026-11-22-0001 --amount 480"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        const std::string id = o->refund_id.empty() ? NewClientId() : o->refund_id;
        json body = {{"refund_id", id}};
        std::vector<RefundItem> items;
        std::vector<bool> by_name;  // per item: name the line by name rather than SKU
        if (o->amount > 0) {
            body["amount"] = o->amount;
        } else if (!o->items.empty()) {
            for (const auto& text : o->items) {
                auto item = ParseRefundItem(text);
                if (!item) return ReportError(item.error(), kExitUsage, js);
                by_name.push_back(item->key.rfind("name:", 0) == 0);
                if (item->key.rfind("name:", 0) == 0)
                    item->key.erase(0, 5);
                else if (item->key.rfind("sku:", 0) == 0)
                    item->key.erase(0, 4);
                items.push_back(*item);
            }
        } else {
            return UsageError("say what to refund: --amount N or --item SKU-OR-NAME[,QTY]",
                              "--amount", js);
        }
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        const std::string path = "/v1/purchases/" + HubClient::Escape(o->purchase_id) + "/refunds";
        auto lines_json = [&] {
            json lines = json::array();
            for (std::size_t i = 0; i < items.size(); ++i) {
                lines.push_back(
                    {{by_name[i] ? "name" : "sku", items[i].key}, {"quantity", items[i].quantity}});
            }
            return lines;
        };
        if (!items.empty()) body["lines"] = lines_json();
        auto answer = session.client->Post(path, body, 3);
        // A bare key is tried as a SKU first; when the purchase has no line with that SKU the
        // hub says which line, and that key is tried as the line's name. A refused request
        // changed nothing, so the same refund id is still free.
        for (std::size_t tries = 0; !answer.ok && tries < items.size(); ++tries) {
            const std::string& field = answer.failure.field;
            if (answer.failure.code != "invalid_argument" || field.rfind("lines[", 0) != 0 ||
                field.size() < 11 || field.substr(field.size() - 5) != "].sku") {
                break;
            }
            const std::size_t index = std::stoul(field.substr(6, field.size() - 11));
            if (index >= items.size() || by_name[index]) break;
            by_name[index] = true;
            body["lines"] = lines_json();
            answer = session.client->Post(path, body, 3);
        }
        if (!answer.ok) return ReportWithRetryHint(answer.failure, js, "--refund-id", id);
        return PrintAnswer(answer, js, [&](const json& reply) {
            PrintRecordedHeadline(reply, "Refund");
            std::vector<std::pair<std::string, std::string>> out = {
                {"refund id", JsonString(reply, "refund_id", id)}};
            if (reply.contains("amount"))
                out.emplace_back("amount", GroupThousands(JsonInt(reply, "amount")));
            out.emplace_back("points reversed", GroupThousands(JsonInt(reply, "points_reversed")));
            if (JsonInt(reply, "points_unrecovered") > 0) {
                out.emplace_back("points unrecovered",
                                 GroupThousands(JsonInt(reply, "points_unrecovered")) +
                                     " (already spent by the member)");
            }
            if (JsonInt(reply, "points_expired") > 0) {
                out.emplace_back("points expired",
                                 GroupThousands(JsonInt(reply, "points_expired")) +
                                     " (expired before the refund: not taken again)");
            }
            out.emplace_back("balance", GroupThousands(JsonInt(reply, "balance")) + " points");
            PrintSummary(std::cout, out);
        });
    });
}

// ---- lookup / search ------------------------------------------------------------------------

void AddLookup(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string member_id, out, card, card_reader;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = pos.add_subcommand(
        "lookup", "Fetch a member's profile and purchases into a record file (seed (4))");
    auto* member = cmd->add_option("MEMBER_ID", o->member_id, "The member's id");
    auto* card = cmd->add_option("--card", o->card, "The member's scanned QR code");
    auto* reader = AddCardReaderFlag(cmd, o->card_reader);
    member->excludes(card)->excludes(reader);
    card->excludes(member)->excludes(reader);
    reader->excludes(member)->excludes(card);
    cmd->add_option("--out", o->out, "Customer information record file to write (JSON)");
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos lookup 1234567890 --out customer-1234567890.json",
                      "kizuna pos lookup --card-reader pcsc"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        // The card's signed record names the member: read it, check it offline.
        const std::string reader = o->member_id.empty() && o->card.empty()
                                       ? CardReaderSpec(o->card_reader)
                                       : std::string();
        if (!o->card.empty()) {
            auto input = CardFromInput(o->card, "--card", *session.client);
            if (!input) return ReportCardError(input.error(), js);
            if (!input->record) {
                return UsageError(
                    "a typed card number does not name the member: give MEMBER_ID, "
                    "the scanned QR code or --card-reader",
                    "--card", js);
            }
            o->member_id = input->record->member_id;
        } else if (!reader.empty()) {
            auto record = ReadVerifiedCard(reader, *session.client);
            if (!record) return ReportCardError(record.error(), js);
            o->member_id = record->member_id;
        }
        if (o->member_id.empty()) {
            return UsageError("name the member: MEMBER_ID, --card QR or --card-reader", "MEMBER_ID",
                              js);
        }
        auto answer = session.client->Get("/v1/members/" + HubClient::Escape(o->member_id));
        if (!answer.ok) return ReportFailure(answer.failure, js);
        if (!o->out.empty()) {
            const int written = WriteRecordFile(o->out, answer.body, js);
            if (written != kExitOk) return written;
        }
        return PrintAnswer(answer, js, [&](const json& reply) {
            const json profile = reply.value("profile", json());
            std::vector<std::pair<std::string, std::string>> out = {
                {"member id", JsonString(reply, "member_id", o->member_id)},
                {"name", profile.is_object() ? JsonString(profile, "name")
                                             : "(the member does not share the profile)"}};
            if (profile.is_object()) {
                for (const char* key : {"name_kana", "email", "phone", "postal_code", "address"}) {
                    const std::string value = JsonString(profile, key);
                    if (!value.empty()) out.emplace_back(key, value);
                }
            }
            for (const auto& b : reply.value("balances", json::array())) {
                out.emplace_back("balance", GroupThousands(JsonInt(b, "points")) + " points");
            }
            const json purchases = reply.value("purchases", json::array());
            out.emplace_back("purchases", std::to_string(purchases.size()));
            if (!o->out.empty()) out.emplace_back("record file", o->out);
            PrintSummary(std::cout, out);
            if (o->out.empty()) PrintPurchaseRecords(std::cout, purchases);
        });
    });
}

void AddSearch(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string email, phone;
    };
    auto o = std::make_shared<Options>();
    auto* cmd =
        pos.add_subcommand("search", "Is this person already registered? (by email or phone)");
    auto* email = cmd->add_option("--email", o->email, "Email address");
    auto* phone = cmd->add_option("--phone", o->phone, "Phone number");
    email->excludes(phone);
    phone->excludes(email);
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos search --email taro@example.jp",
                      "kizuna pos search --phone 090-1234-5678"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        if (o->email.empty() && o->phone.empty()) {
            return UsageError("search by --email or --phone", "--email", js);
        }
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        json body = o->email.empty() ? json{{"phone", o->phone}} : json{{"email", o->email}};
        auto answer = session.client->Post("/v1/members/search", body);
        return PrintAnswer(answer, js, [&](const json& reply) {
            const json matches = reply.value("members", json::array());
            if (matches.empty()) {
                std::cout << "Not registered.\n";
                return;
            }
            std::cout << "Already registered:\n";
            Table table({"member id", "name"});
            for (const auto& m : matches) {
                const std::string name = JsonString(m, "name");
                table.AddRow(
                    {JsonString(m, "member_id"), name.empty() ? "(profile not shared)" : name});
            }
            table.Print(std::cout);
        });
    });
}

// ---- offers ---------------------------------------------------------------------------------

void PrintOffers(const json& offers) {
    if (offers.empty()) {
        std::cout << "No offers.\n";
        return;
    }
    Table table({"from", "to", "store", "categories", "title"});
    for (const auto& offer : offers) {
        std::string categories;
        for (const auto& c : offer.value("categories", json::array())) {
            if (!categories.empty()) categories += ",";
            if (c.is_string()) categories += c.get<std::string>();
        }
        table.AddRow({LocalTime(JsonString(offer, "valid_from")),
                      LocalTime(JsonString(offer, "valid_to")),
                      JsonString(offer, "store_name", JsonString(offer, "store_id")), categories,
                      JsonString(offer, "title")});
    }
    table.Print(std::cout);
}

void AddOffer(CLI::App& pos, Dispatcher& dispatcher) {
    auto* offer = pos.add_subcommand("offer", "Register and list this store's offers (seed (5))");
    offer->require_subcommand(1);

    struct AddOptions {
        PosCommon common;
        std::string title, body, from, to;
        std::vector<std::string> categories;
        int days = 0;
    };
    auto o = std::make_shared<AddOptions>();
    auto* add = offer->add_subcommand("add", "Register a sale or recommendation");
    add->add_option("--title", o->title, "Title, e.g. 年末セール")->required();
    add->add_option("--body", o->body, "Text of the offer");
    add->add_option("--category", o->categories,
                    "Purchase category it targets (repeatable), e.g. books");
    add->add_option("--from", o->from, "Start (default now), e.g. 2026-12-01");
    auto* to = add->add_option("--to", o->to, "End (exclusive), e.g. 2026-12-31");
    auto* days = add->add_option("--days", o->days, "Length in days (default 30)")
                     ->check(CLI::Range(1, 3650));
    to->excludes(days);
    days->excludes(to);
    AddConnectionFlags(add, o->common);
    AddExamples(add,
                {"kizuna pos offer add --title '新刊フェア' --body '文庫本 ポイント2倍' "
                 "--category books --days 14",
                 "kizuna pos offer add --title 'Winter sale' --from 2026-12-01 --to 2027-01-05"});
    OnRun(add, dispatcher, [o] {
        const bool js = o->common.json;
        const core::Timestamp now = Now();
        core::Timestamp from = now;
        if (!o->from.empty()) {
            auto parsed = ParseTimeArgument(o->from, "--from", now);
            if (!parsed) return ReportError(parsed.error(), kExitUsage, js);
            from = *parsed;
        }
        core::Timestamp to = from + std::chrono::days(o->days > 0 ? o->days : 30);
        if (!o->to.empty()) {
            auto parsed = ParseTimeArgument(o->to, "--to", now);
            if (!parsed) return ReportError(parsed.error(), kExitUsage, js);
            to = *parsed;
        }
        if (!(from < to)) return UsageError("the offer must end after it starts", "--to", js);
        json body = {{"title", o->title},
                     {"body", o->body},
                     {"categories", o->categories},
                     {"valid_from", core::FormatRfc3339(from)},
                     {"valid_to", core::FormatRfc3339(to)}};
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        auto answer = session.client->Post("/v1/offers", body);
        return PrintAnswer(answer, js, [&](const json& reply) {
            std::cout << "Offer registered.\n";
            PrintSummary(std::cout, {{"offer id", JsonString(reply, "offer_id")},
                                     {"valid", LocalTime(core::FormatRfc3339(from)) + " to " +
                                                   LocalTime(core::FormatRfc3339(to))}});
        });
    });

    auto l = std::make_shared<PosCommon>();
    auto* list = offer->add_subcommand("list", "List this store's offers");
    AddConnectionFlags(list, *l);
    AddExamples(list, {"kizuna pos offer list", "kizuna pos offer list --json"});
    OnRun(list, dispatcher, [l] {
        auto session = Connect(*l);
        if (!session.client) return session.exit_code;
        auto answer = session.client->Get("/v1/offers");
        return PrintAnswer(answer, l->json, [](const json& reply) {
            PrintOffers(reply.value("offers", json::array()));
        });
    });
}

// ---- rule -----------------------------------------------------------------------------------

double MilliToNumber(int64_t milli) { return static_cast<double>(milli) / 1000.0; }

int64_t NumberToMilli(const json& value) {
    if (value.is_number_integer()) return value.get<int64_t>() * 1000;
    if (value.is_number()) return static_cast<int64_t>(std::llround(value.get<double>() * 1000.0));
    return 1000;
}

void PrintRule(const json& rule) {
    std::vector<std::pair<std::string, std::string>> out = {
        {"amount per point", GroupThousands(JsonInt(rule, "amount_per_point"))},
        {"rounding", JsonString(rule, "rounding")},
        {"validity", JsonString(rule, "validity_days") + " days"},
    };
    if (rule.contains("version")) out.emplace_back("version", JsonString(rule, "version"));
    if (rule.contains("effective_from")) {
        out.emplace_back("effective from", LocalTime(JsonString(rule, "effective_from")));
    }
    // items() refers to its object: keep the object alive for the loop.
    const json multipliers = rule.value("category_multipliers", json::object());
    for (const auto& [category, value] : multipliers.items()) {
        out.emplace_back("multiplier " + category, "x" + FormatMilli(NumberToMilli(value)));
    }
    for (const auto& window : rule.value("bonus_windows", json::array())) {
        out.emplace_back("bonus",
                         LocalTime(JsonString(window, "start")) + " to " +
                             LocalTime(JsonString(window, "end")) + " x" +
                             FormatMilli(NumberToMilli(window.value("multiplier", json(1)))));
    }
    PrintSummary(std::cout, out);
}

// The store whose rule is meant: --store-id, KIZUNA_STORE_ID or the config's store_id; without
// any of them, the store the API key belongs to (GET /v1/stores/me).
bool StorePath(const PosSession& session, bool js, std::string& path, int& code) {
    std::string store_id = session.connection.store_id.value;
    if (session.connection.store_id.empty()) {
        auto me = session.client->Get("/v1/stores/me");
        if (!me.ok) {
            code = ReportFailure(me.failure, js);
            return false;
        }
        store_id = me.body.value("store_id", std::string());
    }
    path = "/v1/stores/" + HubClient::Escape(store_id) + "/rule";
    return true;
}

void AddRule(CLI::App& pos, Dispatcher& dispatcher) {
    auto* rule = pos.add_subcommand("rule", "Show or change this store's earning rule");
    rule->require_subcommand(1);

    struct SetOptions {
        PosCommon common;
        std::optional<int64_t> amount_per_point;
        std::string rounding;
        std::vector<std::string> multipliers, bonuses;
        bool clear_multipliers = false, clear_bonuses = false;
        std::optional<int> validity_days;
    };
    auto o = std::make_shared<SetOptions>();
    auto* set = rule->add_subcommand(
        "set", "Change the earning rule; options not given keep their current value");
    set->add_option("--amount-per-point", o->amount_per_point,
                    "Currency units (minor) per point, e.g. 100")
        ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
    set->add_option("--rounding", o->rounding, "floor, ceil or nearest")
        ->check(CLI::IsMember({"floor", "ceil", "nearest"}));
    set->add_option("--multiplier", o->multipliers,
                    "Category multiplier cat=1.5 (repeatable; replaces all multipliers)");
    set->add_flag("--clear-multipliers", o->clear_multipliers, "Remove every category multiplier");
    set->add_option("--bonus", o->bonuses,
                    "Bonus window START,END,MULT (repeatable; replaces all windows)");
    set->add_flag("--clear-bonus", o->clear_bonuses, "Remove every bonus window");
    set->add_option("--validity-days", o->validity_days, "Days before earned points expire")
        ->check(CLI::Range(1, 3650));
    AddConnectionFlags(set, o->common);
    AddExamples(set, {"kizuna pos rule set --amount-per-point 100 --rounding floor "
                      "--multiplier books=2 --multiplier tea=1.5",
                      "kizuna pos rule set --bonus 2026-12-24,2026-12-26,3 --validity-days 730"});
    OnRun(set, dispatcher, [o] {
        const bool js = o->common.json;
        json multipliers = json::object();
        for (const auto& text : o->multipliers) {
            auto parsed = ParseMultiplier(text);
            if (!parsed) return ReportError(parsed.error(), kExitUsage, js);
            multipliers[parsed->first] = MilliToNumber(parsed->second);
        }
        json windows = json::array();
        for (const auto& text : o->bonuses) {
            auto parsed = ParseBonusWindow(text);
            if (!parsed) return ReportError(parsed.error(), kExitUsage, js);
            windows.push_back({{"start", core::FormatRfc3339(parsed->start)},
                               {"end", core::FormatRfc3339(parsed->end)},
                               {"multiplier", MilliToNumber(parsed->multiplier_milli)}});
        }
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        std::string path;
        int code = kExitOk;
        if (!StorePath(session, js, path, code)) return code;
        // Start from the rule in effect so that options not given keep their values.
        auto current = session.client->Get(path);
        if (!current.ok) return ReportFailure(current.failure, js);
        json rule = {
            {"amount_per_point", current.body.value("amount_per_point", json(100))},
            {"rounding", current.body.value("rounding", json("floor"))},
            {"category_multipliers", current.body.value("category_multipliers", json::object())},
            {"bonus_windows", current.body.value("bonus_windows", json::array())},
            {"validity_days", current.body.value("validity_days", json(365))},
        };
        if (o->amount_per_point) rule["amount_per_point"] = *o->amount_per_point;
        if (!o->rounding.empty()) rule["rounding"] = o->rounding;
        if (o->clear_multipliers || !o->multipliers.empty())
            rule["category_multipliers"] = multipliers;
        if (o->clear_bonuses || !o->bonuses.empty()) rule["bonus_windows"] = windows;
        if (o->validity_days) rule["validity_days"] = *o->validity_days;
        auto answer = session.client->Put(path, rule);
        return PrintAnswer(answer, js, [](const json& reply) {
            std::cout << "Earning rule updated; it applies to purchases from now on.\n";
            PrintRule(reply);
        });
    });

    auto s = std::make_shared<PosCommon>();
    auto* show = rule->add_subcommand("show", "Show the earning rule in effect");
    AddConnectionFlags(show, *s);
    AddExamples(show, {"kizuna pos rule show", "kizuna pos rule show --store-id st_... --json"});
    OnRun(show, dispatcher, [s] {
        auto session = Connect(*s);
        if (!session.client) return session.exit_code;
        std::string path;
        int code = kExitOk;
        if (!StorePath(session, s->json, path, code)) return code;
        return PrintAnswer(session.client->Get(path), s->json, PrintRule);
    });
}

}  // namespace

void AddPosCommands(CLI::App& app, Dispatcher& dispatcher) {
    auto* pos = app.add_subcommand("pos", "Store terminal: members, sales, points, offers, rules");
    pos->require_subcommand(1);
    AddConfigure(*pos, dispatcher);
    AddEnroll(*pos, dispatcher);
    AddReissue(*pos, dispatcher);
    AddSale(*pos, dispatcher);
    AddRedeem(*pos, dispatcher);
    AddRefund(*pos, dispatcher);
    AddLookup(*pos, dispatcher);
    AddSearch(*pos, dispatcher);
    AddOffer(*pos, dispatcher);
    AddRule(*pos, dispatcher);
    AddTillCommands(*pos, dispatcher);
    AddReservationCommands(*pos, dispatcher);
    AddWebhookCommands(*pos, dispatcher);
    AddPosNodeCommands(*pos, dispatcher);
}

}  // namespace kizuna::cli
