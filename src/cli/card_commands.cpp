#include "cli/card_commands.hpp"

#include <iostream>
#include <memory>

#include "card/apdu.hpp"
#include "card/card_pdf.hpp"
#include "card/card_protocol.hpp"
#include "card/card_reader.hpp"
#include "card/qr_code.hpp"
#include "cli/card_support.hpp"
#include "cli/client_config.hpp"
#include "cli/output.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

json RecordJson(const core::CardRecord& record) {
    return {{"card_number", record.card_number},
            {"member_id", record.member_id},
            {"generation", record.generation},
            {"issued_at", core::FormatRfc3339(record.issued_at)},
            {"issuing_store", record.issuing_store}};
}

// The hub whose card key checks a card: --hub, KIZUNA_HUB, the store terminal's config.
std::unique_ptr<HubClient> KeyClient(const std::string& hub_flag, const std::string& ca_cert) {
    PosConnectionFlags flags;
    flags.hub = hub_flag;
    flags.ca_cert = ca_cert;
    auto connection = ResolvePosConnection(flags, ProcessEnvironment());
    if (!connection) return nullptr;
    return std::make_unique<HubClient>(HubClientOptions{
        .base_url = connection->hub.value, .token = {}, .ca_cert = connection->ca_cert.value});
}

void AddWait(CLI::App& card, Dispatcher& dispatcher) {
    struct Options {
        std::string reader;
        bool absent = false;
        int timeout = 30;
        bool json = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd =
        card.add_subcommand("wait", "List the readers and wait for a card (or its removal)");
    AddCardReaderFlag(cmd, o->reader);
    cmd->add_flag("--absent", o->absent, "Wait until the reader is empty instead");
    cmd->add_option("--timeout", o->timeout, "Seconds to wait (default 30)")
        ->check(CLI::Range(0, 3600));
    AddJsonFlag(cmd, o->json);
    AddExamples(cmd, {"kizuna card wait", "kizuna card wait --card-reader 'pcsc:Omnikey'",
                      "kizuna card wait --absent --timeout 10"});
    OnRun(cmd, dispatcher, [o] {
        auto reader = card::OpenCardReader(CardReaderSpec(o->reader, "pcsc"));
        if (!reader) return ReportCardError(reader.error(), o->json);
        auto readers = (*reader)->ListReaders();
        if (!readers) return ReportCardError(readers.error(), o->json);
        if (!o->json) {
            std::cout << "Readers:\n";
            for (const auto& name : *readers) std::cout << "  " << name << "\n";
        }
        const auto want = o->absent ? card::CardPresence::kAbsent : card::CardPresence::kPresent;
        auto waited = (*reader)->WaitFor(want, std::chrono::seconds(o->timeout));
        if (!waited) return ReportCardError(waited.error(), o->json);
        if (o->json) {
            PrintJson(std::cout, {{"readers", *readers},
                                  {"reader", (*reader)->Name()},
                                  {"card", o->absent ? "absent" : "present"}});
        } else {
            std::cout << (o->absent ? "The reader is empty: " : "A card is in ")
                      << (*reader)->Name() << "\n";
        }
        return kExitOk;
    });
}

void AddRead(CLI::App& card, Dispatcher& dispatcher) {
    struct Options {
        std::string reader, hub, ca_cert;
        bool json = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = card.add_subcommand(
        "read", "Show what the card in the reader holds and whether its signature verifies");
    AddCardReaderFlag(cmd, o->reader);
    cmd->add_option("--hub", o->hub,
                    "Hub whose card key verifies the card (env KIZUNA_HUB; default: the store "
                    "terminal's)");
    AddCaCertFlag(cmd, o->ca_cert);
    AddJsonFlag(cmd, o->json);
    AddExamples(cmd, {"kizuna card read", "kizuna card read --card-reader file:card.img --json"});
    OnRun(cmd, dispatcher, [o] {
        auto reader = card::OpenCardReader(CardReaderSpec(o->reader, "pcsc"));
        if (!reader) return ReportCardError(reader.error(), o->json);
        auto contents = card::CardProtocol(**reader).ReadContents();
        if (!contents) return ReportCardError(contents.error(), o->json);
        json out = {{"reader", contents->reader},
                    {"atr", card::ToHex(contents->atr)},
                    {"records", contents->records.size()},
                    {"capacity", contents->capacity}};
        int exit_code = kExitOk;
        std::string verdict = "blank card: nothing to verify";
        if (!contents->records.empty()) {
            const std::string& latest = contents->records.back();
            out["record"] =
                std::string(core::kCardRecordTextPrefix) + core::Base64UrlEncode(latest);
            auto decoded = core::DecodeCardRecord(latest);
            if (!decoded) {
                verdict = "REFUSED: the record is malformed (" + decoded.error().message + ")";
                out["verified"] = false;
                exit_code = kExitRefused;
            } else {
                out["card"] = RecordJson(*decoded);
                auto client = KeyClient(o->hub, o->ca_cert);
                auto verifier = client ? CardVerifierFor(*client)
                                       : core::Result<card::CardVerifier>(core::MakeError(
                                             core::ErrorCode::kUnavailable, "no hub configured"));
                if (!verifier) {
                    verdict = "not checked: " + verifier.error().message;
                } else if (auto verified = verifier->Verify(*decoded); !verified) {
                    verdict = "REFUSED: " + verified.error().message;
                    out["verified"] = false;
                    exit_code = kExitRefused;
                } else {
                    verdict = "genuine: signed by the hub's card key";
                    out["verified"] = true;
                }
            }
        }
        out["signature"] = verdict;
        if (o->json) {
            PrintJson(std::cout, out);
            return exit_code;
        }
        std::vector<std::pair<std::string, std::string>> lines = {
            {"reader", contents->reader},
            {"ATR", card::ToHex(contents->atr)},
            {"records", std::to_string(contents->records.size()) + " of " +
                            std::to_string(contents->capacity) + " slots"}};
        if (out.contains("card")) {
            const json& c = out["card"];
            lines.emplace_back("card number", c["card_number"].get<std::string>());
            lines.emplace_back("member id", c["member_id"].get<std::string>());
            lines.emplace_back("generation", std::to_string(c["generation"].get<int>()));
            lines.emplace_back("issued at", LocalTime(c["issued_at"].get<std::string>()));
            lines.emplace_back("issuing store", c["issuing_store"].get<std::string>());
        }
        lines.emplace_back("signature", verdict);
        PrintSummary(std::cout, lines);
        return exit_code;
    });
}

void AddMemberCard(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        std::string record, reader, name, png, svg, pdf;
        bool json = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand(
        "card", "Write your card as a QR code (PNG, SVG) and a printable card (PDF)");
    auto* record = cmd->add_option(
        "--record", o->record,
        "The card record, KZ1.… (the \"record\" that enroll/reissue print with --json)");
    auto* reader = AddCardReaderFlag(cmd, o->reader);
    record->excludes(reader);
    reader->excludes(record);
    cmd->add_option("--name", o->name, "Name to print on the PDF card");
    cmd->add_option("--png", o->png, "PNG file to write");
    cmd->add_option("--svg", o->svg, "SVG file to write");
    cmd->add_option("--pdf", o->pdf, "Printable card (PDF) to write; needs --name");
    AddJsonFlag(cmd, o->json);
    AddExamples(cmd, {"kizuna member card --record KZ1.AQAi… --png card.png --svg card.svg",
                      "kizuna member card --card-reader pcsc --name '山田 花子' --pdf card.pdf"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->json;
        auto usage = [js](const std::string& message, const std::string& field) {
            return ReportError(core::MakeError(core::ErrorCode::kInvalidArgument, message, field),
                               kExitUsage, js);
        };
        if (o->png.empty() && o->svg.empty() && o->pdf.empty()) {
            return usage("say what to write: --png FILE, --svg FILE and/or --pdf FILE", "--png");
        }
        if (!o->pdf.empty() && o->name.empty()) {
            return usage("the printed card shows a name: give --name", "--name");
        }
        core::Result<core::CardRecord> record = core::MakeError(core::ErrorCode::kInternal, "");
        if (!o->record.empty()) {
            record = core::CardRecordFromText(o->record);
            if (!record) return ReportError(record.error(), kExitUsage, js);
        } else {
            auto reader = card::OpenCardReader(CardReaderSpec(o->reader));
            if (!reader) return ReportCardError(reader.error(), js);
            record = card::CardProtocol(**reader).ReadCard();
            if (!record) return ReportCardError(record.error(), js);
        }
        auto text = core::CardRecordToText(*record);
        if (!text) return ReportError(text.error(), kExitUsage, js);
        auto qr = card::QrCode::Encode(*text);
        if (!qr) return ReportError(qr.error(), kExitUsage, js);
        json written = json::array();
        if (!o->png.empty()) {
            if (auto ok = qr->WritePng(o->png); !ok) {
                return ReportError(ok.error(), kExitUnreachable, js);
            }
            written.push_back(o->png);
        }
        if (!o->svg.empty()) {
            if (auto ok = qr->WriteSvg(o->svg); !ok) {
                return ReportError(ok.error(), kExitUnreachable, js);
            }
            written.push_back(o->svg);
        }
        if (!o->pdf.empty()) {
            auto ok = card::WriteCardPdf(o->pdf, {o->name, record->card_number, *text});
            if (!ok) return ReportError(ok.error(), kExitUnreachable, js);
            written.push_back(o->pdf);
        }
        if (js) {
            PrintJson(
                std::cout,
                {{"card_number", record->card_number}, {"record", *text}, {"files", written}});
        } else {
            std::cout << "Card " << record->card_number << " written to";
            for (const auto& file : written) std::cout << " " << file.get<std::string>();
            std::cout << "\n";
        }
        return kExitOk;
    });
}

}  // namespace

void AddCardCommands(CLI::App& app, Dispatcher& dispatcher) {
    auto* card = app.add_subcommand("card", "Card reader diagnostics: list readers, read a card");
    card->require_subcommand(1);
    AddWait(*card, dispatcher);
    AddRead(*card, dispatcher);
    AddMemberCard(*app.get_subcommand("member"), dispatcher);
}

}  // namespace kizuna::cli
