#pragma once
// The transactional outbox: every change a store of a program should hear of (enrollments,
// card reissues, purchases, refunds, redemptions, reservations) appends an event in the same
// write unit as the change itself, so the event exists exactly when the change does, and a
// crash loses neither alone. Webhook deliveries are made from the events (WebhookService);
// a store node's sync pull will read them by sequence. Internal to src/hub.
// Thread-safety: pure functions of their arguments; the txn belongs to one unit of work.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "core/time.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

// An event's data: a JSON object, fields in the order they are set.
using EventData = nlohmann::ordered_json;

// RFC 3339, as every time in the API.
std::string EventTime(core::Timestamp t);

// An event's data written straight as compact JSON text, for events on the hot path: a
// purchase's event is written on the storage's one writer thread, where building an EventData
// only to serialize it cost about 2.5 us per purchase. The text is exactly what EventData's
// dump (RecordEvent) gives for the same fields in the same order. Fields may be prepared in
// parts (some before the unit of work, the rest in it) and joined with Append.
// Thread-safety: none; one per event.
class EventFields {
  public:
    EventFields& Add(std::string_view key, std::string_view value);
    EventFields& Add(std::string_view key, const char* value) {
        return Add(key, std::string_view(value));
    }
    EventFields& Add(std::string_view key, const std::string& value) {
        return Add(key, std::string_view(value));
    }
    EventFields& Add(std::string_view key, int64_t value);
    // The fields of `more`, after these.
    EventFields& Append(const EventFields& more);
    // The fields as one JSON object.
    std::string Object() const;

  private:
    void AppendKey(std::string_view key);
    std::string text_;  // "key":value pairs, comma separated, without the braces
};

// Appends one event of `type` in `program_id` (empty: no program, so no store hears of it)
// about `member_id` (may be empty). Errors: those of storage.
core::Status RecordEvent(storage::WriteTxn& txn, std::string_view type,
                         const std::string& program_id, const std::string& member_id,
                         core::Timestamp at, const EventData& data);

// As above, with the data already rendered (EventFields::Object).
core::Status RecordEvent(storage::WriteTxn& txn, std::string_view type,
                         const std::string& program_id, const std::string& member_id,
                         core::Timestamp at, std::string payload);

// The same event once in every program the member belongs to (see ProgramsOfMember); once
// without a program when the member belongs to none yet.
core::Status RecordMemberEvent(storage::WriteTxn& txn, std::string_view type,
                               const std::string& member_id, core::Timestamp at,
                               const EventData& data);

}  // namespace kizuna::hub
