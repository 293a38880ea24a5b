#include "integration/dim_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

extern char** environ;

namespace dim::testing {

std::string DimBinary() { return std::string(DIM_BINARY_DIR) + "/dim"; }

std::string SourceDir() { return DIM_SOURCE_DIR; }

std::string MakeTempDir(const std::string& tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() / ("dim-" + tag + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* d = mkdtemp(buf.data());
  return d ? std::string(d) : "";
}

namespace {

pid_t Spawn(const std::vector<std::string>& args, int out_fd, int err_fd,
            const std::vector<std::string>& env = {}) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), env.empty() ? environ : envp.data()) != 0) {
    pid = -1;
  }
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

RunResult RunDim(const std::vector<std::string>& args, int timeout_s) {
  std::vector<std::string> full = {DimBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return RunProgram(full, {}, timeout_s);
}

RunResult RunProgram(const std::vector<std::string>& full, const std::vector<std::string>& env,
                     int timeout_s) {
  std::string dir = MakeTempDir("run");
  std::string out = dir + "/out", err = dir + "/err";
  int of = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int ef = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = Spawn(full, of, ef, env);
  ::close(of);
  ::close(ef);
  RunResult r;
  if (pid < 0) return r;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  std::filesystem::remove_all(dir);
  return r;
}

DimProcess::DimProcess(const std::string& mode, const std::string& data_dir,
                       const std::vector<std::string>& extra) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return;
  log_path_ = data_dir + ".log";
  int err = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> args = {DimBinary(), mode, "--data-dir", data_dir, "--api-listen",
                                   "127.0.0.1:0"};
  // Only the roles that run the S3 gateway take --s3-listen.
  const bool gateway = mode == "serve" || mode == "demo";
  if (gateway) args.insert(args.end(), {"--s3-listen", "127.0.0.1:0"});
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = Spawn(args, pipefd[1], err);
  ::close(pipefd[1]);
  ::close(err);
  out_fd_ = pipefd[0];
  if (pid_ < 0) return;
  static const std::regex url(R"(Dashboard: (http://([0-9.]+):([0-9]+))/\?token=([0-9a-f]+))");
  static const std::regex s3(R"(S3: +(http://[0-9.]+:([0-9]+)))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      ssize_t n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;  // exited
      output_.append(buf, static_cast<size_t>(n));
      std::smatch m, m3;
      if (std::regex_search(output_, m, url) && (!gateway || std::regex_search(output_, m3, s3))) {
        api_url_ = m[1];
        host_ = m[2];
        port_ = std::stoi(m[3]);
        token_ = m[4];
        if (gateway) {
          s3_url_ = m3[1];
          s3_port_ = std::stoi(m3[2]);
        }
        return;
      }
    }
  }
}

std::string DimProcess::Log() const { return Slurp(log_path_); }

namespace {

// Waits up to timeout_s for *pid to exit (SIGKILL after that) and clears it: the exit code,
// 128 + the signal, or -1 on timeout.
int WaitForExit(pid_t* pid, int timeout_s) {
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (waitpid(*pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(*pid, SIGKILL);
      waitpid(*pid, &status, 0);
      *pid = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int DimProcess::Terminate(int timeout_s) {
  if (pid_ < 0) return -1;
  kill(pid_, SIGTERM);
  return WaitForExit(&pid_, timeout_s);
}

DimProcess::~DimProcess() {
  if (pid_ > 0) Terminate(10);
  if (out_fd_ >= 0) ::close(out_fd_);
  if (!log_path_.empty()) std::filesystem::remove(log_path_);
}

DimChild::DimChild(const std::vector<std::string>& args, const std::string& log_prefix)
    : out_path_(log_prefix + ".out"), err_path_(log_prefix + ".log") {
  int of = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int ef = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> full = {DimBinary()};
  full.insert(full.end(), args.begin(), args.end());
  pid_ = Spawn(full, of, ef);
  ::close(of);
  ::close(ef);
}

DimChild::~DimChild() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool DimChild::WaitForOutput(const std::string& needle, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Out().find(needle) != std::string::npos) return true;
    if (pid_ <= 0 || waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return Out().find(needle) != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void DimChild::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int DimChild::Wait(int timeout_s) {
  if (pid_ <= 0) return -1;
  return WaitForExit(&pid_, timeout_s);
}

std::string DimChild::Out() const { return Slurp(out_path_); }
std::string DimChild::Log() const { return Slurp(err_path_); }

}  // namespace dim::testing
