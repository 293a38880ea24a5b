// Settings every HTTP listener of `dim` shares (the S3 gateway and the API), including a fix for
// cpp-httplib 0.11 (Debian 12): a POST/PUT/DELETE without Content-Length or Transfer-Encoding —
// `curl -X POST URL` — is read until the connection closes and then refused with 400 after the
// read timeout. Per RFC 9112 §6.3 such a request has no body, so we say so before routing.
#pragma once

namespace httplib {
class Server;
}

namespace dim {

void ApplyServerDefaults(httplib::Server& server);

}  // namespace dim
