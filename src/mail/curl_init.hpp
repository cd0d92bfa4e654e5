#pragma once
// libcurl's process-wide set-up, once, for every libcurl user in Kizuna: the SMTP sender here,
// the hub's webhook sender and the store node's hub client. It lives in mail because mail is the
// lowest library that links libcurl and that hub and pos both already depend on.

namespace kizuna::mail {

// Calls curl_global_init(CURL_GLOBAL_DEFAULT) the first time, from whichever thread; later calls
// return at once. Call before the first curl_easy_init. Throws std::runtime_error when libcurl
// cannot initialise (a start-up failure; every later call throws again). Thread-safe.
void InitCurl();

}  // namespace kizuna::mail
