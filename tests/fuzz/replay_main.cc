// Runs a fuzz target's LLVMFuzzerTestOneInput without libFuzzer: over every file of the corpus
// directories given as arguments, and over deterministic mutations of each (every truncation
// point up to 256 bytes and a sample beyond, single bit flips, byte insertions of 0x00/0xff,
// and splices of two samples). A crash, sanitizer report or hang fails the ctest; the count of
// inputs run is printed. Used by ctest so that gcc builds exercise the parsers too.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int64_t runs = 0;

void Run(const std::string& s) {
  // A private copy, so reads past the end are caught by sanitizers and valgrind.
  std::vector<uint8_t> buf(s.begin(), s.end());
  LLVMFuzzerTestOneInput(buf.data(), buf.size());
  ++runs;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> samples;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else if (std::filesystem::is_regular_file(p)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "replay: no such corpus: %s\n", argv[i]);
      return 2;
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      samples.push_back(ss.str());
    }
  }
  if (samples.empty()) {
    std::fprintf(stderr, "replay: empty corpus\n");
    return 2;
  }
  std::mt19937_64 rng(12345);
  Run("");
  for (const auto& s : samples) {
    Run(s);
    for (size_t cut = 0; cut < s.size(); cut += (cut < 256 ? 1 : 1 + s.size() / 64)) Run(s.substr(0, cut));
    for (int k = 0; k < 64 && !s.empty(); ++k) {
      std::string m = s;
      m[rng() % m.size()] ^= static_cast<char>(1u << (rng() % 8));
      Run(m);
      std::string ins = s;
      ins.insert(rng() % (ins.size() + 1), 1, (k & 1) ? '\xff' : '\0');
      Run(ins);
    }
    const auto& other = samples[rng() % samples.size()];
    Run(s.substr(0, s.size() / 2) + other.substr(other.size() / 2));
  }
  std::printf("replay: %lld inputs from %zu samples ran without a crash\n", static_cast<long long>(runs),
              samples.size());
  return 0;
}
