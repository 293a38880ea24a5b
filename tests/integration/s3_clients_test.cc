// The S3 gateway of the real `dim` binary driven by the real S3 clients of Debian's packages —
// the aws CLI, s3cmd, rclone and boto3 — with SHA-256 comparisons of everything read back, S3's
// answers to malformed requests, and accesses through the gateway showing in /files.
// Each client runs with a clean environment (a temp HOME, only its own settings), so nothing
// from the machine's configuration leaks in.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/checksum.h"
#include "integration/dim_process.h"

namespace dim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string FileSha256(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    h.Update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  return h.FinishHex();
}

// Deterministic pseudo-random file content (xorshift64), any size.
void WriteFile(const fs::path& p, int64_t size, uint64_t seed) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  uint64_t x = seed | 1;
  std::vector<char> buf(1 << 20);
  while (size > 0) {
    size_t n = static_cast<size_t>(std::min<int64_t>(size, static_cast<int64_t>(buf.size())));
    for (size_t i = 0; i < n; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(buf.data() + i, &x, std::min<size_t>(8, n - i));
    }
    out.write(buf.data(), static_cast<std::streamsize>(n));
    size -= static_cast<int64_t>(n);
  }
}

// SHA-256 of every file under dir, by path relative to it.
std::map<std::string, std::string> TreeHashes(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = FileSha256(e.path());
  }
  return out;
}

int64_t PeakRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

