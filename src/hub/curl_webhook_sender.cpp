#include "hub/curl_webhook_sender.hpp"

#include <curl/curl.h>

#include <stdexcept>

#include "mail/curl_init.hpp"

namespace kizuna::hub {
namespace {

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

// Non-zero aborts the transfer: the sender is stopping.
int AbortWhenStopping(void* stopping, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<std::atomic<bool>*>(stopping)->load() ? 1 : 0;
}

}  // namespace

CurlWebhookSender::CurlWebhookSender(std::chrono::milliseconds connect_timeout,
                                     std::chrono::milliseconds timeout)
    : connect_timeout_(connect_timeout), timeout_(timeout) {
    mail::InitCurl();
    curl_ = curl_easy_init();
    if (curl_ == nullptr) throw std::runtime_error("libcurl could not create a handle");
}

CurlWebhookSender::~CurlWebhookSender() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

WebhookResponse CurlWebhookSender::Post(const WebhookRequest& request) {
    WebhookResponse response;
    if (stopping_.load()) {
        response.interrupted = true;
        return response;
    }
    CURL* curl = static_cast<CURL*>(curl_);
    curl_easy_reset(curl);
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
        headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    // libcurl would otherwise send "Expect: 100-continue" for larger bodies and wait for it.
    headers = curl_slist_append(headers, "Expect:");
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "Kizuna-Webhooks/1");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_.count()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortWhenStopping);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &stopping_);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);

    const CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (code != CURLE_OK) {
        response.interrupted = code == CURLE_ABORTED_BY_CALLBACK;
        response.error = error[0] != '\0' ? error : curl_easy_strerror(code);
        return response;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    if (status < 200 || status > 299) response.error = "HTTP " + std::to_string(status);
    return response;
}

}  // namespace kizuna::hub
