#pragma once
// The request bodies a store node may also push offline (POST /v1/sync/push), read the one way
// the online endpoint reads them. Each defined beside its online handler; problems are left in
// the reader (check ok() after), named by their full path.

#include <string>

#include "http/json.hpp"
#include "http/json_reader.hpp"
#include "hub/member_service.hpp"
#include "hub/points_service.hpp"
#include "hub/reservation_service.hpp"

namespace kizuna::http {

// POST /v1/members (members_handler.cpp).
hub::NewMember ReadNewMember(JsonReader& body);
// POST /v1/purchases (purchases_handler.cpp).
hub::PurchaseRequest ReadPurchaseRequest(JsonReader& body);
// POST /v1/purchases/{id}/refunds, for the purchase `purchase_id` (purchases_handler.cpp).
hub::RefundRequest ReadRefundRequest(JsonReader& body, const std::string& purchase_id);
// POST /v1/redemptions (redemptions_handler.cpp).
hub::RedemptionRequest ReadRedemptionRequest(JsonReader& body);
// POST /v1/reservations (reservations_handler.cpp).
hub::ReservationRequest ReadReservationRequest(JsonReader& body);
// A reservation as every reservation endpoint answers it (reservations_handler.cpp).
Json ReservationToJson(const core::Reservation& reservation);

}  // namespace kizuna::http
