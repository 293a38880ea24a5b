#include "core/config.h"

#include <gtest/gtest.h>

#include <map>

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

TEST(KafkaPropertiesTest, Parse) {
  auto p =
      ParseKafkaProperties("security.protocol=SASL_SSL; sasl.mechanism = PLAIN,\nlinger.ms=10");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->size(), 3u);
  EXPECT_EQ(p->at("sasl.mechanism"), "PLAIN");
  EXPECT_EQ(p->at("linger.ms"), "10");
  EXPECT_TRUE(ParseKafkaProperties("").value().empty());
  EXPECT_TRUE(ParseKafkaProperties("novalue").status().IsInvalidArgument());
  EXPECT_TRUE(ParseKafkaProperties("=x").status().IsInvalidArgument());
}

TEST(ConfigTest, KafkaSettingsAreChecked) {
  auto good = LoadConfigText(
      "[bus]\nbackend = \"kafka\"\nbrokers = \"b1:9092,b2:9092\"\n"
      "kafka_properties = \"security.protocol=SASL_SSL;sasl.mechanisms=PLAIN\"\n"
      "[stream]\nmetrics_listen = \"127.0.0.1:0\"\n",
      "k.toml", NoEnv(), NoNames());
  ASSERT_TRUE(good.ok()) << good.ErrorText("k.toml");
  EXPECT_EQ(good.config.bus.kafka_properties, "security.protocol=SASL_SSL;sasl.mechanisms=PLAIN");
  EXPECT_EQ(good.config.stream.metrics_listen, "127.0.0.1:0");
  auto bad = LoadConfigText(
      "[bus]\nbackend = \"kafka\"\nkafka_properties = \"linger.ms\"\n"
      "[stream]\nmetrics_listen = \"nowhere\"\n",
      "b.toml", NoEnv(), NoNames());
  ASSERT_FALSE(bad.ok());
  std::string text = bad.ErrorText("b.toml");
  EXPECT_NE(text.find("bus.brokers is required"), std::string::npos) << text;
  EXPECT_NE(text.find("bus.kafka_properties: kafka property 'linger.ms' is not key=value"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("stream.metrics_listen"), std::string::npos) << text;
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

TEST(ConfigTest, ShippedCatalogLoads) {
  auto r = LoadConfigFile(std::string(DIM_SOURCE_DIR) + "/config/catalog.toml", NoEnv(), NoNames());
  ASSERT_TRUE(r.ok()) << r.ErrorText("config/catalog.toml");
  ASSERT_EQ(r.config.sites.size(), 9u);
  std::map<std::string, const SiteConfig*> by_name;
  std::map<Tier, int> per_tier;
  for (const auto& s : r.config.sites) {
    by_name[s.name] = &s;
    per_tier[s.storage_class]++;
    EXPECT_TRUE(s.encrypted) << s.name;
    EXPECT_GT(s.cost_per_gb_month, 0) << s.name;
    EXPECT_EQ(s.type, "local") << s.name;
  }
  EXPECT_EQ(per_tier[Tier::kHot], 3);
  EXPECT_EQ(per_tier[Tier::kWarm], 3);
  EXPECT_EQ(per_tier[Tier::kCold], 3);
  for (const char* n :
       {"aws-standard", "aws-standard-ia", "aws-glacier-ir", "azure-hot", "azure-cool",
        "azure-cold", "gcs-standard", "gcs-nearline", "gcs-coldline"}) {
    ASSERT_TRUE(by_name.count(n)) << n;
  }
  EXPECT_DOUBLE_EQ(by_name["aws-standard"]->cost_per_gb_month, 0.023);
  EXPECT_DOUBLE_EQ(by_name["aws-glacier-ir"]->retrieval_per_gb, 0.03);
  EXPECT_EQ(by_name["aws-glacier-ir"]->min_storage_days, 90);
  EXPECT_DOUBLE_EQ(by_name["azure-cold"]->cost_per_gb_month, 0.0036);
  EXPECT_EQ(by_name["azure-cool"]->min_storage_days, 30);
  EXPECT_DOUBLE_EQ(by_name["gcs-nearline"]->cost_per_gb_month, 0.010);
  EXPECT_DOUBLE_EQ(by_name["gcs-standard"]->egress_per_gb, 0.12);
  // Within each provider, colder classes store for less and charge for reading.
  for (const char* p : {"aws", "azure", "gcs"}) {
    std::string prov(p);
    std::vector<const SiteConfig*> v;
    for (const auto& s : r.config.sites) {
      if (s.name.rfind(prov + "-", 0) == 0) v.push_back(&s);
    }
    ASSERT_EQ(v.size(), 3u) << p;
    EXPECT_GT(v[0]->cost_per_gb_month, v[1]->cost_per_gb_month) << p;
    EXPECT_GT(v[1]->cost_per_gb_month, v[2]->cost_per_gb_month) << p;
    EXPECT_LT(v[0]->retrieval_per_gb, v[1]->retrieval_per_gb) << p;
    EXPECT_LT(v[1]->min_storage_days, v[2]->min_storage_days) << p;
  }
}

TEST(ConfigTest, CloudSitesAreValidated) {
  auto errors_of = [](const std::string& site) {
    auto r = LoadConfigText("[[sites]]\nname = \"x\"\nprovider = \"p\"\n" + site, "c.toml", NoEnv(),
                            NoNames());
    return r.ErrorText("c.toml");
  };
  EXPECT_NE(errors_of("type = \"s3\"\n").find("bucket is required"), std::string::npos);
  EXPECT_NE(errors_of("type = \"s3\"\nbucket = \"b\"\naccess_key = \"a\"\n").find("set together"),
            std::string::npos);
  EXPECT_NE(errors_of("type = \"azure\"\nbucket = \"c\"\n").find("storage account"),
            std::string::npos);
  EXPECT_NE(errors_of("type = \"gcs\"\nbucket = \"b\"\nsse = \"AES256\"\n").find("GCS encrypts"),
            std::string::npos);
  EXPECT_NE(errors_of("type = \"gcs\"\nbucket = \"b\"\ncreate_bucket = true\n")
                .find("create it beforehand"),
            std::string::npos);
  EXPECT_NE(
      errors_of("type = \"s3\"\nbucket = \"b\"\nendpoint = \"s3.amazonaws.com\"\n").find("http://"),
      std::string::npos);
  EXPECT_NE(errors_of("type = \"s3\"\nbucket = \"b\"\npart_size_mb = 1\n").find("out of range"),
            std::string::npos);
  EXPECT_EQ(errors_of("type = \"s3\"\nbucket = \"b\"\naccess_key = \"a\"\nsecret_key = \"s\"\n"),
            "");
}

TEST(ConfigTest, PairConcurrencyOverrides) {
  auto ok = ParsePairLimits(" aws>gcp=8, azure>aws=0 ,");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_EQ(ok->at({"aws", "gcp"}), 8);
  EXPECT_EQ(ok->at({"azure", "aws"}), 0);
  EXPECT_TRUE(ParsePairLimits("")->empty());
  for (const char* bad : {"aws>gcp", "aws=3", ">gcp=1", "aws>=1", "aws>gcp=", "aws>gcp=x",
                          "aws>gcp=1,aws>gcp=2", "aws>gcp=99999999"}) {
    EXPECT_FALSE(ParsePairLimits(bad).ok()) << bad;
  }
  auto r = LoadConfigText("[migrator]\npair_concurrency_overrides = \"aws>nowhere=2\"\n", "p.toml",
                          NoEnv(), NoNames());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.ErrorText("p").find("no site named 'nowhere'"), std::string::npos) << r.ErrorText("p");
  auto r2 = LoadConfigText("[migrator]\npair_concurrency_overrides = \"aws>gcp\"\n", "p.toml",
                           NoEnv(), NoNames());
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.ErrorText("p").find("not src>dst=N"), std::string::npos) << r2.ErrorText("p");
}

TEST(ConfigTest, ReferenceDocumentsEveryKey) {
  std::string md = ConfigReferenceMarkdown();
  EXPECT_NE(md.find("`stream.flush_interval_ms`"), std::string::npos);
  EXPECT_NE(md.find("`DIM_API_LISTEN`"), std::string::npos);
  EXPECT_NE(md.find("`cost_per_gb_month`"), std::string::npos);
}

}  // namespace
}  // namespace dim
