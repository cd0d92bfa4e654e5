#include "card/card_verifier.hpp"

#include "crypto/crypto.hpp"

namespace kizuna::card {

using core::ErrorCode;
using core::MakeError;

namespace {
core::Error Refused(std::string_view why) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "card refused: " + std::string(why) +
                         "; the card is altered, forged or issued by another hub");
}
}  // namespace

core::Result<CardVerifier> CardVerifier::Create(std::string public_key) {
    if (public_key.size() != 32) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "the card key must be a 32-byte Ed25519 public key, not " +
                             std::to_string(public_key.size()) + " bytes",
                         "public_key");
    }
    return CardVerifier(std::move(public_key));
}

core::Result<core::CardRecord> CardVerifier::Verify(const core::CardRecord& record) const {
    if (record.signature.size() != core::kCardSignatureBytes) {
        return Refused("its record is not signed");
    }
    auto signed_portion = core::SignedPortion(record);
    if (!signed_portion)
        return Refused("its record is malformed (" + signed_portion.error().message + ")");
    if (!crypto::VerifySignature(*signed_portion, record.signature, public_key_)) {
        return Refused("its signature does not verify");
    }
    return record;
}

core::Result<core::CardRecord> CardVerifier::VerifyBytes(std::string_view bytes) const {
    auto record = core::DecodeCardRecord(bytes);
    if (!record) return Refused("its record is malformed (" + record.error().message + ")");
    return Verify(*record);
}

core::Result<core::CardRecord> CardVerifier::VerifyText(std::string_view text) const {
    auto record = core::CardRecordFromText(text);
    if (!record) return Refused("its record is malformed (" + record.error().message + ")");
    return Verify(*record);
}

}  // namespace kizuna::card
