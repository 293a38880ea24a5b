// Test helper: a third-party server (s3rver, azurite) run through scripts/test-server on
// 127.0.0.1 with a free port, for the duration of a test binary. The child is killed when the
// test process dies, even by a crash (PR_SET_PDEATHSIG), and stopped (SIGTERM, then SIGKILL) and
// its data removed when the TestServer is destroyed.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <memory>
#include <string>

namespace dim::testing {

class TestServer {
 public:
  // kind: "s3rver" or "azurite". On failure returns null and says why in *error.
  static std::unique_ptr<TestServer> Start(const std::string& kind, std::string* error);
  ~TestServer();

  const std::string& endpoint() const { return endpoint_; }  // http://127.0.0.1:PORT
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // The server's log so far.
  std::string Log() const;

 private:
  TestServer() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string endpoint_, dir_;
};

// One TestServer for a whole test binary: started before the first test, stopped after the
// last. A server that does not start fails the run (SetUp reports why). Usage, at namespace
// scope:  const auto* const kS3rver = TestServerEnvironment::Register("s3rver");
class TestServerEnvironment : public ::testing::Environment {
 public:
  static TestServerEnvironment* Register(const std::string& kind);
  void SetUp() override;
  void TearDown() override { server_.reset(); }
  // Null until SetUp, or when the server did not start.
  TestServer* server() const { return server_.get(); }

 private:
  explicit TestServerEnvironment(std::string kind) : kind_(std::move(kind)) {}
  std::string kind_;
  std::unique_ptr<TestServer> server_;
};

}  // namespace dim::testing
