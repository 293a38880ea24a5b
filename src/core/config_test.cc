#include "core/config.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

EnvLookup NoEnv() {
  return [](const std::string&) { return std::optional<std::string>(); };
}
EnvList NoNames() {
  return [] { return std::vector<std::string>(); };
}

TEST(ConfigTest, DefaultsAreTheEmbeddedThreeSites) {
  auto r = LoadConfigText("", "x", NoEnv(), NoNames());
  ASSERT_TRUE(r.ok()) << r.ErrorText("x");
  ASSERT_EQ(r.config.sites.size(), 3u);
  EXPECT_EQ(r.config.sites[0].name, "aws");
  EXPECT_DOUBLE_EQ(r.config.sites[0].p95_ms, 50);
  EXPECT_DOUBLE_EQ(r.config.sites[1].cost_per_gb_month, 0.020);
  EXPECT_EQ(r.config.api.listen, "127.0.0.1:8000");
}

TEST(ConfigTest, FileValuesAndSites) {
  auto r = LoadConfigText(R"(
data_dir = "/tmp/x"
[api]
listen = "127.0.0.1:0"
[policy]
rf = 2
sla_ms = 55.5
[[sites]]
name = "a"
provider = "p1"
path = "a"
class = "cold"
[[sites]]
name = "b"
provider = "p2"
path = "b"
)", "t.toml", NoEnv(), NoNames());
  ASSERT_TRUE(r.ok()) << r.ErrorText("t.toml");
  EXPECT_EQ(r.config.data_dir, "/tmp/x");
  EXPECT_EQ(r.config.policy.rf, 2);
  EXPECT_DOUBLE_EQ(r.config.policy.sla_ms, 55.5);
  ASSERT_EQ(r.config.sites.size(), 2u);
  EXPECT_EQ(r.config.sites[0].storage_class, Tier::kCold);
  EXPECT_EQ(r.config.sites[1].line, 13);
}

TEST(ConfigTest, ErrorsNameTheLine) {
  auto r = LoadConfigText("[api]\nlisten = \"x\"\nthreads = \"many\"\n[stream]\nbogus = 1\n", "bad.toml",
                          NoEnv(), NoNames());
  ASSERT_FALSE(r.ok());
  std::string text = r.ErrorText("bad.toml");
  EXPECT_NE(text.find("bad.toml:3: api.threads must be an integer"), std::string::npos) << text;
  EXPECT_NE(text.find("bad.toml:5: unknown key 'stream.bogus'"), std::string::npos) << text;
  EXPECT_NE(text.find("api.listen"), std::string::npos) << text;
}

TEST(ConfigTest, SyntaxErrorNamesTheLine) {
  auto r = LoadConfigText("a = 1\n[api\nlisten = 3\n", "s.toml", NoEnv(), NoNames());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_NE(r.errors[0].message.find("syntax"), std::string::npos);
}

TEST(ConfigTest, RangeAndChoiceValidation) {
  auto r = LoadConfigText("[policy]\nrf = 0\n[store]\nbackend = \"mysql\"\n", "r.toml", NoEnv(),
                          NoNames());
  ASSERT_FALSE(r.ok());
  std::string text = r.ErrorText("r.toml");
  EXPECT_NE(text.find("r.toml:2: policy.rf = 0 is out of range"), std::string::npos) << text;
  EXPECT_NE(text.find("r.toml:4: store.backend = \"mysql\" is not one of"), std::string::npos)
      << text;
}

TEST(ConfigTest, SiteErrorsNameTheSiteLine) {
  auto r = LoadConfigText("[[sites]]\nname = \"a\"\nprovider = \"x\"\n\n[[sites]]\nname = \"a\"\n"
                          "provider = \"y\"\npath = \"p\"\n",
                          "s.toml", NoEnv(), NoNames());
  ASSERT_FALSE(r.ok());
  std::string text = r.ErrorText("s.toml");
  EXPECT_NE(text.find("s.toml:1: site 'a': path is required"), std::string::npos) << text;
  EXPECT_NE(text.find("s.toml:5: duplicate site name 'a'"), std::string::npos) << text;
}

TEST(ConfigTest, EnvironmentOverridesFileAndSites) {
  std::map<std::string, std::string> env = {{"DIM_API_LISTEN", "127.0.0.1:9999"},
                                            {"DIM_STREAM_HEAT_TAU_S", "60"},
                                            {"DIM_SITES_AWS_P95_MS", "42"},
                                            {"DIM_POLICY_ENFORCE_ENCRYPTION", "yes"},
                                            {"DIM_NOT_A_KEY", "1"}};
  auto lookup = [&](const std::string& n) -> std::optional<std::string> {
    auto it = env.find(n);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto names = [&] {
    std::vector<std::string> v;
    for (auto& [k, _] : env) v.push_back(k);
    return v;
  };
  auto r = LoadConfigText("[api]\nlisten = \"127.0.0.1:1\"\n", "e.toml", lookup, names);
  ASSERT_TRUE(r.ok()) << r.ErrorText("e");
  EXPECT_EQ(r.config.api.listen, "127.0.0.1:9999");
  EXPECT_DOUBLE_EQ(r.config.stream.heat_tau_s, 60);
  EXPECT_DOUBLE_EQ(r.config.sites[0].p95_ms, 42);
  EXPECT_TRUE(r.config.policy.enforce_encryption);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].message.find("DIM_NOT_A_KEY"), std::string::npos);

  env["DIM_MIGRATOR_WORKERS"] = "lots";
  auto bad = LoadConfigText("", "e.toml", lookup, names);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.ErrorText("e").find("DIM_MIGRATOR_WORKERS=lots"), std::string::npos);
}

TEST(ConfigTest, HostPortParsing) {
  auto hp = ParseHostPort("127.0.0.1:8000");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 8000);
  EXPECT_FALSE(ParseHostPort("8000").ok());
  EXPECT_FALSE(ParseHostPort("h:99999").ok());
  EXPECT_FALSE(ParseHostPort("h:").ok());
  EXPECT_EQ(ParseHostPort("[::1]:80")->host, "::1");
}

TEST(ConfigTest, ReferenceDocumentsEveryKey) {
  std::string md = ConfigReferenceMarkdown();
  EXPECT_NE(md.find("`stream.flush_interval_ms`"), std::string::npos);
  EXPECT_NE(md.find("`DIM_API_LISTEN`"), std::string::npos);
  EXPECT_NE(md.find("`cost_per_gb_month`"), std::string::npos);
}

}  // namespace
}  // namespace dim
