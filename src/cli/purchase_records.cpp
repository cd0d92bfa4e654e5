#include "cli/purchase_records.hpp"

#include <string>

#include "cli/output.hpp"

namespace kizuna::cli {

using nlohmann::json;

void PrintPurchaseRecords(std::ostream& out, const json& purchases, std::size_t most) {
    Table table({"when", "store", "purchase id", "total", "points", "points used", "status"});
    table.AlignRight(3);
    table.AlignRight(4);
    table.AlignRight(5);
    std::size_t shown = 0;
    for (const auto& p : purchases) {
        if (most > 0 && ++shown > most) break;
        const std::string currency = JsonString(p, "currency");
        const std::string status = JsonString(p, "status");
        const bool voided = status == "voided";
        const int64_t earned = JsonInt(p, "points_earned");
        const int64_t used = JsonInt(p, "points_used");
        // What is left of the sale after refunds or a void, and what they took.
        std::string total = FormatMoney(JsonInt(p, "net_total", JsonInt(p, "total")), currency);
        if (voided) {
            total += " (" + FormatMoney(JsonInt(p, "total"), currency) + " voided)";
        } else if (JsonInt(p, "refunded_amount") > 0) {
            total += " (refunded " + FormatMoney(JsonInt(p, "refunded_amount"), currency) + ")";
        }
        std::string points = GroupThousands(JsonInt(p, "net_points", earned));
        if (voided && earned > 0) points += " (" + GroupThousands(earned) + " taken back)";
        std::string points_used;
        if (used > 0) {
            points_used = GroupThousands(JsonInt(p, "net_points_used", used));
            points_used += voided ? " (" + GroupThousands(used) + " given back)"
                                  : " (" + FormatMoney(JsonInt(p, "points_value"), currency) + ")";
        }
        std::string said = status == "partly_refunded" ? "partly refunded"
                           : status == "completed"     ? ""
                                                       : status;
        if (voided) {
            const json v = p.value("void", json::object());
            said += " " + LocalTime(JsonString(v, "voided_at"));
        }
        table.AddRow({LocalTime(JsonString(p, "occurred_at")),
                      JsonString(p, "store_name", JsonString(p, "store_id")),
                      JsonString(p, "purchase_id"), total, points, points_used, said});
    }
    table.Print(out, "No purchases.\n");
}

}  // namespace kizuna::cli
