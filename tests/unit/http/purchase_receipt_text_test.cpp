// The purchase answer is written as text (PurchaseReceiptText) for speed; its bytes are the
// contract clients and the store node's sync already read.
#include <gtest/gtest.h>

#include <string>

#include "core/time.hpp"
#include "http/json.hpp"
#include "http/json_mapping.hpp"
#include "hub/points_service.hpp"

namespace kizuna::http {
namespace {

hub::PurchaseReceipt PlainSale() {
    hub::PurchaseReceipt r;
    r.purchase_id = "till-1:42";
    r.member_id = "1000000001";
    r.program_id = "pg_ekimae";
    r.total = 1980;
    r.points_earned = 19;
    r.balance = 119;
    r.currency = "JPY";
    r.amount_due = 1980;
    return r;
}

TEST(PurchaseReceiptText, PlainSaleHasTheDocumentedFieldsInOrder) {
    EXPECT_EQ(PurchaseReceiptText(PlainSale()),
              R"({"purchase_id":"till-1:42","member_id":"1000000001","program_id":"pg_ekimae",)"
              R"("total":1980,"points_earned":19,"balance":119,"replayed":false,)"
              R"("currency":"JPY","points_used":0,"points_value":0,"amount_due":1980})");
}

TEST(PurchaseReceiptText, ReceiptDetailsAddLinePointsAndNextExpiry) {
    hub::PurchaseReceipt r = PlainSale();
    r.replayed = true;
    r.points_used = 100;
    r.points_value = 100;
    r.amount_due = 1880;
    r.line_points = {10, 8, 0};
    r.next_expiry = hub::NextExpiry{119, *core::ParseRfc3339("2027-12-07T10:00:00Z", "at")};
    const std::string text = PurchaseReceiptText(r);
    EXPECT_EQ(
        text,
        R"({"purchase_id":"till-1:42","member_id":"1000000001","program_id":"pg_ekimae",)"
        R"("total":1980,"points_earned":19,"balance":119,"replayed":true,)"
        R"("currency":"JPY","points_used":100,"points_value":100,"amount_due":1880,)"
        R"("line_points":[10,8,0],"next_expiry":{"points":119,"at":"2027-12-07T10:00:00Z"}})");
    EXPECT_EQ(DumpJson(Json::parse(text)), text);  // valid JSON, compact as DumpJson writes it
}

}  // namespace
}  // namespace kizuna::http
