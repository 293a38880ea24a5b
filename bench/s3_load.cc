// s3_load: a small S3 load generator for the benchmarks. N threads, each with one keep-alive
// libcurl connection, send SigV4-signed GETs or PUTs of one object for a while (or a number of
// requests) and report requests/s, MB/s and latency percentiles as one JSON line. Bodies are
// discarded (GET) or sent from memory (PUT, UNSIGNED-PAYLOAD), so the client does as little
// work per byte as it can. With --plain the requests are unsigned plain HTTP GETs (nginx).
//
//   s3_load --endpoint http://127.0.0.1:9000 --access AK --secret SK --bucket b --key k
//           --op get --size 4096 --concurrency 4 --seconds 10
#include <curl/curl.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/s3/sigv4.h"

namespace {

struct Options {
  std::string endpoint = "http://127.0.0.1:9000";
  std::string access, secret, region = "us-east-1";
  std::string bucket = "bench", key = "object";
  std::string op = "get";
  int64_t size = 4096;
  int concurrency = 4;
  double seconds = 10;
  int64_t requests = 0;    // > 0: stop after this many instead of after `seconds`
  bool plain = false;      // unsigned GET of endpoint + /key (a static file server)
  std::string write_body;  // write the PUT body to this file and exit
};

struct Upload {
  const std::string* data;
  size_t pos = 0;
};

struct Sink {
  int64_t bytes = 0;
  std::string head;  // the first bytes, for error messages
};

size_t Discard(char* p, size_t size, size_t n, void* sink) {
  auto* s = static_cast<Sink*>(sink);
  if (s->head.size() < 512) s->head.append(p, std::min<size_t>(size * n, 512 - s->head.size()));
  s->bytes += static_cast<int64_t>(size * n);
  return size * n;
}

size_t ReadBody(char* buf, size_t size, size_t n, void* p) {
  auto* u = static_cast<Upload*>(p);
  size_t k = std::min(size * n, u->data->size() - u->pos);
  std::memcpy(buf, u->data->data() + u->pos, k);
  u->pos += k;
  return k;
}

struct Result {
  std::vector<double> latencies_ms;
  int64_t bytes = 0;
  int64_t errors = 0;
  std::string first_error;
};

std::string HostOf(const std::string& endpoint) {
  std::string h = endpoint.substr(endpoint.find("://") + 3);
  return h.substr(0, h.find('/'));
}

void Worker(const Options& o, const std::string& body, std::atomic<int64_t>& budget,
            std::chrono::steady_clock::time_point stop_at, Result& out) {
  CURL* c = curl_easy_init();
  const bool put = o.op == "put" || o.op == "mkbucket";
  const std::string path = o.plain              ? "/" + o.key
                           : o.op == "mkbucket" ? "/" + o.bucket
                                                : "/" + o.bucket + "/" + o.key;
  const std::string url = o.endpoint + dim::sigv4::UriEncode(path, false);
  const std::string host = HostOf(o.endpoint);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
  Sink sink;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  dim::sigv4::Credentials creds{o.access, o.secret, ""};
  for (;;) {
    if (o.requests > 0) {
      if (budget.fetch_sub(1) <= 0) break;
    } else if (std::chrono::steady_clock::now() >= stop_at) {
      break;
    }
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    if (!o.plain) {
      dim::sigv4::SignRequest r;
      r.method = put ? "PUT" : "GET";
      r.host = host;
      r.path = path;
      r.payload_hash =
          put ? std::string(dim::sigv4::kUnsignedPayload) : std::string(dim::sigv4::kEmptySha256);
      r.region = o.region;
      r.unix_seconds = std::time(nullptr);
      for (const auto& [k, v] : dim::sigv4::SignHeaders(r, creds)) {
        headers = curl_slist_append(headers, (k + ": " + v).c_str());
      }
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    Upload up{&body};
    if (put) {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody);
      curl_easy_setopt(c, CURLOPT_READDATA, &up);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    sink = Sink{};
    auto t0 = std::chrono::steady_clock::now();
    CURLcode rc = curl_easy_perform(c);
    auto t1 = std::chrono::steady_clock::now();
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    const int64_t received = sink.bytes;
    bool ok = rc == CURLE_OK && status == 200 && (put || received == o.size);
    if (o.op == "mkbucket" && rc == CURLE_OK && status == 409) ok = true;  // exists already
    if (!ok) {
      if (out.errors++ == 0) {
        out.first_error = rc != CURLE_OK ? curl_easy_strerror(rc)
                                         : "HTTP " + std::to_string(status) + ", " +
                                               std::to_string(received) + " bytes: " + sink.head;
      }
      continue;
    }
    out.latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    out.bytes += put ? static_cast<int64_t>(body.size()) : received;
  }
  curl_easy_cleanup(c);
}

// User + system CPU time of this process so far.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"s3_load: signed S3 GET/PUT load with keep-alive connections; prints one JSON line"};
  app.add_option("--endpoint", o.endpoint, "http://host:port");
  app.add_option("--access", o.access, "access key id");
  app.add_option("--secret", o.secret, "secret access key");
  app.add_option("--region", o.region, "region to sign for");
  app.add_option("--bucket", o.bucket, "bucket");
  app.add_option("--key", o.key, "object key");
  app.add_option("--op", o.op, "get, put, or mkbucket (one PUT of the bucket)")
      ->check(CLI::IsMember({"get", "put", "mkbucket"}));
  app.add_option("--write-body", o.write_body,
                 "write the PUT body of --size bytes to FILE and exit");
  app.add_option("--size", o.size, "object size in bytes (PUT body; GET checks it)");
  app.add_option("--concurrency", o.concurrency, "connections")->check(CLI::Range(1, 256));
  app.add_option("--seconds", o.seconds, "how long to run");
  app.add_option("--requests", o.requests, "stop after this many requests instead");
  app.add_flag("--plain", o.plain, "unsigned GET of ENDPOINT/KEY (a static file server)");
  CLI11_PARSE(app, argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::string body;
  if (o.op == "mkbucket") {
    o.requests = 1;
    o.concurrency = 1;
  }
  if (o.op == "put" || !o.write_body.empty()) {
    body.resize(static_cast<size_t>(o.size));
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < body.size(); ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      body[i] = static_cast<char>(x);
    }
  }
  if (!o.write_body.empty()) {
    std::ofstream f(o.write_body, std::ios::binary);
    f.write(body.data(), static_cast<std::streamsize>(body.size()));
    return f ? 0 : 1;
  }
  std::atomic<int64_t> budget{o.requests};
  std::vector<Result> results(static_cast<size_t>(o.concurrency));
  std::vector<std::thread> threads;
  const double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  auto stop_at = t0 + std::chrono::milliseconds(static_cast<int64_t>(o.seconds * 1000));
  for (int i = 0; i < o.concurrency; ++i) {
    threads.emplace_back(Worker, std::cref(o), std::cref(body), std::ref(budget), stop_at,
                         std::ref(results[static_cast<size_t>(i)]));
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  std::vector<double> all;
  int64_t bytes = 0, errors = 0;
  std::string first_error;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    bytes += r.bytes;
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
  }
  const size_t n = all.size();
  double p50 = Percentile(all, 0.50), p99 = Percentile(all, 0.99);
  for (auto& c : first_error) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  std::printf(
      "{\"op\":\"%s\",\"size\":%lld,\"concurrency\":%d,\"requests\":%zu,\"errors\":%lld,"
      "\"seconds\":%.3f,\"rps\":%.1f,\"mbps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
      "\"cpu_s\":%.3f,\"first_error\":\"%s\"}\n",
      o.op.c_str(), static_cast<long long>(o.size), o.concurrency, n,
      static_cast<long long>(errors), secs, static_cast<double>(n) / secs,
      static_cast<double>(bytes) / secs / 1e6, p50, p99, cpu, first_error.c_str());
  curl_global_cleanup();
  return errors > 0 && n == 0 ? 1 : 0;
}
