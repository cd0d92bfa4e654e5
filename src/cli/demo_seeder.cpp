#include "cli/demo_seeder.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "cli/output.hpp"
#include "core/earning_rule.hpp"
#include "core/offer.hpp"

namespace kizuna::cli {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// ---- the demo's world -------------------------------------------------------------------------

struct Name {
    const char* written;
    const char* kana;
    const char* roman;
};

constexpr Name kJapaneseSurnames[] = {
    {"佐藤", "サトウ", "sato"},
    {"鈴木", "スズキ", "suzuki"},
    {"高橋", "タカハシ", "takahashi"},
    {"田中", "タナカ", "tanaka"},
    {"伊藤", "イトウ", "ito"},
    {"渡辺", "ワタナベ", "watanabe"},
    {"山本", "ヤマモト", "yamamoto"},
    {"中村", "ナカムラ", "nakamura"},
    {"小林", "コバヤシ", "kobayashi"},
    {"加藤", "カトウ", "kato"},
    {"吉田", "ヨシダ", "yoshida"},
    {"山田", "ヤマダ", "yamada"},
    {"佐々木", "ササキ", "sasaki"},
    {"山口", "ヤマグチ", "yamaguchi"},
    {"松本", "マツモト", "matsumoto"},
    {"井上", "イノウエ", "inoue"},
    {"木村", "キムラ", "kimura"},
    {"林", "ハヤシ", "hayashi"},
    {"斎藤", "サイトウ", "saito"},
    {"清水", "シミズ", "shimizu"},
    {"森", "モリ", "mori"},
    {"池田", "イケダ", "ikeda"},
    {"橋本", "ハシモト", "hashimoto"},
    {"石川", "イシカワ", "ishikawa"},
};

constexpr Name kJapaneseGivenNames[] = {
    {"太郎", "タロウ", "taro"},      {"花子", "ハナコ", "hanako"},   {"翔太", "ショウタ", "shota"},
    {"陽菜", "ヒナ", "hina"},        {"大輝", "ダイキ", "daiki"},    {"結衣", "ユイ", "yui"},
    {"健一", "ケンイチ", "kenichi"}, {"美咲", "ミサキ", "misaki"},   {"蓮", "レン", "ren"},
    {"さくら", "サクラ", "sakura"},  {"悠斗", "ユウト", "yuto"},     {"葵", "アオイ", "aoi"},
    {"直樹", "ナオキ", "naoki"},     {"彩", "アヤ", "aya"},          {"拓也", "タクヤ", "takuya"},
    {"真由美", "マユミ", "mayumi"},  {"誠", "マコト", "makoto"},     {"恵子", "ケイコ", "keiko"},
    {"隆", "タカシ", "takashi"},     {"由美子", "ユミコ", "yumiko"},
};

constexpr Name kEnglishGivenNames[] = {
    {"Emma", "エマ", "emma"},         {"Oliver", "オリバー", "oliver"},
    {"Sophie", "ソフィー", "sophie"}, {"James", "ジェームズ", "james"},
    {"Olivia", "オリビア", "olivia"}, {"Liam", "リアム", "liam"},
    {"Mia", "ミア", "mia"},           {"Noah", "ノア", "noah"},
    {"Grace", "グレース", "grace"},   {"Lucas", "ルーカス", "lucas"},
    {"Chloe", "クロエ", "chloe"},     {"Daniel", "ダニエル", "daniel"},
    {"Hannah", "ハンナ", "hannah"},   {"Ethan", "イーサン", "ethan"},
};

constexpr Name kEnglishSurnames[] = {
    {"Smith", "スミス", "smith"},       {"Johnson", "ジョンソン", "johnson"},
    {"Brown", "ブラウン", "brown"},     {"Taylor", "テイラー", "taylor"},
    {"Wilson", "ウィルソン", "wilson"}, {"Davies", "デイビス", "davies"},
    {"Clarke", "クラーク", "clarke"},   {"Walker", "ウォーカー", "walker"},
    {"Wright", "ライト", "wright"},     {"Evans", "エバンス", "evans"},
    {"Hughes", "ヒューズ", "hughes"},   {"Carter", "カーター", "carter"},
};

struct Area {
    const char* postal_code;
    const char* address;
    const char* phone_area;  // landline area code
};

constexpr Area kAreas[] = {
    {"150-0002", "東京都渋谷区渋谷", "03"},
    {"160-0022", "東京都新宿区新宿", "03"},
    {"171-0022", "東京都豊島区南池袋", "03"},
    {"113-0033", "東京都文京区本郷", "03"},
    {"154-0004", "東京都世田谷区太子堂", "03"},
    {"180-0004", "東京都武蔵野市吉祥寺本町", "0422"},
    {"220-0011", "神奈川県横浜市西区高島", "045"},
    {"330-0063", "埼玉県さいたま市浦和区高砂", "048"},
    {"260-0028", "千葉県千葉市中央区新町", "043"},
    {"530-0001", "大阪府大阪市北区梅田", "06"},
    {"600-8216", "京都府京都市下京区東塩小路町", "075"},
    {"460-0008", "愛知県名古屋市中区栄", "052"},
    {"810-0001", "福岡県福岡市中央区天神", "092"},
    {"060-0005", "北海道札幌市中央区北五条西", "011"},
};

constexpr const char* kBuildings[] = {"メゾン桜", "グランドハイツ", "コーポ緑", "パークサイド",
                                      "ライオンズマンション"};

constexpr const char* kJapaneseOccupations[] = {"会社員",     "学生",       "自営業", "公務員",
                                                "パート",     "エンジニア", "教員",   "看護師",
                                                "デザイナー", "主婦",       "主夫",   "無職"};
constexpr const char* kEnglishOccupations[] = {
    "Software engineer", "English teacher", "Student", "Designer", "Consultant", "Researcher"};

struct Product {
    const char* name;
    const char* category;
    int64_t price;
    const char* sku;
};

constexpr Product kBookshop[] = {
    {"文庫本『こころ』夏目漱石", "books", 506, "4101010013"},
    {"文庫本『雪国』川端康成", "books", 572, "4101001014"},
    {"単行本『コンビニ人間』", "books", 1430, "4163907238"},
    {"新書『日本語の作文技術』", "books", 935, "4022618776"},
    {"漫画『ワンピース』最新刊", "books", 528, "4088838343"},
    {"Norwegian Wood (paperback)", "books", 1650, "0099448823"},
    {"絵本『はらぺこあおむし』", "books", 1320, "4033280103"},
    {"週刊誌", "magazines", 450, "MAG-WEEKLY"},
    {"月刊 料理雑誌", "magazines", 980, "MAG-COOKING"},
    {"旅行ガイド 京都", "magazines", 1540, "GUIDE-KYOTO"},
    {"ノート A5 5冊パック", "stationery", 660, "ST-NOTE-A5"},
    {"ゲルインクボールペン", "stationery", 165, "ST-PEN-GEL"},
    {"手帳 2027", "stationery", 1980, "ST-PLANNER"},
    {"布製ブックカバー", "stationery", 1100, "ST-COVER"},
};

constexpr Product kCafe[] = {
    {"ブレンドコーヒー", "coffee", 450, "CF-BLEND"},
    {"カフェラテ", "coffee", 520, "CF-LATTE"},
    {"抹茶ラテ", "coffee", 580, "CF-MATCHA"},
    {"アイスコーヒー", "coffee", 430, "CF-ICED"},
    {"ホットサンド", "food", 680, "FD-SANDWICH"},
    {"チーズケーキ", "food", 520, "FD-CHEESECAKE"},
    {"スコーン", "food", 380, "FD-SCONE"},
    {"季節のパフェ", "food", 980, "FD-PARFAIT"},
    {"コーヒー豆 ハウスブレンド 200g", "beans", 1480, "BN-HOUSE-200"},
    {"ドリップバッグ 10袋", "beans", 1200, "BN-DRIP-10"},
};

constexpr Product kMallShop[] = {
    {"ワイヤレスイヤホン", "electronics", 12800, "EL-EARBUDS"},
    {"モバイルバッテリー 10000mAh", "electronics", 3980, "EL-BATTERY"},
    {"USB-C ケーブル 2m", "electronics", 1280, "EL-USBC"},
    {"綿 Tシャツ", "fashion", 2990, "FA-TSHIRT"},
    {"スニーカー", "fashion", 8900, "FA-SNEAKERS"},
    {"キャンバス トートバッグ", "fashion", 3490, "FA-TOTE"},
    {"有田焼 マグカップ", "home", 1650, "HM-MUG"},
    {"今治タオル ギフトセット", "home", 3300, "HM-TOWEL"},
    {"宇治抹茶 100g", "food", 2160, "FD-MATCHA"},
};

struct OfferText {
    const char* title;
    const char* body;
    std::vector<std::string> categories;
    int starts_in_days;  // relative to now; negative: already running
    int length_days;
};

struct StoreSpec {
    const char* name;
    core::StoreKind kind;
    bool in_chain;
    const Product* catalog;
    std::size_t catalog_size;
    int open_hour, close_hour;  // local (JST) hours when purchases happen
    int max_lines;
    std::vector<OfferText> offers;
};

const std::vector<StoreSpec>& Stores() {
    static const std::vector<StoreSpec> stores = {
        {"駅前書店 渋谷店 / Ekimae Books Shibuya",
         core::StoreKind::kPhysical,
         true,
         kBookshop,
         std::size(kBookshop),
         10,
         21,
         4,
         {{"新刊フェア：文庫本ポイント2倍 / New paperbacks, double points",
           "今月の新刊文庫を集めました。文庫本はいつでもポイント2倍。\nThis month's new "
           "paperbacks; paperbacks always earn double points.",
           {"books"},
           -3,
           30},
          {"2027年の手帳、入荷しました / 2027 planners are in",
           "定番の手帳からデザイン手帳まで。Planners from classic to designer.",
           {"stationery"},
           -10,
           45}}},
        {"駅前カフェ 新宿店 / Ekimae Café Shinjuku",
         core::StoreKind::kPhysical,
         true,
         kCafe,
         std::size(kCafe),
         7,
         21,
         3,
         {{"冬限定「ほうじ茶ラテ」 / Winter-only hojicha latte",
           "香ばしいほうじ茶ラテが今年も登場。A toasty hojicha latte, back for winter.",
           {"coffee"},
           -5,
           60},
          {"コーヒー豆 10%増量 / Coffee beans: 10% extra",
           "ハウスブレンドを 220g でお届けします。House blend beans, 220 g for the price of "
           "200 g.",
           {"beans"},
           10,
           14}}},
        {"さくらモール 駅前ショップ / Sakura Mall Ekimae Shop",
         core::StoreKind::kOnline,
         false,
         kMallShop,
         std::size(kMallShop),
         0,
         24,
         3,
         {{"年末セール 最大30%オフ / Year-end sale, up to 30% off",
           "イヤホン、スニーカーなど人気商品がお買い得。Earbuds, sneakers and more.",
           {"electronics", "fashion"},
           -2,
           35},
          {"今治タオル ギフト特集 / Imabari towel gifts",
           "贈り物に今治タオルを。Imabari towels for the gift season.",
           {"home"},
           -7,
           40}}}};
    return stores;
}

constexpr const char* kChainProgram = "駅前チェーン / Ekimae chain";

// JST is UTC+9 all year: a simulated local day runs from 15:00 UTC of the day before.
constexpr hours kJst{9};

core::Timestamp LocalMidnight(core::Timestamp t) {
    return std::chrono::floor<days>(t + kJst) - kJst;
}

// ---- the simulation ------------------------------------------------------------------------

struct DemoMember {
    std::string name, name_kana, email, password;
    core::Profile profile;
    core::Consents consents;
    int enroll_day = 0;
    int enroll_store = -1;  // -1: self-service
    double weekly_purchases = 0;
    double store_weight[3] = {0, 0, 0};
    // Filled as the simulation runs.
    std::string member_id, card_number;
    std::map<std::string, int64_t> balances;  // program -> points, as the hub last said
};

struct DemoStore {
    const StoreSpec* spec = nullptr;
    hub::Caller caller;
    std::string api_key;
    std::string program_name;
};

struct PlannedPurchase {
    std::size_t member = 0;
    std::size_t store = 0;
    core::Timestamp at{};
    std::vector<core::PurchaseLine> lines;
    std::string id;
    int64_t redeem = 0;  // points to try to spend right after, 0 for none
};

struct PastPurchase {
    std::string id;
    std::size_t store = 0;
    std::vector<core::PurchaseLine> lines;
    int64_t total = 0;
};

std::string Pick(SeededRandom& random, const auto& table) {
    return table[random.Uniform(std::size(table))];
}

double Fraction(SeededRandom& random) {
    return static_cast<double>(random.Uniform(1'000'000)) / 1'000'000.0;
}

std::string Digits(SeededRandom& random, int count) {
    std::string text;
    for (int i = 0; i < count; ++i) text.push_back(static_cast<char>('0' + random.Uniform(10)));
    return text;
}

std::string Phone(SeededRandom& random, const Area& area) {
    if (random.Uniform(10) < 7) {
        static constexpr const char* kMobile[] = {"090", "080", "070"};
        return std::string(kMobile[random.Uniform(3)]) + "-" + Digits(random, 4) + "-" +
               Digits(random, 4);
    }
    const std::string code = area.phone_area;
    // A landline has ten digits: area code (with its 0) and exchange make six of them.
    const int exchange = static_cast<int>(6 - code.size());
    return code + "-" + Digits(random, exchange) + "-" + Digits(random, 4);
}

DemoMember MakeMember(SeededRandom& random, std::size_t index, int history_days) {
    DemoMember m;
    const bool english = index == 1 || (index != 0 && random.Uniform(100) < 22);
    std::string roman_given, roman_family;
    if (english) {
        const Name& given = kEnglishGivenNames[random.Uniform(std::size(kEnglishGivenNames))];
        const Name& family = kEnglishSurnames[random.Uniform(std::size(kEnglishSurnames))];
        m.profile.name = std::string(given.written) + " " + family.written;
        m.profile.name_kana = std::string(given.kana) + " " + family.kana;
        roman_given = given.roman;
        roman_family = family.roman;
        m.profile.occupation = Pick(random, kEnglishOccupations);
    } else {
        const Name& family = kJapaneseSurnames[random.Uniform(std::size(kJapaneseSurnames))];
        const Name& given = kJapaneseGivenNames[random.Uniform(std::size(kJapaneseGivenNames))];
        m.profile.name = std::string(family.written) + " " + given.written;
        m.profile.name_kana = std::string(family.kana) + " " + given.kana;
        roman_given = given.roman;
        roman_family = family.roman;
        m.profile.occupation = Pick(random, kJapaneseOccupations);
    }
    const Area& area = kAreas[random.Uniform(std::size(kAreas))];
    m.profile.postal_code = area.postal_code;
    m.profile.address = std::string(area.address) + std::to_string(1 + random.Uniform(5)) + "丁目" +
                        std::to_string(1 + random.Uniform(30)) + "-" +
                        std::to_string(1 + random.Uniform(20));
    if (random.Uniform(2) == 0) {
        m.profile.address += " " + Pick(random, kBuildings) + " " +
                             std::to_string(1 + random.Uniform(9)) + "0" +
                             std::to_string(1 + random.Uniform(9)) + "号室";
    }
    m.profile.phone = Phone(random, area);
    char birth[48];
    std::snprintf(
        birth, sizeof birth, "%04d-%02d-%02d", 1950 + static_cast<int>(random.Uniform(56)),
        1 + static_cast<int>(random.Uniform(12)), 1 + static_cast<int>(random.Uniform(28)));
    m.profile.birth_date = birth;
    const bool has_email = index < 2 || random.Uniform(100) < 85;
    if (has_email) {
        m.profile.email = roman_given + "." + roman_family + "." + std::to_string(index + 1) +
                          (english ? "@example.com" : "@example.jp");
    }
    m.consents.email_offers = has_email && (index < 2 || random.Uniform(100) < 60);
    m.consents.postal_offers = random.Uniform(100) < 35;
    m.consents.share_profile = index < 2 || random.Uniform(100) < 70;

    static constexpr char kAlphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
    m.password = "demo-";
    for (int i = 0; i < 8; ++i)
        m.password.push_back(kAlphabet[random.Uniform(sizeof kAlphabet - 1)]);

    // The two members printed for trying the demo joined early and shop often.
    if (index < 2) {
        m.enroll_day = static_cast<int>(random.Uniform(4));
        m.weekly_purchases = 1.3;
    } else {
        m.enroll_day = static_cast<int>(random.Uniform(static_cast<uint64_t>(history_days * 0.85)));
        m.weekly_purchases = 0.12 + Fraction(random) * 0.65;
    }
    m.enroll_store = random.Uniform(10) < 7 ? static_cast<int>(random.Uniform(3)) : -1;
    for (double& w : m.store_weight) w = 0.1 + Fraction(random);
    if (index < 2) m.store_weight[0] = m.store_weight[1] = m.store_weight[2] = 1.0;
    return m;
}

std::size_t ChooseStore(SeededRandom& random, const DemoMember& m) {
    const double total = m.store_weight[0] + m.store_weight[1] + m.store_weight[2];
    double x = Fraction(random) * total;
    for (std::size_t s = 0; s < 3; ++s) {
        if (x < m.store_weight[s]) return s;
        x -= m.store_weight[s];
    }
    return 2;
}

std::vector<core::PurchaseLine> Basket(SeededRandom& random, const StoreSpec& store) {
    std::vector<core::PurchaseLine> lines;
    const int count = 1 + static_cast<int>(random.Uniform(static_cast<uint64_t>(store.max_lines)));
    for (int i = 0; i < count; ++i) {
        const Product& p = store.catalog[random.Uniform(store.catalog_size)];
        auto same = std::find_if(lines.begin(), lines.end(),
                                 [&](const core::PurchaseLine& l) { return l.sku == p.sku; });
        if (same != lines.end()) {
            ++same->quantity;
            continue;
        }
        core::PurchaseLine line;
        line.name = p.name;
        line.category = p.category;
        line.sku = p.sku;
        line.unit_price = p.price;
        line.quantity = random.Uniform(6) == 0 ? 2 : 1;
        lines.push_back(std::move(line));
    }
    return lines;
}

std::string Describe(const core::Error& error) {
    return std::string(core::ErrorCodeName(error.code)) + ": " + error.message;
}

core::Error SeedError(const std::string& what, const core::Error& error) {
    return core::MakeError(error.code, "demo: " + what + ": " + Describe(error), error.field);
}

core::EarningRule Rule(const std::string& store_id, int64_t amount_per_point,
                       core::Rounding rounding, std::map<std::string, int64_t> multipliers,
                       std::vector<core::BonusWindow> windows, int validity_days) {
    core::EarningRule rule;
    rule.store_id = store_id;
    rule.amount_per_point = amount_per_point;
    rule.rounding = rounding;
    rule.category_multipliers_milli = std::move(multipliers);
    rule.bonus_windows = std::move(windows);
    rule.validity_days = validity_days;
    return rule;
}

// Runs `work(i)` for i in [0, count) on up to `workers` threads; returns the first error.
core::Status ParallelFor(std::size_t count, int workers,
                         const std::function<core::Status(std::size_t)>& work) {
    std::atomic<std::size_t> next{0};
    std::mutex error_mutex;
    std::optional<core::Error> first_error;
    auto loop = [&] {
        for (std::size_t i = next++; i < count; i = next++) {
            auto status = work(i);
            if (!status) {
                std::lock_guard lock(error_mutex);
                if (!first_error) first_error = status.error();
                next = count;
            }
        }
    };
    std::vector<std::thread> threads;
    const std::size_t n =
        std::min<std::size_t>(static_cast<std::size_t>(std::max(1, workers)), count);
    for (std::size_t t = 1; t < n; ++t) threads.emplace_back(loop);
    loop();
    for (auto& t : threads) t.join();
    if (first_error) return *first_error;
    return core::Status::Ok();
}

}  // namespace

