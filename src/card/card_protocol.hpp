#pragma once
// CardProtocol: the Kizuna card application above a CardReader — issue a card (append the
// hub-signed record to a blank write-once card) and read it back. Each call is one complete
// card session: connect, SELECT the application, do the work, disconnect.
//
// Errors (core::Error; the message names the reader and says what to do):
//   kUnavailable    no reader, no card, the card removed mid-operation, communication failure
//   kNotFound       a foreign card (SELECT answers 6A82), or a blank card where an issued one
//                   was expected
//   kAlreadyExists  issuing onto a card that already holds a record (the card is write-once)
//   kRuleViolation  the card's record file is full (6A84)
//   kUnauthenticated  the record on the card cannot be decoded (damaged or altered)
// The record's signature is not checked here: CardVerifier does that, offline.
// Thread-safety: as the CardReader it uses (not thread-safe).

#include <cstddef>
#include <string>
#include <vector>

#include "card/card_reader.hpp"
#include "core/card_record.hpp"
#include "core/result.hpp"

namespace kizuna::card {

// Everything the card application holds, for diagnostics (`kizuna card read`).
struct CardContents {
    std::string reader;
    std::string atr;
    std::size_t capacity = 0;          // record slots
    std::vector<std::string> records;  // raw records, oldest first
};

class CardProtocol {
  public:
    // `reader` must outlive the protocol object.
    explicit CardProtocol(CardReader& reader) : reader_(reader) {}

    // Writes the signed record onto a blank card and reads it back to confirm it.
    core::Status IssueCard(const core::CardRecord& record);
    // Succeeds when the reader holds a blank Kizuna card, ready for IssueCard: lets a caller
    // check the card before it asks the hub to issue one.
    core::Status CheckBlank();
    // The card's latest record, decoded (not yet verified).
    core::Result<core::CardRecord> ReadCard();
    // Raw contents of the card application.
    core::Result<CardContents> ReadContents();

  private:
    struct Session;
    core::Result<Session> Open();
    core::Result<std::string> ReadRecordNumber(std::size_t number);
    core::Status RequireBlank(const Session& session) const;

    CardReader& reader_;
};

}  // namespace kizuna::card
