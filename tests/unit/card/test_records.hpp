#pragma once
// Signed card records for the card tests, made with a real Ed25519 key pair.

#include <string>

#include "core/card_record.hpp"
#include "crypto/crypto.hpp"

namespace kizuna::card::testing {

// A valid (Luhn-checked) card number, different for each `n`.
std::string CardNumber(int n);

struct TestHub {
    crypto::SigningKeyPair keys;
    TestHub();
    // A record for `card_number` signed with this hub's key.
    core::CardRecord SignedRecord(const std::string& card_number = CardNumber(1),
                                  int generation = 1) const;
};

// A card image file's text with the generation of its first record changed from 1 to 2 (record
// bytes 14-15): an altered card. Empty when the image holds no generation-1 record.
std::string AlterGeneration(std::string image_text);
// The whole content of a file; empty when it cannot be read.
std::string ReadText(const std::string& path);

// A temporary directory removed with its contents when the object dies.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  private:
    std::string dir_;
};

}  // namespace kizuna::card::testing
