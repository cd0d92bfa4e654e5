#pragma once
// Which offers each member is sent, from their purchase history (issue 18, step 1 of a
// dispatch). Pure: the caller reads members, purchases, offers, past sends and expiring lots from
// storage into these plain structs; nothing here does I/O.
//
// Scoring, for the purchases within `lookback_days` before `now`, each weighted by recency
// w = 0.5^(age_days / half_life_days):
//   category  = sum over the offer's categories of the weighted spend in that category, divided
//               by the member's weighted spend in all categories (0..1)
//   store     = 0.5 x the member's weighted visits to the offer's store / all weighted visits
//   program   = 0.1 when the member bought in the offer's program in the window
// An offer qualifies for a member when it is current, of a program the member belongs to, never
// sent to them before, and they bought one of its categories or visited its store. Members with
// no purchase in the window get their programs' general offers instead, only when the run asks.
// Per member and channel: the member must consent to the channel and be reachable on it; at most
// `max_per_member` offers, and no more than the frequency cap allows after the sends already
// made in the period. Offers come in score order, ties by offer id. Points expiring within
// `expiry_notice_days` make one notice per program on each consented channel; notices do not
// count against the offer caps.
// Thread-safety: an OfferSelection is immutable after Create; ForMember may run concurrently.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/member.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

enum class Channel { kEmail, kPostal };
std::string_view ChannelName(Channel channel);  // "email" / "postal"

struct SelectionMember {
    std::string member_id;
    Consents consents;                     // email_offers gates kEmail, postal_offers gates kPostal
    bool has_email = false;                // an address to send to
    bool has_postal_address = false;       // an address to print
    std::vector<std::string> program_ids;  // programs the member belongs to
};

struct CategorySpend {
    std::string category;  // empty for uncategorized lines: counted in the total spend only
    int64_t amount = 0;    // minor currency units, >= 0
};

struct PurchaseSummary {
    Timestamp occurred_at{};
    std::string store_id;
    std::string program_id;
    std::vector<CategorySpend> spend;  // one entry per category (or per line)
};

struct ExpiringPoints {
    std::string program_id;
    int64_t points = 0;
    Timestamp expires_at{};
};

struct MemberHistory {
    SelectionMember member;
    std::vector<PurchaseSummary> purchases;
    std::vector<std::string> offers_sent;  // every offer id ever sent to the member, any channel
    int sent_in_period_email = 0;          // offers sent in the current cap period, per channel
    int sent_in_period_postal = 0;
    std::vector<ExpiringPoints> expiring;  // open lots with their expiry dates
};

struct SelectableOffer {
    std::string offer_id;
    std::string store_id;
    std::string program_id;
    std::vector<std::string> categories;
    Timestamp valid_from{};
    Timestamp valid_to{};  // exclusive
    bool general = false;  // for every member of the program, even without purchases
};

struct SelectionOptions {
    Timestamp now{};
    std::vector<Channel> channels = {Channel::kEmail};
    int max_per_member = 3;       // offers per member per channel in this run, >= 1
    int cap_per_period = 6;       // offers per member per channel in the period, >= 1
    int lookback_days = 365;      // purchases older than this are not read, >= 1
    double half_life_days = 30;   // recency weighting, > 0
    int expiry_notice_days = 30;  // 0 sends no expiry notices
    bool include_members_without_purchases = false;
};

enum class ReasonKind {
    kCategoryBought,  // category, count, days
    kStoreVisited,    // store_id, count, days
    kProgramVisited,  // program_id, count, days
    kGeneralOffer,    // program_id
    kPointsExpiring,  // program_id, points, days (until expiry)
};

// Why an item was chosen, in numbers; DescribeReason words it.
struct Reason {
    ReasonKind kind = ReasonKind::kCategoryBought;
    std::string subject;  // the category, store id or program id
    int count = 0;        // purchases counted
    int days = 0;         // span of those purchases (oldest counted, rounded up), or days left
    int64_t points = 0;   // kPointsExpiring only

    friend bool operator==(const Reason&, const Reason&) = default;
};

enum class ReasonLanguage { kEnglish, kJapanese };
// "bought books 4× in 90 days" / "90日間に「books」を4回購入".
std::string DescribeReason(const Reason& reason, ReasonLanguage language);

enum class ItemKind { kOffer, kExpiryNotice };

struct ChosenItem {
    Channel channel = Channel::kEmail;
    ItemKind kind = ItemKind::kOffer;
    std::string offer_id;    // kOffer
    std::string program_id;  // the offer's program, or the program whose points expire
    int64_t points = 0;      // kExpiryNotice: points expiring
    Timestamp expires_at{};  // kExpiryNotice: the soonest expiry among them
    double score = 0;        // kOffer
    std::vector<Reason> reasons;
};

struct MemberSelection {
    std::string member_id;
    // By channel in the order of options.channels; within a channel the offers in score order,
    // then the expiry notices by program id. Empty when nothing is chosen.
    std::vector<ChosenItem> items;
};

class OfferSelection {
  public:
    // Keeps the offers current at options.now, indexed by program. Errors: kInvalidArgument
    // naming the option ("max_per_member", "half_life_days", ...) or the offer field.
    static Result<OfferSelection> Create(std::span<const SelectableOffer> offers,
                                         SelectionOptions options);

    MemberSelection ForMember(const MemberHistory& history) const;

  private:
    OfferSelection() = default;
    SelectionOptions options_;
    std::vector<SelectableOffer> offers_;  // current ones, sorted by offer id
    std::unordered_map<std::string, std::vector<std::size_t>> by_program_;  // into offers_
};

}  // namespace kizuna::core
