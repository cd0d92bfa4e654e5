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
