#include "cli/enrollment_form.hpp"

#include <iostream>

#include "cli/card_support.hpp"
#include "cli/output.hpp"

namespace kizuna::cli {

void AddEnrollmentFlags(CLI::App* command, EnrollmentForm& form) {
    command->add_option("--name", form.name, "Full name, e.g. 山田 太郎 or Taro Yamada")
        ->required();
    command->add_option("--kana", form.name_kana, "Reading of the name, e.g. ヤマダ タロウ");
    command->add_option("--postal-code", form.postal_code, "Postal code, e.g. 150-0002");
    command->add_option("--address", form.address, "Postal address");
    command->add_option("--phone", form.phone, "Phone number, e.g. 03-1234-5678");
    command->add_option("--birth-date", form.birth_date, "Birth date, YYYY-MM-DD");
    command->add_option("--occupation", form.occupation, "Occupation");
    command->add_option("--email", form.email, "Email address (needed for email offers)");
    command->add_flag("--email-offers", form.email_offers, "Consent to offers by email");
    command->add_flag("--postal-offers", form.postal_offers, "Consent to offers by post");
    command->add_flag("--share-profile", form.share_profile,
                      "Consent to stores seeing the profile");
    command->add_flag("--shared-phone", form.shared_phone,
                      "The household shares this phone with a member already enrolled");
    command->add_option("--medium", form.medium, "Card medium: chip, qr or virtual")
        ->check(CLI::IsMember({"chip", "qr", "virtual"}));
    command->add_flag("--password-stdin", form.password.from_stdin,
                      "Read the new password from the first line of standard input");
    command->add_option("--password", form.password.plain,
                        "The new password itself (visible in the process list; prefer the prompt)");
}

nlohmann::json EnrollmentBody(const EnrollmentForm& form, const std::string& password) {
    nlohmann::json profile = {{"name", form.name}};
    auto put = [&](const char* key, const std::string& value) {
        if (!value.empty()) profile[key] = value;
    };
    put("name_kana", form.name_kana);
    put("postal_code", form.postal_code);
    put("address", form.address);
    put("phone", form.phone);
    put("birth_date", form.birth_date);
    put("occupation", form.occupation);
    put("email", form.email);
    nlohmann::json body = {{"password", password},
                           {"profile", profile},
                           {"consents",
                            {{"email_offers", form.email_offers},
                             {"postal_offers", form.postal_offers},
                             {"share_profile", form.share_profile}}}};
    if (!form.medium.empty()) body["medium"] = form.medium;
    if (form.shared_phone) body["shared_phone"] = true;
    return body;
}

void PrintIssuedCard(const std::string& member_id, const nlohmann::json& card) {
    std::vector<std::pair<std::string, std::string>> lines = {
        {"member id", member_id},
        {"card number", JsonString(card, "card_number")},
        {"generation", JsonString(card, "generation")},
    };
    if (card.contains("medium")) lines.emplace_back("medium", JsonString(card, "medium"));
    PrintSummary(std::cout, lines);
}

int RunEnrollment(HubClient& client, const EnrollmentForm& form, bool json,
                  const std::string& card_reader) {
    EnrollmentForm request = form;
    // Refuse a missing, foreign or already issued card before the member exists.
    if (int code = PrepareCardIssue(card_reader, request.medium, json); code != kExitOk) {
        return code;
    }
    auto password = ObtainPassword(request.password, "New password", /*confirm=*/true);
    if (!password) return ReportError(password.error(), kExitUsage, json);
    const HubAnswer answer = client.Post("/v1/members", EnrollmentBody(request, *password));
    if (!answer.ok) return ReportFailure(answer.failure, json);
    if (answer.status == 202) {
        // Self-service with an email: the card comes once the address is confirmed.
        if (json) {
            PrintJson(std::cout, answer.body);
        } else {
            std::cout << "Almost there: " << JsonString(answer.body, "message")
                      << ".\nThen run `kizuna member confirm --token TOKEN` with the token it "
                         "gives.\n";
        }
        return kExitOk;
    }
    const std::string member_id = JsonString(answer.body, "member_id");
    const nlohmann::json card = answer.body.value("card", nlohmann::json::object());
    if (int code = FinishCardIssue(card_reader, member_id, card, json); code != kExitOk) {
        return code;
    }
    if (json) {
        PrintJson(std::cout, answer.body);
        return kExitOk;
    }
    std::cout << "Member enrolled.\n";
    PrintIssuedCard(member_id, card);
    if (!card_reader.empty()) std::cout << "Card written in " << card_reader << ".\n";
    return kExitOk;
}

}  // namespace kizuna::cli
