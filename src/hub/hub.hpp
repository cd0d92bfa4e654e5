#pragma once
// The hub: owns storage, the services and the hub's secrets (operator token, card signing key).
// src/cli wires it; src/http serves it. Services are thread-safe; call them from any thread.

#include <filesystem>
#include <memory>
#include <string>

#include "core/random.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "hub/admin_service.hpp"
#include "hub/auth_service.hpp"
#include "hub/campaign_service.hpp"
#include "hub/dispatch_service.hpp"
#include "hub/mail_delivery.hpp"
#include "hub/member_service.hpp"
#include "hub/merge_service.hpp"
#include "hub/offer_service.hpp"
#include "hub/points_service.hpp"
#include "hub/redemption_limit_service.hpp"
#include "hub/reservation_service.hpp"
#include "hub/rule_service.hpp"
#include "hub/settlement_service.hpp"
#include "hub/sync_service.hpp"
#include "hub/terminal_service.hpp"
#include "hub/tier_service.hpp"
#include "hub/webhook_service.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

struct HubOptions {
    std::filesystem::path data_dir;  // created if missing (mode 0700)
    std::string storage_url;         // empty: "sqlite://<data_dir>/kizuna.db"
    storage::StorageOptions storage_options;
    const core::Clock* clock = nullptr;  // null: the system clock
    core::Random* random = nullptr;      // null: the system CSPRNG
    int session_ttl_seconds = 24 * 3600;
    WebhookOptions webhooks;   // retry policy; `deliver` starts the delivery worker
    MailDeliveryOptions mail;  // SMTP; `deliver` starts the mail delivery worker
    DispatchOptions dispatch;  // offer dispatch; `run_worker` starts its worker
    // The hub's URL as members reach it, for links in mail (email confirmation, password reset).
    std::string public_url = "http://127.0.0.1:8080";
};

class Hub {
  public:
    // Opens storage (DIR/kizuna.db, mode 0600 like every file the hub makes in DIR), creates on
    // first start DIR/operator.token and DIR/card_signing.key
    // (mode 0600, each written to a temporary file, synced and renamed into place, so a crash
    // never leaves half a secret) and loads them. Only the operator token's digest is kept in
    // memory. Errors: kUnavailable (storage, files), kInvalidArgument (an empty data_dir, a
    // malformed operator.token or card_signing.key: the hub refuses to start rather than
    // replace a secret that cards or scripts already depend on; with HubOptions::mail.deliver,
    // an SMTP URL that is not smtp:// or smtps://).
    static core::Result<std::unique_ptr<Hub>> Open(HubOptions options);
    ~Hub();

    AuthService& auth() { return *auth_; }
    AdminService& admin() { return *admin_; }
    MemberService& members() { return *members_; }
    PointsService& points() { return *points_; }
    RuleService& rules() { return *rules_; }
    OfferService& offers() { return *offers_; }
    TerminalService& terminals() { return *terminals_; }
    ReservationService& reservations() { return *reservations_; }
    WebhookService& webhooks() { return *webhooks_; }
    SettlementService& settlements() { return *settlements_; }
    // Issue 19: redemption limits, campaigns, tiers, member merges.
    RedemptionLimitService& redemption_limits() { return *redemption_limits_; }
    CampaignService& campaigns() { return *campaigns_; }
    TierService& tiers() { return *tiers_; }
    MergeService& merges() { return *merges_; }
    SyncService& sync() { return *sync_; }
    DispatchService& dispatches() { return *dispatches_; }
    storage::Storage& storage() { return *storage_; }
    // Mail to members waits here (DIR/mail-outbox) for the delivery worker (HubOptions::mail).
    MailSpool& mail() { return *mail_; }

    const std::filesystem::path& operator_token_path() const { return operator_token_path_; }
    // The card-signing public key, 32 raw bytes (served at GET /v1/card-key).
    const std::string& card_public_key() const;

  private:
    Hub() = default;
    // Declared first so they outlive everything that refers to them.
    std::unique_ptr<core::Clock> owned_clock_;
    std::unique_ptr<core::Random> owned_random_;
    std::unique_ptr<storage::Storage> storage_;
    std::unique_ptr<class HubContext> context_;
    std::unique_ptr<AuthService> auth_;
    std::unique_ptr<AdminService> admin_;
    std::unique_ptr<MailSpool> mail_;
    std::unique_ptr<MemberService> members_;
    std::unique_ptr<PointsService> points_;
    std::unique_ptr<RuleService> rules_;
    std::unique_ptr<OfferService> offers_;
    std::unique_ptr<TerminalService> terminals_;
    std::unique_ptr<ReservationService> reservations_;
    std::unique_ptr<WebhookService> webhooks_;
    std::unique_ptr<SettlementService> settlements_;
    std::unique_ptr<RedemptionLimitService> redemption_limits_;
    std::unique_ptr<CampaignService> campaigns_;
    std::unique_ptr<TierService> tiers_;
    std::unique_ptr<MergeService> merges_;
    std::unique_ptr<SyncService> sync_;
    std::unique_ptr<DispatchService> dispatches_;
    std::filesystem::path operator_token_path_;
    // Declared last so they stop first, while the services they use still exist.
    std::unique_ptr<class CurlWebhookSender> webhook_sender_;
    std::unique_ptr<class WebhookWorker> webhook_worker_;
    std::unique_ptr<class MailDeliveryWorker> mail_worker_;
    std::unique_ptr<class DispatchWorker> dispatch_worker_;
};

}  // namespace kizuna::hub
