// Test helper: runs the real `dim` binary as a child process with a temporary data dir and
// random ports, reads the URLs it prints, and stops it (SIGTERM, then SIGKILL) when destroyed.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace dim::testing {

// The build's `dim` binary (DIM_BINARY_DIR/dim).
std::string DimBinary();
std::string SourceDir();
// A fresh empty directory under /tmp, removed by the caller.
std::string MakeTempDir(const std::string& tag);

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs `dim args...` to completion (with a timeout) and captures its output.
RunResult RunDim(const std::vector<std::string>& args, int timeout_s = 60);
// Runs argv[0] (an absolute path) to completion with exactly the environment `env`
// ("NAME=value" entries; empty: inherit this process's), killing it after timeout_s.
RunResult RunProgram(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                     int timeout_s = 120);

class DimProcess {
 public:
  // Starts `dim <mode> --data-dir DIR --api-listen 127.0.0.1:0 [--s3-listen 127.0.0.1:0] ...extra`
  // (--s3-listen for serve and demo, the roles with a gateway) and waits until it prints its
  // dashboard URL (and, with a gateway, its S3 URL).
  DimProcess(const std::string& mode, const std::string& data_dir,
             const std::vector<std::string>& extra = {});
  ~DimProcess();

  bool ok() const { return !api_url_.empty(); }
  const std::string& api_url() const { return api_url_; }   // http://127.0.0.1:PORT
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& token() const { return token_; }
  const std::string& s3_url() const { return s3_url_; }     // http://127.0.0.1:PORT
  int s3_port() const { return s3_port_; }
  const std::string& startup_output() const { return output_; }
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits; returns the exit status (or -1 on timeout, then SIGKILLs).
  int Terminate(int timeout_s = 30);
  // Everything the process wrote to stderr so far (its log).
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string log_path_;
  std::string api_url_, host_, token_, output_, s3_url_;
  int port_ = 0, s3_port_ = 0;
};

// Runs `dim args...` (any role) with stdout and stderr in files next to `log_prefix`; for roles
// that print no dashboard URL. SIGKILLs the child when destroyed if it still runs.
class DimChild {
 public:
  DimChild(const std::vector<std::string>& args, const std::string& log_prefix);
  ~DimChild();
  bool ok() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Waits until stdout contains `needle` (false on timeout or exit).
  bool WaitForOutput(const std::string& needle, int timeout_s);
  void Signal(int sig);
  // Waits for the exit: the exit code, 128 + signal, or -1 on timeout (then SIGKILLs).
  int Wait(int timeout_s);
  std::string Out() const;
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
};

}  // namespace dim::testing