class S3ClientsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::MakeTempDir("s3clients"));
    {
      // Heat folded every second (instead of every 5 minutes) so reads show in it at once.
      std::ofstream cfg(*dir_ + "/dim.toml");
      cfg << "[stream]\nflush_interval_ms = 200\nheat_interval_s = 1\n";
    }
    proc_ = new testing::DimProcess("serve", *dir_ + "/data", {"--config", *dir_ + "/dim.toml"});
    if (!proc_->ok()) return;
    std::ifstream in(*dir_ + "/data/s3-credentials");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("aws_access_key_id=", 0) == 0) key_ = new std::string(line.substr(18));
      if (line.rfind("aws_secret_access_key=", 0) == 0) secret_ = new std::string(line.substr(22));
    }
    fs::create_directories(*dir_ + "/home");
  }
  static void TearDownTestSuite() {
    delete proc_;
    fs::remove_all(*dir_);
    delete dir_;
    delete key_;
    delete secret_;
  }
  void SetUp() override {
    ASSERT_TRUE(proc_->ok()) << "dim serve did not start:\n"
                             << proc_->startup_output() << proc_->Log();
    ASSERT_TRUE(key_ && secret_) << "no key pair in DATA_DIR/s3-credentials";
    struct stat st;
    ASSERT_EQ(::stat((*dir_ + "/data/s3-credentials").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }

  static std::string Dir() { return *dir_; }
  static std::string Endpoint() { return proc_->s3_url(); }
  // The environment every client gets: nothing from this machine's but PATH.
  static std::vector<std::string> Env(const std::string& secret = "") {
    return {"PATH=/usr/bin:/bin",
            "HOME=" + Dir() + "/home",
            "LANG=C.UTF-8",
            "AWS_CONFIG_FILE=" + Dir() + "/home/aws-config",
            "AWS_SHARED_CREDENTIALS_FILE=" + Dir() + "/home/aws-credentials",
            "AWS_ACCESS_KEY_ID=" + *key_,
            "AWS_SECRET_ACCESS_KEY=" + (secret.empty() ? *secret_ : secret),
            "AWS_DEFAULT_REGION=us-east-1",
            "AWS_EC2_METADATA_DISABLED=true",
            "AWS_PAGER="};
  }
  testing::RunResult Aws(std::vector<std::string> args, const std::string& secret = "",
                         int timeout_s = 300) {
    std::vector<std::string> argv = {"/usr/bin/aws", "--endpoint-url", Endpoint()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunProgram(argv, Env(secret), timeout_s);
  }
  std::string Describe(const testing::RunResult& r) {
    return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out.substr(0, 4000) +
           "\nstderr:\n" + r.err.substr(0, 4000) + "\ngateway log:\n" +
           proc_->Log().substr(0, 4000);
  }
  json ApiJson(const std::string& path) {
    httplib::Client c(proc_->host(), proc_->port());
    c.set_read_timeout(30);
    auto r = c.Get(path);
    return r ? json::parse(r->body, nullptr, false) : json();
  }

  static std::string* dir_;
  static testing::DimProcess* proc_;
  static std::string* key_;
  static std::string* secret_;
};

std::string* S3ClientsTest::dir_ = nullptr;
testing::DimProcess* S3ClientsTest::proc_ = nullptr;
std::string* S3ClientsTest::key_ = nullptr;
std::string* S3ClientsTest::secret_ = nullptr;

TEST_F(S3ClientsTest, AwsCliCopiesListsSyncsAndReadsRanges) {
  const fs::path in = Dir() + "/aws-in";
  WriteFile(in / "small.txt", 1234, 1);
  WriteFile(in / "nested/a.bin", 300000, 2);
  WriteFile(in / "nested/deeper/b.bin", 7, 3);
  WriteFile(in / "with space+plus.dat", 4096, 4);
  WriteFile(Dir() + "/big/hundred.bin", 100 << 20, 5);

  auto r = Aws({"s3", "mb", "s3://aws-bucket"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const int64_t rss_before = PeakRssKb(proc_->pid());
  // 100 MiB: the CLI splits it into 8 MiB parts (multipart upload).
  r = Aws(
      {"s3", "cp", Dir() + "/big/hundred.bin", "s3://aws-bucket/big/hundred.bin", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const int64_t rss_after = PeakRssKb(proc_->pid());
  r = Aws({"s3api", "head-object", "--bucket", "aws-bucket", "--key", "big/hundred.bin"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json head = json::parse(r.out, nullptr, false);
  EXPECT_EQ(head["ContentLength"], 100 << 20);
  EXPECT_NE(head["ETag"].get<std::string>().find("-13\""), std::string::npos) << head.dump();
  r = Aws({"s3", "cp", "s3://aws-bucket/big/hundred.bin", Dir() + "/aws-out/hundred.bin",
           "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(FileSha256(Dir() + "/aws-out/hundred.bin"), FileSha256(Dir() + "/big/hundred.bin"));
  // The upload streamed: the gateway's peak memory did not grow by anything like the object.
  if (rss_before > 0 && rss_after > 0) {
    EXPECT_LT(rss_after - rss_before, 96 * 1024) << "peak RSS grew from " << rss_before << " kB to "
                                                 << rss_after << " kB during a 100 MiB upload";
  }

  // sync up, sync down, compare every file.
  r = Aws({"s3", "sync", in.string(), "s3://aws-bucket/tree", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Aws({"s3", "sync", "s3://aws-bucket/tree", Dir() + "/aws-back", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(TreeHashes(Dir() + "/aws-back"), TreeHashes(in));
  // A second sync has nothing to do.
  r = Aws({"s3", "sync", in.string(), "s3://aws-bucket/tree", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out.find("upload:"), std::string::npos) << r.out;

  r = Aws({"s3", "ls", "s3://aws-bucket/tree/", "--recursive"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  for (const char* k : {"tree/small.txt", "tree/nested/a.bin", "tree/nested/deeper/b.bin",
                        "tree/with space+plus.dat"}) {
    EXPECT_NE(r.out.find(k), std::string::npos) << k << " not listed:\n" << r.out;
  }
  r = Aws({"s3", "ls"});
  EXPECT_NE(r.out.find("aws-bucket"), std::string::npos) << Describe(r);

  // s3api put-object with metadata, get-object with --range.
  r = Aws({"s3api", "put-object", "--bucket", "aws-bucket", "--key", "api/obj", "--body",
           (in / "nested/a.bin").string(), "--metadata", "owner=ops", "--content-type",
           "application/x-dim"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Aws({"s3api", "get-object", "--bucket", "aws-bucket", "--key", "api/obj", "--range",
           "bytes=1000-1999", Dir() + "/range.out"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json got = json::parse(r.out, nullptr, false);
  EXPECT_EQ(got["ContentRange"], "bytes 1000-1999/300000");
  EXPECT_EQ(got["Metadata"]["owner"], "ops");
  EXPECT_EQ(got["ContentType"], "application/x-dim");
  std::ifstream whole(in / "nested/a.bin", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(whole)), {});
  std::ifstream part(Dir() + "/range.out", std::ios::binary);
  std::string range((std::istreambuf_iterator<char>(part)), {});
  EXPECT_EQ(Sha256::Hex(range), Sha256::Hex(all.substr(1000, 1000)));

  // Copy within the gateway (server-side), presign, rm.
  r = Aws({"s3", "cp", "s3://aws-bucket/api/obj", "s3://aws-bucket/api/copy", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Aws({"s3", "cp", "s3://aws-bucket/api/copy", Dir() + "/copy.out", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(FileSha256(Dir() + "/copy.out"), FileSha256(in / "nested/a.bin"));
  r = Aws({"s3", "presign", "s3://aws-bucket/api/obj", "--expires-in", "300"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  std::string url = r.out.substr(0, r.out.find_last_not_of("\n") + 1);
  auto presigned =
      testing::RunProgram({"/usr/bin/curl", "-sf", "-o", Dir() + "/presigned.out", url}, Env());
  ASSERT_EQ(presigned.exit_code, 0) << presigned.err;
  EXPECT_EQ(FileSha256(Dir() + "/presigned.out"), FileSha256(in / "nested/a.bin"));
  r = Aws({"s3", "rm", "s3://aws-bucket/tree", "--recursive"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Aws({"s3", "ls", "s3://aws-bucket/tree/", "--recursive"});
  EXPECT_EQ(r.out.find("tree/"), std::string::npos) << r.out;

  // A wrong secret is refused with S3's code.
  r = Aws({"s3", "ls", "s3://aws-bucket"}, "not-the-secret");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("SignatureDoesNotMatch"), std::string::npos) << Describe(r);
}

TEST_F(S3ClientsTest, S3cmdPutsGetsListsAndDeletes) {
  const std::string cfg = Dir() + "/s3cmd.cfg";
  std::string hostport = Endpoint().substr(7);
  {
    std::ofstream c(cfg);
    c << "[default]\naccess_key = " << *key_ << "\nsecret_key = " << *secret_
      << "\nhost_base = " << hostport << "\nhost_bucket = " << hostport
      << "\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"
      << "check_ssl_certificate = False\nmultipart_chunk_size_mb = 5\n";
  }
  auto s3cmd = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/s3cmd", "-c", cfg};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunProgram(argv, Env(), 300);
  };
  WriteFile(Dir() + "/s3cmd-in/one.bin", 100000, 11);
  WriteFile(Dir() + "/s3cmd-in/multi.bin", 12 << 20, 12);  // 3 parts of 5 MiB
  auto r = s3cmd({"mb", "s3://s3cmd-bucket"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = s3cmd(
      {"put", Dir() + "/s3cmd-in/one.bin", Dir() + "/s3cmd-in/multi.bin", "s3://s3cmd-bucket/x/"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = s3cmd({"ls", "s3://s3cmd-bucket/x/"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("s3://s3cmd-bucket/x/multi.bin"), std::string::npos) << r.out;
  fs::create_directories(Dir() + "/s3cmd-out");
  for (const char* name : {"one.bin", "multi.bin"}) {
    r = s3cmd({"get", "--force", std::string("s3://s3cmd-bucket/x/") + name,
               Dir() + "/s3cmd-out/" + name});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(FileSha256(Dir() + "/s3cmd-out/" + name), FileSha256(Dir() + "/s3cmd-in/" + name))
        << name;
  }
  r = s3cmd({"info", "s3://s3cmd-bucket/x/multi.bin"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  r = s3cmd({"del", "s3://s3cmd-bucket/x/one.bin"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = s3cmd({"ls", "s3://s3cmd-bucket/x/"});
  EXPECT_EQ(r.out.find("one.bin"), std::string::npos) << r.out;
}

TEST_F(S3ClientsTest, RcloneCopiesAndChecks) {
  const std::string conf = Dir() + "/rclone.conf";
  {
    std::ofstream c(conf);
    c << "[dim]\ntype = s3\nprovider = Other\naccess_key_id = " << *key_
      << "\nsecret_access_key = " << *secret_ << "\nendpoint = " << Endpoint()
      << "\nregion = us-east-1\nforce_path_style = true\n";
  }
  const fs::path in = Dir() + "/rclone-in";
  WriteFile(in / "a.bin", 50000, 21);
  WriteFile(in / "sub/b.bin", 6 << 20, 22);
  WriteFile(in / "sub/c d.txt", 10, 23);
  auto rclone = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/rclone",
                                     "--config",
                                     conf,
                                     "--s3-upload-cutoff",
                                     "5M",
                                     "--s3-chunk-size",
                                     "5M",
                                     "--low-level-retries",
                                     "2"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunProgram(argv, Env(), 300);  // no AWS_CA_BUNDLE in it (breaks rclone 1.60)
  };
  auto r = rclone({"mkdir", "dim:rclone-bucket"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = rclone({"copy", in.string(), "dim:rclone-bucket/data"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = rclone({"check", in.string(), "dim:rclone-bucket/data"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  r = rclone({"copy", "dim:rclone-bucket/data", Dir() + "/rclone-out"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(TreeHashes(Dir() + "/rclone-out"), TreeHashes(in));
  r = rclone({"lsf", "-R", "dim:rclone-bucket"});
  EXPECT_NE(r.out.find("data/sub/c d.txt"), std::string::npos) << Describe(r);
  // A changed file is noticed by check.
  WriteFile(in / "a.bin", 50000, 99);
  r = rclone({"check", in.string(), "dim:rclone-bucket/data"});
  EXPECT_NE(r.exit_code, 0) << "rclone check did not notice a difference:\n" << Describe(r);
}

TEST_F(S3ClientsTest, Boto3RoundTripsAndGetsS3Errors) {
  const fs::path work = Dir() + "/boto3";
  WriteFile(work / "in/a-small.txt", 2048, 31);
  WriteFile(work / "in/z-big.bin", 17 << 20, 32);  // 4 parts of 5 MiB
  auto r = testing::RunProgram(
      {"/usr/bin/python3", testing::SourceDir() + "/tests/integration/s3_boto3_client.py",
       Endpoint(), work.string()},
      Env(), 300);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json report = json::parse(r.out.substr(r.out.rfind('{')), nullptr, false);
  EXPECT_EQ(report["ok"], true) << r.out;
  EXPECT_NE(report["multipart_etag"].get<std::string>().find("-4"), std::string::npos) << r.out;
  const std::string small = FileSha256(work / "in/a-small.txt");
  for (const char* f : {"get-a-small.txt", "copy-a-small.txt", "presigned-a-small.txt"}) {
    EXPECT_EQ(FileSha256(work / "out" / f), small) << f;
  }
  EXPECT_EQ(FileSha256(work / "out/download-z-big.bin"), FileSha256(work / "in/z-big.bin"));
}

TEST_F(S3ClientsTest, MalformedRequestsGetS3AnswersAndNothingEscapesTheSiteRoot) {
  // Raw HTTP, so nothing normalises the path on the way.
  const std::string host = proc_->host();
  const int port = proc_->s3_port();
  auto raw = [&](const std::string& method, const std::string& target, httplib::Headers h = {}) {
    httplib::Client c(host, port);
    c.set_url_encode(false);
    c.set_read_timeout(30);
    httplib::Request req;
    req.method = method;
    req.path = target;
    req.headers = std::move(h);
    if (method == "PUT") {
      req.body = "x";
      req.set_header("Content-Length", "1");
    }
    auto res = c.send(req);
    return res ? std::make_pair(res->status, res->body) : std::make_pair(0, std::string());
  };
  auto code = [](const std::string& body) {
    size_t a = body.find("<Code>"), b = body.find("</Code>");
    return a == std::string::npos || b == std::string::npos ? std::string()
                                                            : body.substr(a + 6, b - a - 6);
  };
  // Unsigned: refused before anything else.
  auto anon = raw("PUT", "/aws-bucket/../../../../etc/passwd");
  EXPECT_EQ(anon.first, 403);
  EXPECT_EQ(code(anon.second), "AccessDenied");
  // Signed requests with odd keys, through the aws CLI's signer (s3api keeps the key as given).
  auto r = Aws({"s3api", "create-bucket", "--bucket", "odd-keys"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  WriteFile(Dir() + "/one-byte", 1, 41);
  for (const std::string& key :
       std::vector<std::string>{"../../../../../../tmp/dim-escape", "a/../../b", "./x", "nul\x01ctl"}) {
    r = Aws({"s3api", "put-object", "--bucket", "odd-keys", "--key", key, "--body",
             Dir() + "/one-byte"});
    EXPECT_NE(r.exit_code, 0) << key;
    EXPECT_NE(r.err.find("InvalidArgument"), std::string::npos) << key << ": " << Describe(r);
  }
  std::string utf8_1024;
  while (utf8_1024.size() + 3 <= 1024) utf8_1024 += "\xE2\x82\xAC";
  while (utf8_1024.size() < 1024) utf8_1024 += "k";
  r = Aws({"s3api", "put-object", "--bucket", "odd-keys", "--key", utf8_1024, "--body",
           Dir() + "/one-byte"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  r = Aws({"s3api", "put-object", "--bucket", "odd-keys", "--key", utf8_1024 + "k", "--body",
           Dir() + "/one-byte"});
  EXPECT_NE(r.err.find("KeyTooLongError"), std::string::npos) << Describe(r);
  // %00 and broken escapes in the raw target (signature checks come after parsing fails).
  EXPECT_EQ(code(raw("GET", "/odd-keys/%zz").second), "InvalidURI");
  // Oversized headers.
  auto big = raw("GET", "/odd-keys", {{"X-Big", std::string(10000, 'a')}});
  EXPECT_EQ(big.first, 400);
  EXPECT_EQ(code(big.second), "RequestHeaderSectionTooLarge");
  httplib::Headers many;
  for (int i = 0; i < 40; ++i) many.emplace("X-Pad-" + std::to_string(i), std::string(400, 'p'));
  EXPECT_EQ(code(raw("GET", "/odd-keys", many).second), "RequestHeaderSectionTooLarge");
  EXPECT_EQ(raw("GET", "/odd-keys/" + std::string(9000, 'u')).first, 414);
  // Still alive, and nothing outside the data dir's sites.
  r = Aws({"s3", "ls", "s3://odd-keys"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_FALSE(fs::exists("/tmp/dim-escape"));
  for (const auto& e : fs::recursive_directory_iterator(Dir() + "/data")) {
    EXPECT_EQ(fs::relative(e.path(), Dir() + "/data").string().find(".."), std::string::npos)
        << e.path();
  }
}

TEST_F(S3ClientsTest, AccessesThroughTheGatewayShowInFilesWindowsAndHeat) {
  WriteFile(Dir() + "/heat.bin", 5000, 51);
  auto r = Aws({"s3", "mb", "s3://heat-bucket"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Aws({"s3", "cp", Dir() + "/heat.bin", "s3://heat-bucket/hot/object.bin", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // 12 reads through boto3 in one process (the CLI starts slowly).
  const std::string script =
      "import boto3,sys\n"
      "from botocore.config import Config\n"
      "s3=boto3.client('s3',endpoint_url=sys.argv[1],region_name='us-east-1',"
      "config=Config(s3={'addressing_style':'path'}))\n"
      "for _ in range(12): "
      "s3.get_object(Bucket='heat-bucket',Key='hot/object.bin')['Body'].read()\n";
  r = testing::RunProgram({"/usr/bin/python3", "-c", script, Endpoint()}, Env(), 120);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  json f;
  while (std::chrono::steady_clock::now() < deadline) {
    f = ApiJson("/files/heat-bucket/hot/object.bin");
    if (f.is_object() && f.contains("stats") && f["stats"].is_object() &&
        f["stats"].value("access_1h", 0) >= 12 && f["stats"].value("heat", 0.0) > 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(f.is_object()) << f.dump();
  ASSERT_TRUE(f.contains("stats")) << f.dump(2);
  EXPECT_GE(f["stats"]["access_1h"].get<int64_t>(), 12) << f.dump(2);
  EXPECT_GE(f["stats"]["reads"].get<int64_t>(), 12) << f.dump(2);
  EXPECT_GE(f["stats"]["writes"].get<int64_t>(), 1) << f.dump(2);
  EXPECT_GT(f["stats"]["heat"].get<double>(), 0) << f.dump(2);
  // The listing shows the same.
  bool listed = false;
  for (const auto& o : ApiJson("/files?bucket=heat-bucket")) {
    if (o["key"] == "heat-bucket/hot/object.bin") {
      listed = o.value("access_1h", 0) >= 12 && o.value("heat", 0.0) > 0;
    }
  }
  EXPECT_TRUE(listed) << ApiJson("/files?bucket=heat-bucket").dump(2);
  // And the gateway's metrics count the requests.
  httplib::Client c(proc_->host(), proc_->port());
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("dim_gateway_requests_total{method=\"GET\",code=\"200\"}"),
            std::string::npos);
  EXPECT_NE(m->body.find("dim_gateway_events_published_total"), std::string::npos);
}

}  // namespace
}  // namespace dim
