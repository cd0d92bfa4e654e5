#include "hub/event_log.hpp"

#include <charconv>
#include <utility>

#include "core/json_string.hpp"

namespace kizuna::hub {
namespace {

void AppendQuoted(std::string& out, std::string_view text) {
    if (core::AppendJsonString(out, text)) return;
    // Not valid UTF-8 (validated data never is): replaced as the JSON library's dump does.
    out += EventData(std::string(text)).dump(-1, ' ', false, EventData::error_handler_t::replace);
}

}  // namespace

void EventFields::AppendKey(std::string_view key) {
    if (!text_.empty()) text_ += ',';
    AppendQuoted(text_, key);
    text_ += ':';
}

EventFields& EventFields::Add(std::string_view key, std::string_view value) {
    AppendKey(key);
    AppendQuoted(text_, value);
    return *this;
}

EventFields& EventFields::Add(std::string_view key, int64_t value) {
    AppendKey(key);
    char digits[24];  // any int64_t, sign included
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    (void)ec;
    text_.append(digits, end);
    return *this;
}

EventFields& EventFields::Append(const EventFields& more) {
    if (more.text_.empty()) return *this;
    if (!text_.empty()) text_ += ',';
    text_ += more.text_;
    return *this;
}

std::string EventFields::Object() const {
    std::string object;
    object.reserve(text_.size() + 2);
    object += '{';
    object += text_;
    object += '}';
    return object;
}

std::string EventTime(core::Timestamp t) { return core::FormatRfc3339(t); }

core::Status RecordEvent(storage::WriteTxn& txn, std::string_view type,
                         const std::string& program_id, const std::string& member_id,
                         core::Timestamp at, const EventData& data) {
    // Validated data is valid UTF-8; replace rather than throw if that ever fails.
    return RecordEvent(txn, type, program_id, member_id, at,
                       data.dump(-1, ' ', false, EventData::error_handler_t::replace));
}

core::Status RecordEvent(storage::WriteTxn& txn, std::string_view type,
                         const std::string& program_id, const std::string& member_id,
                         core::Timestamp at, std::string payload) {
    storage::Event event;
    event.type = std::string(type);
    event.program_id = program_id;
    event.member_id = member_id;
    event.created_at = at;
    event.payload = std::move(payload);
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
