#include "core/offer_selection.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace kizuna::core {
namespace {

constexpr double kSecondsPerDay = 86400.0;
constexpr double kStoreWeight = 0.5;
constexpr double kProgramBonus = 0.1;

// Purchases counted towards one category, store or program.
struct Tally {
    std::string_view key;
    double weighted = 0;  // recency-weighted spend (categories) or visits (stores)
    int count = 0;
    Timestamp oldest = kLatestTime;
};

Tally& Find(std::vector<Tally>& tallies, std::string_view key) {
    for (Tally& t : tallies) {
        if (t.key == key) return t;
    }
    Tally& added = tallies.emplace_back();
    added.key = key;
    return added;
}

const Tally* Lookup(const std::vector<Tally>& tallies, std::string_view key) {
    for (const Tally& t : tallies) {
        if (t.key == key) return &t;
    }
    return nullptr;
}

void Count(Tally& tally, double weighted, Timestamp at) {
    tally.weighted += weighted;
    tally.count += 1;
    tally.oldest = std::min(tally.oldest, at);
}

// Whole days from `from` to `to`, rounded up, at least 1.
int DaysRoundedUp(Timestamp from, Timestamp to) {
    const double days = std::ceil(static_cast<double>((to - from).count()) / kSecondsPerDay);
    return std::max(1, static_cast<int>(days));
}

// What a member's purchases in the window add up to.
struct History {
    std::vector<Tally> categories;
    std::vector<Tally> stores;
    std::vector<Tally> programs;
    double total_spend = 0;   // recency-weighted, all categories
    double total_visits = 0;  // recency-weighted purchases
};

History Summarize(const MemberHistory& history, const SelectionOptions& options) {
    History p;
    const Timestamp window_start = options.now - std::chrono::days(options.lookback_days);
    for (const PurchaseSummary& purchase : history.purchases) {
        if (purchase.occurred_at > options.now || purchase.occurred_at < window_start) continue;
        const double age_days =
            static_cast<double>((options.now - purchase.occurred_at).count()) / kSecondsPerDay;
        const double w = std::exp2(-age_days / options.half_life_days);
        p.total_visits += w;
        Count(Find(p.stores, purchase.store_id), w, purchase.occurred_at);
        Count(Find(p.programs, purchase.program_id), w, purchase.occurred_at);
        for (std::size_t i = 0; i < purchase.spend.size(); ++i) {
            const CategorySpend& line = purchase.spend[i];
            const double spend = w * static_cast<double>(std::max<int64_t>(line.amount, 0));
            p.total_spend += spend;
            if (line.category.empty()) continue;
            Tally& tally = Find(p.categories, line.category);
            // A purchase counts once per category however many lines it has in it.
            bool seen_before = false;
            for (std::size_t j = 0; j < i; ++j) {
                seen_before = seen_before || purchase.spend[j].category == line.category;
            }
            tally.weighted += spend;
            if (!seen_before) {
                tally.count += 1;
                tally.oldest = std::min(tally.oldest, purchase.occurred_at);
            }
        }
    }
    return p;
}

bool Consented(const SelectionMember& member, Channel channel) {
    return channel == Channel::kEmail ? member.consents.email_offers && member.has_email
                                      : member.consents.postal_offers && member.has_postal_address;
}

int SentInPeriod(const MemberHistory& history, Channel channel) {
    return channel == Channel::kEmail ? history.sent_in_period_email
                                      : history.sent_in_period_postal;
}

std::string FormatCount(int64_t n) {
    std::string digits = std::to_string(n);
    std::string out;
    const std::size_t first = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i >= first && (i - first) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// Recency-weighted spend of the member in the offer's categories.
double CategorySpendOf(const SelectableOffer& offer, const History& profile) {
    double spend = 0;
    for (const std::string& category : offer.categories) {
        if (const Tally* t = Lookup(profile.categories, category)) spend += t->weighted;
    }
    return spend;
}

// The reasons an offer was chosen for a member with purchases: each category bought, the store
// visited, the program bought in.
std::vector<Reason> Explain(const SelectableOffer& offer, const History& profile, Timestamp now) {
    std::vector<Reason> reasons;
    for (const std::string& category : offer.categories) {
        const Tally* t = Lookup(profile.categories, category);
        if (t == nullptr || t->count == 0) continue;
        reasons.push_back(
            {ReasonKind::kCategoryBought, category, t->count, DaysRoundedUp(t->oldest, now), 0});
    }
    if (const Tally* store = Lookup(profile.stores, offer.store_id)) {
        reasons.push_back({ReasonKind::kStoreVisited, offer.store_id, store->count,
                           DaysRoundedUp(store->oldest, now), 0});
    }
    if (const Tally* program = Lookup(profile.programs, offer.program_id)) {
        reasons.push_back({ReasonKind::kProgramVisited, offer.program_id, program->count,
                           DaysRoundedUp(program->oldest, now), 0});
    }
    return reasons;
}

}  // namespace

std::string_view ChannelName(Channel channel) {
    return channel == Channel::kEmail ? "email" : "postal";
}

std::string DescribeReason(const Reason& r, ReasonLanguage language) {
    const std::string count = std::to_string(r.count);
    const std::string days = std::to_string(r.days);
    const bool ja = language == ReasonLanguage::kJapanese;
    switch (r.kind) {
        case ReasonKind::kCategoryBought:
            return ja ? days + "日間に「" + r.subject + "」を" + count + "回購入"
                      : "bought " + r.subject + " " + count + "× in " + days + " days";
        case ReasonKind::kStoreVisited:
            return ja ? days + "日間に店舗" + r.subject + "を" + count + "回利用"
                      : "visited store " + r.subject + " " + count + "× in " + days + " days";
        case ReasonKind::kProgramVisited:
            return ja ? days + "日間にプログラム" + r.subject + "で" + count + "回購入"
                      : "bought in program " + r.subject + " " + count + "× in " + days + " days";
        case ReasonKind::kGeneralOffer:
            return ja ? "プログラム" + r.subject + "の会員向けのオファー"
                      : "general offer of program " + r.subject;
        case ReasonKind::kPointsExpiring:
            return ja ? FormatCount(r.points) + "ポイントが" + days + "日以内に失効"
                      : FormatCount(r.points) + " points expire within " + days + " days";
    }
    return {};
}

Result<OfferSelection> OfferSelection::Create(std::span<const SelectableOffer> offers,
                                              SelectionOptions options) {
    if (options.max_per_member < 1) return InvalidField("max_per_member", "must be at least 1");
    if (options.cap_per_period < 1) return InvalidField("cap_per_period", "must be at least 1");
    if (options.lookback_days < 1 || options.lookback_days > 3660) {
        return InvalidField("lookback_days", "must be 1 to 3660");
    }
    if (!(options.half_life_days > 0) || options.half_life_days > 3660) {
        return InvalidField("half_life_days", "must be more than 0 and at most 3660");
    }
    if (options.expiry_notice_days < 0 || options.expiry_notice_days > 3660) {
        return InvalidField("expiry_notice_days", "must be 0 to 3660");
    }
    if (!IsTimeInRange(options.now)) return InvalidField("now", "must be a time from 1970 to 9999");
    OfferSelection selection;
    for (std::size_t i = 0; i < offers.size(); ++i) {
        const SelectableOffer& offer = offers[i];
        const std::string field = "offers[" + std::to_string(i) + "]";
        if (offer.offer_id.empty()) return InvalidField(field + ".offer_id", "must not be empty");
        if (offer.program_id.empty()) {
            return InvalidField(field + ".program_id", "must not be empty");
        }
        if (offer.valid_to <= offer.valid_from) {
            return InvalidField(field + ".valid_to", "must be after valid_from");
        }
        if (offer.valid_from <= options.now && options.now < offer.valid_to) {
            SelectableOffer& kept = selection.offers_.emplace_back(offer);
            // A category listed twice counts once.
            std::sort(kept.categories.begin(), kept.categories.end());
            kept.categories.erase(std::unique(kept.categories.begin(), kept.categories.end()),
                                  kept.categories.end());
        }
    }
    std::sort(
        selection.offers_.begin(), selection.offers_.end(),
        [](const SelectableOffer& a, const SelectableOffer& b) { return a.offer_id < b.offer_id; });
    for (std::size_t i = 0; i < selection.offers_.size(); ++i) {
        if (i > 0 && selection.offers_[i].offer_id == selection.offers_[i - 1].offer_id) {
            return InvalidField("offers", "must not repeat offer " + selection.offers_[i].offer_id);
        }
        selection.by_program_[selection.offers_[i].program_id].push_back(i);
    }
    selection.options_ = std::move(options);
    return selection;
}

MemberSelection OfferSelection::ForMember(const MemberHistory& history) const {
    const SelectionOptions& o = options_;
    const SelectionMember& member = history.member;
    MemberSelection result{member.member_id, {}};
    bool any_channel = false;
    for (Channel channel : o.channels) any_channel = any_channel || Consented(member, channel);
    if (!any_channel) return result;

    const History profile = Summarize(history, o);
    const bool bought = profile.total_visits > 0;
    std::vector<std::string_view> sent(history.offers_sent.begin(), history.offers_sent.end());
    std::sort(sent.begin(), sent.end());

    // Offers this member qualifies for, scored; the reasons are written for the chosen only.
    struct Candidate {
        double score;
        std::size_t index;  // into offers_, which is in offer id order
    };
    std::vector<Candidate> candidates;
    for (const std::string& program_id : member.program_ids) {
        const auto found = by_program_.find(program_id);
        if (found == by_program_.end()) continue;
        for (std::size_t index : found->second) {
            const SelectableOffer& offer = offers_[index];
            if (std::binary_search(sent.begin(), sent.end(), std::string_view(offer.offer_id))) {
                continue;
            }
            if (!bought) {
                if (o.include_members_without_purchases && offer.general) {
                    candidates.push_back({0.0, index});
                }
                continue;
            }
            const double category_spend = CategorySpendOf(offer, profile);
            const Tally* store = Lookup(profile.stores, offer.store_id);
            if (category_spend <= 0 && store == nullptr) continue;
            double score = profile.total_spend > 0 ? category_spend / profile.total_spend : 0;
            if (store != nullptr) score += kStoreWeight * store->weighted / profile.total_visits;
            if (Lookup(profile.programs, offer.program_id) != nullptr) score += kProgramBonus;
            candidates.push_back({score, index});
        }
    }
    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
        if (a.score != b.score) return a.score > b.score;
        return a.index < b.index;
    });
    int most_room = 0;
    for (Channel channel : o.channels) {
        if (Consented(member, channel)) {
            most_room = std::max(
                most_room,
                std::min(o.max_per_member, o.cap_per_period - SentInPeriod(history, channel)));
        }
    }
    if (static_cast<int>(candidates.size()) > most_room) {
        candidates.resize(static_cast<std::size_t>(std::max(most_room, 0)));
    }
    std::vector<ChosenItem> scored;
    for (const Candidate& c : candidates) {
        const SelectableOffer& offer = offers_[c.index];
        ChosenItem& item = scored.emplace_back();
        item.offer_id = offer.offer_id;
        item.program_id = offer.program_id;
        item.score = c.score;
        item.reasons =
            bought ? Explain(offer, profile, o.now)
                   : std::vector<Reason>{{ReasonKind::kGeneralOffer, offer.program_id, 0, 0, 0}};
    }

    // Expiry notices: points expiring within the notice window, one per program.
    std::map<std::string_view, ChosenItem> notices;
    if (o.expiry_notice_days > 0) {
        const Timestamp horizon = o.now + std::chrono::days(o.expiry_notice_days);
        for (const ExpiringPoints& lot : history.expiring) {
            if (lot.points <= 0 || lot.expires_at < o.now || lot.expires_at >= horizon) continue;
            auto [it, inserted] = notices.try_emplace(lot.program_id);
            ChosenItem& notice = it->second;
            if (inserted) {
                notice.kind = ItemKind::kExpiryNotice;
                notice.program_id = lot.program_id;
                notice.expires_at = lot.expires_at;
            }
            notice.points += lot.points;
            notice.expires_at = std::min(notice.expires_at, lot.expires_at);
        }
        for (auto& [program, notice] : notices) {
            notice.reasons.push_back({ReasonKind::kPointsExpiring, notice.program_id, 0,
                                      DaysRoundedUp(o.now, notice.expires_at), notice.points});
        }
    }

    for (Channel channel : o.channels) {
        if (!Consented(member, channel)) continue;
        const int room =
            std::min(o.max_per_member, o.cap_per_period - SentInPeriod(history, channel));
        for (int i = 0; i < room && i < static_cast<int>(scored.size()); ++i) {
            ChosenItem& item = result.items.emplace_back(scored[static_cast<std::size_t>(i)]);
            item.channel = channel;
        }
        for (const auto& [program, notice] : notices) {
            ChosenItem& item = result.items.emplace_back(notice);
            item.channel = channel;
        }
    }
    return result;
}

}  // namespace kizuna::core