DemoSeeder::DemoSeeder(hub::Hub& hub, DemoClock& clock, DemoSeedOptions options,
                       std::function<void(std::string_view)> progress)
    : hub_(hub), clock_(clock), options_(options), progress_(std::move(progress)) {}

core::Result<DemoSummary> DemoSeeder::Run() {
    SeededRandom random(options_.seed * 0x9E3779B97F4A7C15ULL + 7);
    DemoSummary summary;
    const core::Timestamp real_now = std::chrono::floor<seconds>(std::chrono::system_clock::now());
    const core::Timestamp first_day = LocalMidnight(real_now) - days(options_.days);
    auto day_start = [&](int d) { return first_day + days(d); };
    auto day_end = [&](int d) { return day_start(d) + hours(24) - seconds(1); };

    // Programs, stores and rules, on the first simulated day.
    clock_.Pin(day_start(0));
    const hub::Caller op = hub::Caller::Operator();
    auto chain = hub_.admin().CreateProgram(op, kChainProgram);
    if (!chain) return SeedError("creating the chain's program", chain.error());
    std::vector<DemoStore> stores;
    for (const StoreSpec& spec : Stores()) {
        hub::NewStore request;
        request.name = spec.name;
        request.kind = spec.kind;
        if (spec.in_chain) request.program_id = chain->program_id;
        auto created = hub_.admin().CreateStore(op, request);
        if (!created) return SeedError(std::string("creating store ") + spec.name, created.error());
        DemoStore store;
        store.spec = &spec;
        store.caller =
            hub::Caller{hub::Role::kStore, created->store.store_id, created->store.program_id, {}};
        store.api_key = created->api_key;
        store.program_name = spec.in_chain ? kChainProgram : spec.name;
        stores.push_back(std::move(store));
    }
    // A yearly date's occurrence inside the simulated history, at midnight JST.
    const auto first_date =
        std::chrono::year_month_day(std::chrono::floor<days>(day_start(0) + kJst));
    auto within_history = [&](unsigned month, unsigned day) {
        std::chrono::year_month_day date{first_date.year(), std::chrono::month(month),
                                         std::chrono::day(day)};
        if (std::chrono::sys_days(date) < std::chrono::sys_days(first_date)) {
            date += std::chrono::years(1);
        }
        return core::Timestamp(std::chrono::sys_days(date)) - kJst;
    };
    const std::vector<core::EarningRule> rules = {
        // Bookshop: books earn double; reading week (late October) doubles everything.
        Rule(stores[0].caller.store_id, 100, core::Rounding::kFloor,
             {{"books", 2000}, {"magazines", 1000}, {"stationery", 1000}},
             {{within_history(10, 27), within_history(10, 27) + days(14), 2000}}, 365),
        // Café: beans earn double.
        Rule(stores[1].caller.store_id, 100, core::Rounding::kFloor,
             {{"beans", 2000}, {"coffee", 1000}, {"food", 1000}}, {}, 365),
        // Mall shop: 1 point per 200 yen, electronics half, home goods double, big sale weeks.
        Rule(stores[2].caller.store_id, 200, core::Rounding::kNearest,
             {{"electronics", 500}, {"home", 2000}},
             {{within_history(11, 20), within_history(11, 20) + days(11), 3000},
              {within_history(1, 1), within_history(1, 1) + days(7), 2000}},
             180),
    };
    for (std::size_t s = 0; s < stores.size(); ++s) {
        auto set = hub_.rules().SetRule(stores[s].caller, stores[s].caller.store_id, rules[s]);
        if (!set)
            return SeedError("setting the rule of " + std::string(stores[s].spec->name),
                             set.error());
    }

    // Members, generated up front so that the world does not depend on timing.
    std::vector<DemoMember> members;
    for (int i = 0; i < options_.members; ++i) {
        members.push_back(MakeMember(random, static_cast<std::size_t>(i), options_.days));
    }

    std::mutex history_mutex;
    std::vector<PastPurchase> history;
    std::atomic<int64_t> purchases{0}, redemptions{0}, points_earned{0}, points_redeemed{0};
    int64_t enrolled = 0;
    int last_month = -1;

    // The year runs a week at a time: each day's enrollments in order (they draw ids from the
    // hub's seeded generator), then the week's shopping, decided up front and run member by
    // member in parallel. A member's purchases stay in order, so balances never depend on
    // scheduling, and many members at once let the group commit batch their writes.
    for (int week_start = 0; week_start < options_.days; week_start += 7) {
        if (options_.stop != nullptr && options_.stop->load()) {
            return core::MakeError(core::ErrorCode::kUnavailable, "demo: seeding interrupted");
        }
        const int week_end = std::min(week_start + 7, options_.days);
        std::map<std::size_t, std::vector<PlannedPurchase>> plans;  // member -> in time order
        for (int d = week_start; d < week_end; ++d) {
            // Members join as the day opens, so that the day's sales come after their card.
            clock_.Pin(day_start(d));
            for (std::size_t i = 0; i < members.size(); ++i) {
                DemoMember& m = members[i];
                if (m.enroll_day != d) continue;
                hub::NewMember request;
                request.password = m.password;
                request.profile = m.profile;
                request.consents = m.consents;
                // Random phones may repeat: a household's shared line.
                request.shared_phone = true;
                // Portal members confirmed their address there; a store's are asked by mail.
                request.email_confirmed_elsewhere = m.enroll_store < 0;
                // Members who enrolled at the portal are made as the operator would: the demo
                // has no mailbox to confirm an email from (MemberService::RequestEnrollment).
                const hub::Caller caller =
                    m.enroll_store >= 0 ? stores[static_cast<std::size_t>(m.enroll_store)].caller
                                        : hub::Caller::Operator();
                auto enrolled_member = hub_.members().Enroll(caller, request);
                if (!enrolled_member) {
                    return SeedError("enrolling " + m.profile.name, enrolled_member.error());
                }
                m.member_id = enrolled_member->member_id;
                m.card_number = enrolled_member->card.card.card_number;
                ++enrolled;
            }
            clock_.Pin(day_end(d));
            // The café changes its rule halfway through: a campaign on food.
            if (d == options_.days / 2) {
                auto set = hub_.rules().SetRule(
                    stores[1].caller, stores[1].caller.store_id,
                    Rule(stores[1].caller.store_id, 100, core::Rounding::kCeil,
                         {{"beans", 2000}, {"coffee", 1000}, {"food", 1500}}, {}, 365));
                if (!set) return SeedError("changing the café's rule", set.error());
            }
            for (std::size_t i = 0; i < members.size(); ++i) {
                const DemoMember& m = members[i];
                if (m.member_id.empty()) continue;
                double expected = m.weekly_purchases / 7.0;
                for (int n = 0; Fraction(random) < expected; ++n) {
                    expected -= 1.0;
                    PlannedPurchase p;
                    p.member = i;
                    p.store = ChooseStore(random, m);
                    const StoreSpec& spec = *stores[p.store].spec;
                    const int open_minutes = (spec.close_hour - spec.open_hour) * 60;
                    p.at = day_start(d) + hours(spec.open_hour) +
                           minutes(random.Uniform(static_cast<uint64_t>(open_minutes)));
                    if (p.at > day_end(d)) p.at = day_end(d);
                    p.lines = Basket(random, spec);
                    char id[64];
                    std::snprintf(id, sizeof id, "demo-%03d-%04zu-%d", d, i, n);
                    p.id = id;
                    // Now and then a member spends points at the till.
                    if (random.Uniform(100) < 15) {
                        p.redeem = 100 * (1 + static_cast<int64_t>(random.Uniform(3)));
                    }
                    plans[i].push_back(std::move(p));
                }
            }
        }
        clock_.Pin(day_end(week_end - 1));
        std::vector<std::vector<PlannedPurchase>*> tasks;
        for (auto& [member, list] : plans) {
            std::stable_sort(
                list.begin(), list.end(),
                [](const PlannedPurchase& a, const PlannedPurchase& b) { return a.at < b.at; });
            tasks.push_back(&list);
        }
        auto ran = ParallelFor(tasks.size(), options_.workers, [&](std::size_t k) -> core::Status {
            for (const PlannedPurchase& p : *tasks[k]) {
                DemoMember& m = members[p.member];
                const DemoStore& store = stores[p.store];
                hub::PurchaseRequest request;
                request.purchase_id = p.id;
                request.member.card_number = m.card_number;
                request.occurred_at = p.at;
                request.lines = p.lines;
                // A week of sales booked at its end, as a store node's sync would push them.
                request.origin = core::PurchaseOrigin::kNodeSync;
                auto receipt = hub_.points().RecordPurchase(store.caller, request);
                if (!receipt) return SeedError("recording purchase " + p.id, receipt.error());
                ++purchases;
                points_earned += receipt->points_earned;
                int64_t& balance = m.balances[store.caller.program_id];
                balance = receipt->balance;
                {
                    std::lock_guard lock(history_mutex);
                    history.push_back({p.id, p.store, p.lines, receipt->total});
                }
                const int64_t spend = std::min(p.redeem, balance / 100 * 100);
                if (spend < 100) continue;
                hub::RedemptionRequest redeem;
                redeem.redemption_id = p.id + "-r";
                redeem.member.member_id = m.member_id;
                redeem.points = spend;
                auto redeemed = hub_.points().Redeem(store.caller, redeem);
                if (redeemed) {
                    ++redemptions;
                    points_redeemed += spend;
                    balance = redeemed->balance;
                } else if (redeemed.error().code != core::ErrorCode::kInsufficientPoints) {
                    // Insufficient points is expected now and then (lots expire between the
                    // purchase and the week's end); anything else is a failure.
                    return SeedError("redeeming " + redeem.redemption_id, redeemed.error());
                }
            }
            return core::Status::Ok();
        });
        if (!ran) return ran.error();

        const auto ymd =
            std::chrono::year_month_day(std::chrono::floor<days>(day_start(week_end - 1) + kJst));
        const int month = static_cast<int>(static_cast<unsigned>(ymd.month()));
        if (month != last_month) {
            last_month = month;
            char line[256];
            std::snprintf(line, sizeof line,
                          "seeding %04d-%02d: %lld members, %s purchases, %s redemptions",
                          static_cast<int>(ymd.year()), month, static_cast<long long>(enrolled),
                          GroupThousands(purchases.load()).c_str(),
                          GroupThousands(redemptions.load()).c_str());
            progress_(line);
        }
    }

    // A few returns at the end of the history: some items back, some whole purchases.
    std::sort(history.begin(), history.end(),
              [](const PastPurchase& a, const PastPurchase& b) { return a.id < b.id; });
    int64_t refunds = 0;
    for (std::size_t k = 0; k < history.size() && refunds < 6; k += history.size() / 7 + 1) {
        const PastPurchase& p = history[k];
        hub::RefundRequest request;
        request.refund_id = p.id + "-refund";
        request.purchase_id = p.id;
        if (refunds % 3 == 2 || p.lines.size() < 2) {
            request.amount = p.total;
        } else {
            core::PurchaseLine line;
            line.sku = p.lines.back().sku;
            line.name = p.lines.back().name;
            line.quantity = 1;
            request.lines.push_back(line);
        }
        auto refunded = hub_.points().Refund(stores[p.store].caller, request);
        if (!refunded) return SeedError("refunding " + p.id, refunded.error());
        ++refunds;
    }

    // Each store's current and coming offers.
    for (const DemoStore& store : stores) {
        for (const OfferText& text : store.spec->offers) {
            core::Offer offer;
            offer.title = text.title;
            offer.body = text.body;
            offer.categories = text.categories;
            offer.valid_from = LocalMidnight(real_now) + days(text.starts_in_days);
            offer.valid_to = offer.valid_from + days(text.length_days);
            auto created = hub_.offers().CreateOffer(store.caller, offer);
            if (!created)
                return SeedError(std::string("creating offer ") + text.title, created.error());
            ++summary.offers;
        }
    }

    for (const DemoStore& store : stores) {
        const Product& sample = store.spec->catalog[0];
        summary.stores.push_back({store.caller.store_id, store.spec->name,
                                  std::string(core::StoreKindName(store.spec->kind)),
                                  store.caller.program_id, store.program_name, store.api_key,
                                  std::string(sample.name) + "," + sample.category + "," +
                                      std::to_string(sample.price)});
    }
    for (std::size_t i = 0; i < std::min<std::size_t>(2, members.size()); ++i) {
        summary.members_to_try.push_back({members[i].member_id, members[i].card_number,
                                          members[i].password, members[i].profile.name,
                                          members[i].profile.email});
    }
    summary.members = enrolled;
    summary.purchases = purchases.load();
    summary.redemptions = redemptions.load();
    summary.refunds = refunds;
    summary.points_earned = points_earned.load();
    summary.points_redeemed = points_redeemed.load();
    return summary;
}

}  // namespace kizuna::cli
