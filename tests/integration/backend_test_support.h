// What the backend tests against a real server (s3_contract_test, azure_contract_test) share:
// fresh bucket names, stores made ready on the binary's server, the fixture whose tests fail
// (never skip) when the server did not start, and the checks every cloud backend passes the
// same way.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "integration/test_server.h"
#include "storage/byte_stream.h"
#include "storage/object_store.h"
#include "storage/site_registry.h"

namespace dim::testing {

// prefix + pid + a counter: a bucket or container name no other test or run uses.
inline std::string FreshName(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + std::to_string(getpid()) + "-" + std::to_string(n++);
}

// Store::Make(options), then (store.*ready)() (creates its bucket or container): the store, or
// null with the reason added to the current test as a failure. Null without a failure when the
// server is not running (BackendOnServerTest and the contract fail on that).
template <typename Store, typename Options>
std::shared_ptr<ObjectStore> MakeReadyStore(const TestServerEnvironment* env, Options options,
                                            Status (Store::*ready)()) {
  if (!env->server()) return nullptr;
  auto s = Store::Make(std::move(options));
  if (!s.ok()) {
    ADD_FAILURE() << s.status().ToString();
    return nullptr;
  }
  Status st = ((**s).*ready)();
  if (!st.ok()) {
    ADD_FAILURE() << st.ToString();
    return nullptr;
  }
  return *s;
}

// Tests of one backend on the binary's server.
class BackendOnServerTest : public ::testing::Test {
 protected:
  BackendOnServerTest(const TestServerEnvironment* env, std::string kind)
      : env_(env), kind_(std::move(kind)) {}
  void SetUp() override { ASSERT_NE(env_->server(), nullptr) << kind_ << " did not start"; }
  TestServer* server() const { return env_->server(); }

 private:
  const TestServerEnvironment* env_;
  std::string kind_;
};

// A put into a bucket (container) that does not exist is FailedPrecondition naming the server's
// code (`missing_code`) and the create_bucket setting; `creating`, the same site with
// create_bucket on, creates it and stores the blob.
inline void ExpectMissingBucketExplainedOrCreated(ObjectStore& missing, ObjectStore& creating,
                                                  const std::string& missing_code) {
  StringSource a("x");
  auto r = missing.Put("demo/a@1", a, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find(missing_code), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("create_bucket"), std::string::npos) << r.status().ToString();
  StringSource b("y");
  ASSERT_TRUE(creating.Put("demo/a@1", b, {}).ok());
  auto h = creating.Head("demo/a@1");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(h->has_value());
}

// MakeSiteRegistry builds `site` (with create_bucket on) with retries, and its full stack
// round-trips a blob.
inline void ExpectSiteRoundTrip(SiteConfig site) {
  Config c;
  c.data_dir = "/tmp/unused";
  site.create_bucket = true;
  const std::string name = site.name;
  c.sites = {std::move(site)};
  SiteStackOptions stack;
  stack.retry = true;
  auto reg = MakeSiteRegistry(c, stack);
  ASSERT_TRUE(reg.ok()) << reg.status().ToString();
  StringSource src("through the registry");
  auto put = reg->Find(name)->store->Put("demo/r@1", src, {});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto g = reg->Find(name)->store->Get("demo/r@1", std::nullopt);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(ReadAll(**g).value(), "through the registry");
}

}  // namespace dim::testing
