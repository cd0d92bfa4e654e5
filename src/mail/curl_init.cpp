#include "mail/curl_init.hpp"

#include <curl/curl.h>

#include <mutex>
#include <stdexcept>

namespace kizuna::mail {

void InitCurl() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw std::runtime_error("libcurl could not be initialised");
        }
    });
}

}  // namespace kizuna::mail
