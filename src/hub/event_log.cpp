#include "hub/event_log.hpp"

namespace kizuna::hub {

std::string EventTime(core::Timestamp t) { return core::FormatRfc3339(t); }

core::Status RecordEvent(storage::WriteTxn& txn, std::string_view type,
                         const std::string& program_id, const std::string& member_id,
                         core::Timestamp at, const EventData& data) {
    storage::Event event;
    event.type = std::string(type);
    event.program_id = program_id;
    event.member_id = member_id;
    event.created_at = at;
    // Validated data is valid UTF-8; replace rather than throw if that ever fails.
    event.payload = data.dump(-1, ' ', false, EventData::error_handler_t::replace);
    KZ_ASSIGN_OR_RETURN(int64_t sequence, txn.AppendEvent(event));
    (void)sequence;
    return core::Status::Ok();
}

core::Status RecordMemberEvent(storage::WriteTxn& txn, std::string_view type,
                               const std::string& member_id, core::Timestamp at,
                               const EventData& data) {
    KZ_ASSIGN_OR_RETURN(auto programs, txn.ProgramsOfMember(member_id));
    if (programs.empty()) return RecordEvent(txn, type, "", member_id, at, data);
    for (const std::string& program_id : programs) {
        KZ_RETURN_IF_ERROR(RecordEvent(txn, type, program_id, member_id, at, data));
    }
    return core::Status::Ok();
}

}  // namespace kizuna::hub
