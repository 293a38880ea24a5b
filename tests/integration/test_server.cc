#include "integration/test_server.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "integration/dim_process.h"

namespace dim::testing {

std::string TestServer::Log() const {
  std::ifstream in(dir_ + "/server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<TestServer> TestServer::Start(const std::string& kind, std::string* error) {
  std::unique_ptr<TestServer> s(new TestServer());
  s->dir_ = MakeTempDir(kind);
  const std::string script = SourceDir() + "/scripts/test-server";
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    *error = "fork failed";
    return nullptr;
  }
  if (pid == 0) {
    // Die with the test process, however it ends.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    setpgid(0, 0);
    execl(script.c_str(), script.c_str(), kind.c_str(), "run", s->dir_.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  s->pid_ = pid;
  static const std::regex listening(R"(listen.*127\.0\.0\.1:([0-9]+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = s->Log();
    std::smatch m;
    if (std::regex_search(log, m, listening)) {
      s->port_ = std::stoi(m[1]);
      s->endpoint_ = "http://127.0.0.1:" + std::to_string(s->port_);
      return s;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      s->pid_ = -1;
      *error = kind + " exited before listening (is it installed? scripts/install-deps):\n" + log;
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  *error = kind + " did not start within 180 s:\n" + s->Log();
  return nullptr;
}

TestServerEnvironment* TestServerEnvironment::Register(const std::string& kind) {
  auto* env = new TestServerEnvironment(kind);
  ::testing::AddGlobalTestEnvironment(env);  // gtest owns it
  return env;
}

void TestServerEnvironment::SetUp() {
  std::string error;
  server_ = TestServer::Start(kind_, &error);
  ASSERT_NE(server_, nullptr) << error;
}

TestServer::~TestServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = waitpid(pid_, &status, WNOHANG) == pid_;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!gone) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace dim::testing
