#pragma once
// Members, their profile (the seed's personal information, [0022]) and their consents.

#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

struct Profile {
    std::string name;         // required, 1..100 characters, no control characters
    std::string name_kana;    // reading; optional
    std::string postal_code;  // optional; "123-4567", "1234567" or other countries' codes
    std::string address;      // optional
    std::string phone;        // optional; digits, spaces, '+', '-', '(', ')'; 7..15 digits
    std::string birth_date;   // optional; "YYYY-MM-DD", not in the future
    std::string occupation;   // optional
    std::string email;        // optional but required for email offers; normalized to lower case

    friend bool operator==(const Profile&, const Profile&) = default;
};

struct Consents {
    bool email_offers = false;
    bool postal_offers = false;
    bool share_profile = false;

    friend bool operator==(const Consents&, const Consents&) = default;
};

enum class MemberStatus { kActive, kClosed };

struct Member {
    std::string member_id;
    std::string password_hash;  // Argon2id string from crypto::HashPassword
    Profile profile;
    Consents consents;
    MemberStatus status = MemberStatus::kActive;
    Timestamp created_at{};
    // The member proved to own profile.email (a confirmation link, or self-service enrollment).
    bool email_confirmed = false;
};

// Whether offers may be mailed to the member: an active member who consented and whose email
// is confirmed. An unconfirmed address may be someone else's, typed by mistake or on purpose.
bool MayMailOffers(const Member& member);

// Checks and normalizes a profile (trims, lower-cases the email, unifies phone formatting).
// Errors: kInvalidArgument with field "profile.<name>" and a message saying what is wrong.
Result<Profile> ValidateProfile(Profile profile, Timestamp now);

// Minimum password policy: 8..128 characters, not all digits, not all one character, not the
// member's own email or phone. Errors: kInvalidArgument with field "password".
Status ValidatePassword(std::string_view password, const Profile& profile);

// Normal forms used for the "already registered?" search.
std::string NormalizeEmail(std::string_view email);
std::string NormalizePhone(std::string_view phone);  // digits only, leading '+' kept

}  // namespace kizuna::core
