#include "core/member.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace kizuna::core {

namespace {

namespace chr = std::chrono;

constexpr std::size_t kMaxNameChars = 100;
constexpr std::size_t kMaxAddressChars = 300;
constexpr std::size_t kMaxPostalCodeChars = 16;
constexpr std::size_t kMaxEmailChars = 254;
constexpr std::size_t kMaxEmailLocalChars = 64;
constexpr std::size_t kMaxDomainLabelChars = 63;
constexpr int kMinPhoneDigits = 7;
constexpr int kMaxPhoneDigits = 15;  // E.164
constexpr int kEarliestBirthYear = 1900;
constexpr std::size_t kMinPasswordChars = 8;
constexpr std::size_t kMaxPasswordChars = 128;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlnum(char c) { return IsDigit(c) || IsLowerAlpha(c) || (c >= 'A' && c <= 'Z'); }

std::string AsciiLower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

bool IsPhoneCharacter(char c) {
    return IsDigit(c) || c == ' ' || c == '+' || c == '-' || c == '(' || c == ')';
}

Status CheckPostalCode(std::string_view code) {
    constexpr std::string_view kField = "profile.postal_code";
    if (code.size() > kMaxPostalCodeChars) {
        return InvalidField(kField, "must be at most 16 characters");
    }
    bool has_alnum = false;
    for (const char c : code) {
        if (IsAlnum(c)) {
            has_alnum = true;
        } else if (c != ' ' && c != '-') {
            return InvalidField(kField,
                                "may contain only ASCII digits, letters, spaces and hyphens, e.g. "
                                "123-4567");
        }
    }
    if (!has_alnum) return InvalidField(kField, "must contain digits or letters");
    return Status::Ok();
}

Status CheckPhone(std::string_view phone) {
    constexpr std::string_view kField = "profile.phone";
    int digits = 0;
    for (std::size_t i = 0; i < phone.size(); ++i) {
        const char c = phone[i];
        if (!IsPhoneCharacter(c)) {
            return InvalidField(
                kField,
                "may contain only ASCII digits, spaces, '+', '-', '(' and ')', e.g. "
                "+81 90-1234-5678");
        }
        if (c == '+' && i != 0) return InvalidField(kField, "may have '+' only at the start");
        if (IsDigit(c)) ++digits;
    }
    if (digits < kMinPhoneDigits || digits > kMaxPhoneDigits) {
        return InvalidField(kField, "must have 7 to 15 digits");
    }
    return Status::Ok();
}

bool IsEmailLocalCharacter(char c) {
    if (IsDigit(c) || IsLowerAlpha(c)) return true;
    return std::string_view("!#$%&'*+/=?^_`{|}~.-").find(c) != std::string_view::npos;
}

// True for a dot-separated host name of at least two labels with an alphabetic top level.
bool IsPlausibleDomain(std::string_view domain) {
    if (domain.empty() || domain.size() > 253) return false;
    std::size_t labels = 0;
    std::string_view last;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = domain.find('.', start);
        const std::string_view label =
            domain.substr(start, dot == std::string_view::npos ? domain.npos : dot - start);
        if (label.empty() || label.size() > kMaxDomainLabelChars) return false;
        if (label.front() == '-' || label.back() == '-') return false;
        for (const char c : label) {
            if (!IsDigit(c) && !IsLowerAlpha(c) && c != '-') return false;
        }
        ++labels;
        last = label;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    if (labels < 2 || last.size() < 2) return false;
    if (last.starts_with("xn--")) return true;  // internationalized top-level domain
    return std::all_of(last.begin(), last.end(), IsLowerAlpha);
}

// `email` is already lower-cased.
bool IsPlausibleEmail(std::string_view email) {
    const std::size_t at = email.find('@');
    if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
        return false;
    }
    const std::string_view local = email.substr(0, at);
    if (local.empty() || local.size() > kMaxEmailLocalChars) return false;
    if (local.front() == '.' || local.back() == '.' || local.find("..") != local.npos) {
        return false;
    }
    if (!std::all_of(local.begin(), local.end(), IsEmailLocalCharacter)) return false;
    return IsPlausibleDomain(email.substr(at + 1));
}

Status CheckEmail(std::string_view email) {
    constexpr std::string_view kField = "profile.email";
    if (email.size() > kMaxEmailChars)
        return InvalidField(kField, "must be at most 254 characters");
    if (!IsPlausibleEmail(email)) {
        return InvalidField(kField, "must be an email address like name@example.com");
    }
    return Status::Ok();
}

