#pragma once
// CardVerifier: checks offline that a card record (read from a chip card or scanned from a QR
// code) was signed by our hub, before a store node asks the hub anything about it. The key is
// the hub's Ed25519 public key, published at GET /v1/card-key (see CardKey).
// A verified record is genuine and unaltered; whether the card is still active (not revoked by
// a reissue) only the hub knows.
// Thread-safety: immutable after construction; safe to share between threads.

#include <string>
#include <string_view>

#include "core/card_record.hpp"
#include "core/result.hpp"

namespace kizuna::card {

class CardVerifier {
  public:
    // `public_key`: 32 raw bytes. Errors: kInvalidArgument for another length.
    static core::Result<CardVerifier> Create(std::string public_key);

    // Returns the record when its signature verifies. Errors: kUnauthenticated for a record
    // that is unsigned, altered, forged, or signed by another hub's key.
    core::Result<core::CardRecord> Verify(const core::CardRecord& record) const;
    // The same for the binary form (chip card) and the text form "KZ1.…" (QR payload); a
    // malformed record is refused with kUnauthenticated as well.
    core::Result<core::CardRecord> VerifyBytes(std::string_view bytes) const;
    core::Result<core::CardRecord> VerifyText(std::string_view text) const;

  private:
    explicit CardVerifier(std::string public_key) : public_key_(std::move(public_key)) {}
    std::string public_key_;
};

}  // namespace kizuna::card
