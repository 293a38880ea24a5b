// Settings every HTTP listener of `dim` shares (the S3 gateway and the API), including a fix for
// cpp-httplib 0.11 (Debian 12): a POST/PUT/DELETE without Content-Length or Transfer-Encoding —
// `curl -X POST URL` — is read until the connection closes and then refused with 400 after the
// read timeout. Per RFC 9112 §6.3 such a request has no body, so we say so before routing.
#pragma once

#include <functional>
#include <thread>

#include "core/status.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace dim {

// `before_routing`, when given, sees every request whose line and headers were read, before the
// fix above is applied and before routing (the S3 gateway starts its per-request state there).
void ApplyServerDefaults(httplib::Server& server,
                         std::function<void(const httplib::Request&)> before_routing = {});

// Runs the (bound) server's listen loop on *thread and returns once it is running: httplib's
// stop() does nothing before the loop runs, so a Stop right after Start (a quick SIGTERM) would
// otherwise leave the loop running and join forever. Unavailable if it does not start in 30 s.
Status ListenInBackground(httplib::Server& server, std::thread* thread, const std::string& what);

}  // namespace dim
