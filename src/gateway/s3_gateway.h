// The S3 HTTP front (cpp-httplib): parses each request, authenticates it (SigV4, presigned URLs,
// aws-chunked), dispatches it to the operation layer (s3_service.h) and writes S3's response —
// headers, XML, or the object's bytes streamed from its replica. Request bodies stream too: up
// to `small_body_bytes` are read into memory, larger ones pass through a bounded pipe to the
// store while a helper thread reads the socket, so memory does not grow with object size.
// Every request is counted (dim_gateway_requests_total{method,code}, latency, bytes) and every
// object access is published to the event bus as an AccessEvent without blocking (a full bus is
// counted in dim_gateway_events_dropped_total). Start/Stop from one thread; serving is
// concurrent on `threads` workers.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "bus/event_bus.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "gateway/s3_auth.h"
#include "gateway/s3_responses.h"
#include "gateway/s3_service.h"

namespace httplib {
class Server;
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib

namespace dim {

struct S3GatewayOptions {
  std::string region = "us-east-1";
  std::string access_key;  // names the owner in listings
  int threads = 64;
  size_t small_body_bytes = 1 << 20;  // bodies up to this are read into memory
  size_t pipe_bytes = 4 << 20;        // bytes in flight between socket and store
  size_t drain_bytes = 4 << 20;  // unread body a failed request still reads to keep the connection
};

class S3Gateway {
 public:
  S3Gateway(S3Service& service, const S3Authenticator& auth, EventBus& bus,
            MetricsRegistry& metrics, const Clock& clock, S3GatewayOptions options);
  ~S3Gateway();

  // Binds host:port (port 0: any free port) and serves on background threads.
  Status Start(const std::string& host, int port);
  int port() const { return port_; }
  // Stops accepting, finishes the requests in progress, joins.
  void Stop();

  struct Exchange;  // one request being served (s3_gateway.cc)

 private:
  void Install();
  void Serve(const httplib::Request& req, httplib::Response& res,
             const httplib::ContentReader* reader);
  void Dispatch(Exchange& x);
  // Bucket- and object-level operations.
  void ServiceLevel(Exchange& x);
  void BucketLevel(Exchange& x);
  void ObjectLevel(Exchange& x);
  void PutObject(Exchange& x);
  void GetObject(Exchange& x, bool head);
  void CopyObject(Exchange& x);
  void ListObjects(Exchange& x, bool v2);
  void UploadPart(Exchange& x);
  void CompleteUpload(Exchange& x);

  // Runs `use` with the request body decoded, verified and streaming (see the class comment).
  template <typename Fn>
  void WithBody(Exchange& x, const BodyExpectations& expect, Fn&& use);
  // A small body (XML) read whole, decoded and verified; at most `limit` bytes.
  S3Result<std::string> ReadSmallBody(Exchange& x, size_t limit);
  // Finishes a request whose body was not read: drains a little, else closes the connection.
  void SettleBody(Exchange& x);

  void SendError(Exchange& x, const S3Error& e);
  void SendXml(Exchange& x, int status, std::string xml);
  void SendNoContent(Exchange& x, int status = 204);
  // At the end of every response (httplib's logger): metrics and access events.
  void Finish(const httplib::Request& req, const httplib::Response& res);

  S3Service& service_;
  const S3Authenticator& auth_;
  EventBus& bus_;
  MetricsRegistry& metrics_;
  const Clock& clock_;
  S3GatewayOptions options_;
  S3Owner owner_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  Family<Counter>* requests_ = nullptr;
  Family<Histogram>* latency_ = nullptr;
  Family<Counter>* bytes_ = nullptr;
  Counter* events_published_ = nullptr;
  Counter* events_dropped_ = nullptr;
};

}  // namespace dim
