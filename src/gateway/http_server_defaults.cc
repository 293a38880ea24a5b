#include "gateway/http_server_defaults.h"

#include <httplib.h>

#include <chrono>

#include "core/clock.h"

namespace dim {

void ApplyServerDefaults(httplib::Server& server,
                         std::function<void(const httplib::Request&)> before_routing) {
  server.set_pre_routing_handler(
      [before = std::move(before_routing)](const httplib::Request& req, httplib::Response&) {
        if (before) before(req);
        if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
          // The Request is not const inside httplib's routing; this only adds the implied header.
          const_cast<httplib::Request&>(req).headers.emplace("Content-Length", "0");
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  server.set_tcp_nodelay(true);
  // httplib serves each connection on one pool thread until it closes; a short idle timeout keeps
  // a few idle keep-alive clients (a dashboard polling every 2 s) from starving the pool.
  server.set_keep_alive_max_count(100000);
  server.set_keep_alive_timeout(2);
}

Status ListenInBackground(httplib::Server& server, std::thread* thread, const std::string& what) {
  *thread = std::thread([&server] { server.listen_after_bind(); });
  const int64_t deadline = MonotonicMicros() + 30'000'000;
  while (!server.is_running() && MonotonicMicros() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server.is_running()) return Status::Unavailable("the " + what + " listener did not start");
  return Status::OK();
}

}  // namespace dim
