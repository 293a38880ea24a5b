// Fuzzes the model file parser (header JSON, lengths, checksum) and the schema check. XGBoost is
// not reached: a booster is parsed only after its SHA-256 matched the header.
#include <cstdint>
#include <string_view>

#include "ml/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto f = dim::ParseModelFile(bytes);
  if (f.ok()) (void)dim::CheckSchema(f->header);
  auto h = dim::ParseModelHeader(bytes);
  if (h.ok()) (void)dim::ModelHeaderToJson(*h).dump();
  return 0;
}
