#include "replay/trace_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace dim {
namespace {

namespace fs = std::filesystem;

TEST(CsvTraceLineTest, ParsesEventsHeadersAndQuotes) {
  AccessEvent e;
  ASSERT_TRUE(ParseCsvTraceLine("1700000000,logs/a.log,get,1234", &e).value());
  EXPECT_EQ(e.ts_ms, 1'700'000'000'000);
  EXPECT_EQ(e.key, "logs/a.log");
  EXPECT_EQ(e.op, AccessOp::kGet);
  EXPECT_EQ(e.size, 1234);
  EXPECT_EQ(e.bytes, 1234);
  ASSERT_TRUE(ParseCsvTraceLine("1700000000.25,k,PUT,", &e).value());
  EXPECT_EQ(e.ts_ms, 1'700'000'000'250);
  EXPECT_EQ(e.op, AccessOp::kPut);
  EXPECT_EQ(e.size, 0);
  ASSERT_TRUE(ParseCsvTraceLine("1700000000123,k,read", &e).value());  // ms, no size
  EXPECT_EQ(e.ts_ms, 1'700'000'000'123);
  ASSERT_TRUE(ParseCsvTraceLine(R"(5,"a,b ""c""",head,9,extra,columns)", &e).value());
  EXPECT_EQ(e.key, R"(a,b "c")");
  EXPECT_EQ(e.op, AccessOp::kHead);
  EXPECT_EQ(e.bytes, 0);
  ASSERT_TRUE(ParseCsvTraceLine("5,k,REST.GET.OBJECT,9\r", &e).value());
  EXPECT_EQ(e.op, AccessOp::kGet);
  EXPECT_FALSE(ParseCsvTraceLine("ts,key,op,size", &e).value());
  EXPECT_FALSE(ParseCsvTraceLine("  ", &e).value());
  EXPECT_FALSE(ParseCsvTraceLine("# comment", &e).value());
}

TEST(CsvTraceLineTest, MalformedLinesSayWhy) {
  AccessEvent e;
  std::map<std::string, std::string> bad = {
      {"1700000000,k", "field"},
      {"abc,k,get,1", "not a number"},
      {"-5,k,get,1", "negative"},
      {"1e300,k,get,1", "2100"},
      {"nan,k,get,1", "not a number"},
      {"5,,get,1", "empty key"},
      {"5,k,fly,1", "unknown op"},
      {"5,k,get,-1", "out of range"},
      {"5,k,get,12x", "not an integer"},
      {"5,\"k,get,1", "unterminated"},
      {"5,\"k\"x,get,1", "closing quote"},
      {"5," + std::string(2000, 'k') + ",get", "1024"},
      {std::string("5,a\0b,get", 9), "NUL"},
  };
  for (const auto& [line, why] : bad) {
    auto r = ParseCsvTraceLine(line, &e);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_NE(r.status().message().find(why), std::string::npos)
        << line << " -> " << r.status().message();
  }
}

TEST(IbmTraceLineTest, ParsesTheFormat) {
  AccessEvent e;
  EXPECT_FALSE(
      ParseIbmTraceLine("Timestamp Operation Object_ID Size Start_Offset End_Offset ", &e).value());
  ASSERT_TRUE(ParseIbmTraceLine("1219008 REST.PUT.OBJECT 8d4fcda3d675bac9 1056", &e).value());
  EXPECT_EQ(e.ts_ms, 1219008);
  EXPECT_EQ(e.op, AccessOp::kPut);
  EXPECT_EQ(e.key, "8d4fcda3d675bac9");
  EXPECT_EQ(e.size, 1056);
  EXPECT_EQ(e.bytes, 1056);
  ASSERT_TRUE(
      ParseIbmTraceLine("1232488 REST.GET.OBJECT 95d363d3fbdc0b03 1168 0 1167", &e).value());
  EXPECT_EQ(e.op, AccessOp::kGet);
  EXPECT_EQ(e.bytes, 1168);
  ASSERT_TRUE(ParseIbmTraceLine("1232488 REST.GET.OBJECT x 5000 100 199", &e).value());
  EXPECT_EQ(e.bytes, 100);
  ASSERT_TRUE(ParseIbmTraceLine("1232437 REST.HEAD.OBJECT 3b8255e0609a700d 1456", &e).value());
  EXPECT_EQ(e.op, AccessOp::kHead);
  EXPECT_EQ(e.bytes, 0);
  ASSERT_TRUE(ParseIbmTraceLine("99 REST.DELETE.OBJECT abc", &e).value());
  EXPECT_EQ(e.op, AccessOp::kDelete);
  ASSERT_TRUE(ParseIbmTraceLine("99 REST.COPY.OBJECT abc 10", &e).value());
  EXPECT_EQ(e.op, AccessOp::kCopy);
}

TEST(IbmTraceLineTest, MalformedLinesSayWhy) {
  AccessEvent e;
  std::map<std::string, std::string> bad = {
      {"123 REST.GET.OBJECT", "field"},
      {"x REST.GET.OBJECT a 1", "not an integer"},
      {"123 REST.FLY.OBJECT a 1", "unknown operation"},
      {"123 REST.GET.OBJECT a", "missing Size"},
      {"123 REST.GET.OBJECT a 10 5", "End_Offset"},
      {"123 REST.GET.OBJECT a 10 5 2", "before"},
      {"123 REST.GET.OBJECT a 10 5 6 7", "6 fields"},
      {"-1 REST.GET.OBJECT a 10", "out of range"},
  };
  for (const auto& [line, why] : bad) {
    auto r = ParseIbmTraceLine(line, &e);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_NE(r.status().message().find(why), std::string::npos)
        << line << " -> " << r.status().message();
  }
}

TEST(TraceFormatTest, Detection) {
  EXPECT_EQ(DetectTraceFormat("Timestamp Operation Object_ID Size Start_Offset End_Offset "),
            TraceFormat::kIbmCos);
  EXPECT_EQ(DetectTraceFormat("1219008 REST.PUT.OBJECT 8d4fcda3d675bac9 1056"),
            TraceFormat::kIbmCos);
  EXPECT_EQ(DetectTraceFormat("ts,key,op,size"), TraceFormat::kCsv);
  EXPECT_EQ(DetectTraceFormat("5,k,REST.GET.OBJECT,9"), TraceFormat::kCsv);
  EXPECT_TRUE(ParseTraceFormat("ibm").ok());
  EXPECT_TRUE(ParseTraceFormat("parquet").status().IsInvalidArgument());
}

class TraceReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dim-trace-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

TEST_F(TraceReaderTest, SkipsAndReportsBadLinesWithoutStopping) {
  std::string path = Write("t.csv",
                           "ts,key,op,size\n"
                           "1,a,get,1\n"
                           "oops\n"
                           "\n"
                           "2,b,put,5\n"
                           "3,c,fly,1\n"
                           "4,d,get,7");  // no trailing newline
  auto r = TraceReader::Open(path, std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->format(), TraceFormat::kCsv);
  std::vector<std::string> keys;
  AccessEvent e;
  while ((*r)->Next(&e).value()) keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "d"}));
  EXPECT_EQ((*r)->bad_lines(), 2);
  ASSERT_EQ((*r)->first_errors().size(), 2u);
  EXPECT_EQ((*r)->first_errors()[0].rfind("line 3: ", 0), 0u) << (*r)->first_errors()[0];
  EXPECT_EQ((*r)->first_errors()[1].rfind("line 6: ", 0), 0u);
  EXPECT_EQ((*r)->lines(), 7);
  EXPECT_EQ((*r)->bytes_read(), (*r)->total_bytes());
}

TEST_F(TraceReaderTest, OverlongLinesAndMissingFiles) {
  std::string path = Write("long.csv", "1,a,get\n" + std::string(3 << 20, 'x') + "\n2,b,get\n");
  auto r = TraceReader::Open(path, TraceFormat::kCsv);
  ASSERT_TRUE(r.ok());
  AccessEvent e;
  int n = 0;
  while ((*r)->Next(&e).value()) ++n;
  EXPECT_EQ(n, 2);
  EXPECT_EQ((*r)->bad_lines(), 1);
  EXPECT_NE((*r)->first_errors()[0].find("1 MiB"), std::string::npos);
  EXPECT_TRUE(TraceReader::Open((dir_ / "absent").string(), std::nullopt).status().IsNotFound());
  EXPECT_TRUE(TraceReader::Open(dir_.string(), std::nullopt).status().IsInvalidArgument());
  auto empty = TraceReader::Open(Write("empty.csv", ""), std::nullopt);
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE((*empty)->Next(&e).value());
}

// The real IBM COS trace in ../shared/traces (see its README for the counts checked here).
TEST(RealTraceTest, IbmCos000ParsesCompletely) {
  std::string path =
      std::string(DIM_SOURCE_DIR) + "/../shared/traces/ibm-cos-000/IBMObjectStoreTrace000Part0.csv";
  if (!fs::exists(path)) {
    GTEST_SKIP() << "the real traces are absent (" << path << "); the parser tests above still ran";
  }
  auto r = TraceReader::Open(path, std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->format(), TraceFormat::kIbmCos);
  std::map<AccessOp, int> ops;
  std::set<std::string> objects;
  AccessEvent e;
  int64_t first = -1, last = 0;
  bool ordered = true;
  while ((*r)->Next(&e).value()) {
    ops[e.op]++;
    objects.insert(e.key);
    if (first < 0) first = e.ts_ms;
    ordered = ordered && e.ts_ms >= last;
    last = e.ts_ms;
  }
  EXPECT_EQ((*r)->bad_lines(), 0) << ((*r)->first_errors().empty() ? "" : (*r)->first_errors()[0]);
  EXPECT_EQ((*r)->events(), 10000);
  EXPECT_EQ(ops[AccessOp::kHead], 7317);
  EXPECT_EQ(ops[AccessOp::kGet], 2322);
  EXPECT_EQ(ops[AccessOp::kPut], 240);
  EXPECT_EQ(ops[AccessOp::kCopy], 117);
  EXPECT_EQ(ops[AccessOp::kDelete], 4);
  EXPECT_EQ(objects.size(), 1511u);
  EXPECT_TRUE(ordered);
  EXPECT_NEAR((last - first) / 1000.0, 3251, 2);
}

}  // namespace
}  // namespace dim
