#pragma once
// The enrollment form shared by the store terminal (`kizuna pos enroll`) and the user terminal
// (`kizuna member enroll`): seed [0030] S402-S404, personal information then a password, sent as
// POST /v1/members. Not thread-safe (binds CLI11 options).

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/hub_client.hpp"
#include "cli/password_prompt.hpp"

namespace kizuna::cli {

struct EnrollmentForm {
    std::string name, name_kana, postal_code, address, phone, birth_date, occupation, email;
    bool email_offers = false;
    bool postal_offers = false;
    bool share_profile = false;
    bool shared_phone = false;  // the household shares the phone with a member already enrolled
    std::string medium;         // chip | qr | virtual; empty: the hub's default
    PasswordOptions password;
};

// Adds --name (required) ... --share-profile, --medium and the password flags.
void AddEnrollmentFlags(CLI::App* command, EnrollmentForm& form);

// The POST /v1/members body.
nlohmann::json EnrollmentBody(const EnrollmentForm& form, const std::string& password);

// Asks for the password (twice on a terminal), enrolls, prints the member id and card. With a
// `card_reader` ("pcsc", "file:PATH", …) the reader must hold a blank card, checked before the
// hub is asked, and the new card is written onto it.
int RunEnrollment(HubClient& client, const EnrollmentForm& form, bool json,
                  const std::string& card_reader = "");

// Prints an issued card ({"card_number","generation",...}) for people.
void PrintIssuedCard(const std::string& member_id, const nlohmann::json& card);

}  // namespace kizuna::cli
