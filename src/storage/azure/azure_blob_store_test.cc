// The Azure Blob backend against a scripted fake in this process (cpp-httplib), for what azurite
// cannot be made to show: how many requests concurrent writers send when the container is
// missing. The real-server tests are in tests/integration/azure_contract_test.cc (azurite).
#include "storage/azure/azure_blob_store.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

namespace dim {
namespace {

// One account's one container, missing until a Create Container; blobs are accepted and
// dropped. Create Container takes `create_delay_ms`, so concurrent writers overlap it.
class FakeBlobService {
 public:
  explicit FakeBlobService(int create_delay_ms) : delay_ms_(create_delay_ms) {
    server_.Put(".*", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.get_param_value("restype") == "container") {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
        std::lock_guard<std::mutex> l(mu_);
        ++creates_;
        if (exists_) {
          res.status = 409;
          res.set_header("x-ms-error-code", "ContainerAlreadyExists");
          res.set_content("<Error><Code>ContainerAlreadyExists</Code></Error>", "application/xml");
          return;
        }
        exists_ = true;
        res.status = 201;
        return;
      }
      std::lock_guard<std::mutex> l(mu_);
      if (!exists_) {
        res.status = 404;
        res.set_header("x-ms-error-code", "ContainerNotFound");
        res.set_content("<Error><Code>ContainerNotFound</Code></Error>", "application/xml");
        return;
      }
      ++blobs_;
      res.status = 201;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~FakeBlobService() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/acct"; }
  void Drop() {
    std::lock_guard<std::mutex> l(mu_);
    exists_ = false;
  }
  int creates() {
    std::lock_guard<std::mutex> l(mu_);
    return creates_;
  }
  int blobs() {
    std::lock_guard<std::mutex> l(mu_);
    return blobs_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  int delay_ms_;
  std::mutex mu_;
  bool exists_ = false;
  int creates_ = 0;
  int blobs_ = 0;
};

// Writers that meet a missing container together: one creates it, the others wait for that and
// send their blob again, instead of each sending its own Create Container after it.
TEST(AzureBlobStoreTest, ConcurrentWritersToAMissingContainerCreateItOnce) {
  FakeBlobService fake(/*create_delay_ms=*/300);
  AzureOptions o;
  o.site = "aztest";
  o.endpoint = fake.endpoint();
  o.account = "acct";
  o.key = "c2VjcmV0IGtleQ==";
  o.container = "c1";
  o.create_container = true;
  auto made = AzureBlobStore::Make(o);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  auto store = *made;
  auto race = [&] {
    constexpr int kWriters = 4;
    std::latch go(kWriters);
    std::vector<Status> got(kWriters);
    std::vector<std::thread> writers;
    for (int i = 0; i < kWriters; ++i) {
      writers.emplace_back([&, i] {
        StringSource body("blob " + std::to_string(i));
        go.arrive_and_wait();
        got[i] = store->Put("w" + std::to_string(i), body, PutOptions{}).status();
      });
    }
    for (auto& t : writers) t.join();
    for (int i = 0; i < kWriters; ++i) EXPECT_TRUE(got[i].ok()) << i << ": " << got[i].ToString();
  };
  race();
  EXPECT_EQ(fake.creates(), 1);
  EXPECT_EQ(fake.blobs(), 4);
  // Deleted behind the store's back: made again once.
  fake.Drop();
  race();
  EXPECT_EQ(fake.creates(), 2);
  EXPECT_EQ(fake.blobs(), 8);
}

}  // namespace
}  // namespace dim
