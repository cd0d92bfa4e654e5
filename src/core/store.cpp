#include "core/store.hpp"

#include "core/text.hpp"

namespace kizuna::core {

namespace {
constexpr std::size_t kMaxDisplayNameChars = 100;
}  // namespace

std::string_view StoreKindName(StoreKind k) {
    switch (k) {
        case StoreKind::kPhysical:
            return "physical";
        case StoreKind::kOnline:
            return "online";
    }
    return "physical";
}

Result<StoreKind> ParseStoreKind(std::string_view text, std::string_view field) {
    for (const StoreKind k : {StoreKind::kPhysical, StoreKind::kOnline}) {
        if (text == StoreKindName(k)) return k;
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(field) + " must be \"physical\" or \"online\"",
                     std::string(field));
}

Status ValidateName(std::string_view name, std::string_view field) {
    return CheckText(name, field, 1, kMaxDisplayNameChars);
}

Status ValidateCurrency(std::string_view currency, std::string_view field) {
    bool ok = currency.size() == 3;
    for (const char c : currency) ok = ok && c >= 'A' && c <= 'Z';
    if (!ok) {
        return MakeError(ErrorCode::kInvalidArgument,
                         std::string(field) + " must be an ISO 4217 code like JPY or EUR",
                         std::string(field));
    }
    return Status::Ok();
}

}  // namespace kizuna::core