Result<std::string> CheckBirthDate(std::string_view text, Timestamp now) {
    constexpr std::string_view kField = "profile.birth_date";
    KZ_ASSIGN_OR_RETURN(const chr::year_month_day date, ParseDate(text, kField));
    if (date.year() < chr::year{kEarliestBirthYear}) {
        return InvalidField(kField, "must not be before 1900-01-01");
    }
    const chr::year_month_day today{chr::floor<chr::days>(now)};
    if (date > today) return InvalidField(kField, "must not be in the future");
    return FormatDate(date);
}

// True when the text is one code point repeated (e.g. "aaaaaaaa", "ああああああああ").
bool IsOneCharacterRepeated(std::string_view text) {
    if (text.empty()) return false;
    std::size_t first = 1;
    while (first < text.size() && (static_cast<unsigned char>(text[first]) & 0xC0) == 0x80) {
        ++first;
    }
    if (text.size() % first != 0) return false;
    const std::string_view unit = text.substr(0, first);
    for (std::size_t i = first; i < text.size(); i += first) {
        if (text.substr(i, first) != unit) return false;
    }
    return true;
}

}  // namespace

Result<Profile> ValidateProfile(Profile profile, Timestamp now) {
    profile.name = Trim(profile.name);
    KZ_RETURN_IF_ERROR(CheckText(profile.name, "profile.name", 1, kMaxNameChars));

    profile.name_kana = Trim(profile.name_kana);
    KZ_RETURN_IF_ERROR(CheckText(profile.name_kana, "profile.name_kana", 0, kMaxNameChars));

    profile.postal_code = Trim(profile.postal_code);
    KZ_RETURN_IF_ERROR(
        CheckText(profile.postal_code, "profile.postal_code", 0, kMaxPostalCodeChars));
    if (!profile.postal_code.empty()) KZ_RETURN_IF_ERROR(CheckPostalCode(profile.postal_code));

    // Addresses may span lines (building, street, city), as on an address label.
    profile.address = Trim(profile.address);
    KZ_RETURN_IF_ERROR(CheckText(profile.address, "profile.address", 0, kMaxAddressChars, true));

    profile.phone = Trim(profile.phone);
    KZ_RETURN_IF_ERROR(CheckText(profile.phone, "profile.phone", 0, 64));
    if (!profile.phone.empty()) KZ_RETURN_IF_ERROR(CheckPhone(profile.phone));

    profile.birth_date = Trim(profile.birth_date);
    KZ_RETURN_IF_ERROR(CheckText(profile.birth_date, "profile.birth_date", 0, 64));
    if (!profile.birth_date.empty()) {
        KZ_ASSIGN_OR_RETURN(profile.birth_date, CheckBirthDate(profile.birth_date, now));
    }

    profile.occupation = Trim(profile.occupation);
    KZ_RETURN_IF_ERROR(CheckText(profile.occupation, "profile.occupation", 0, kMaxNameChars));

    profile.email = NormalizeEmail(profile.email);
    KZ_RETURN_IF_ERROR(CheckText(profile.email, "profile.email", 0, 1024));
    if (!profile.email.empty()) KZ_RETURN_IF_ERROR(CheckEmail(profile.email));

    return profile;
}

Status ValidatePassword(std::string_view password, const Profile& profile) {
    constexpr std::string_view kField = "password";
    if (!IsValidUtf8(password)) return InvalidField(kField, "must be valid UTF-8 text");
    const std::size_t chars = CodePointCount(password);
    if (chars < kMinPasswordChars) return InvalidField(kField, "must be at least 8 characters");
    if (chars > kMaxPasswordChars) return InvalidField(kField, "must be at most 128 characters");
    if (std::all_of(password.begin(), password.end(), IsDigit)) {
        return InvalidField(kField, "must not be only digits");
    }
    if (IsOneCharacterRepeated(password)) {
        return InvalidField(kField, "must not be one character repeated");
    }
    if (!profile.email.empty() && NormalizeEmail(password) == NormalizeEmail(profile.email)) {
        return InvalidField(kField, "must not be your email address");
    }
    const std::string phone = NormalizePhone(profile.phone);
    if (!phone.empty() && std::all_of(password.begin(), password.end(), IsPhoneCharacter) &&
        NormalizePhone(password) == phone) {
        return InvalidField(kField, "must not be your phone number");
    }
    return Status::Ok();
}

std::string NormalizeEmail(std::string_view email) { return AsciiLower(Trim(email)); }

std::string NormalizePhone(std::string_view phone) {
    const std::string trimmed = Trim(phone);
    std::string out;
    if (!trimmed.empty() && trimmed.front() == '+') out.push_back('+');
    for (const char c : trimmed) {
        if (IsDigit(c)) out.push_back(c);
    }
    return out;
}

bool MayMailOffers(const Member& member) {
    return member.status == MemberStatus::kActive && member.consents.email_offers &&
           member.email_confirmed && !member.profile.email.empty();
}

}  // namespace kizuna::core
