// The contract every ObjectStore backend must pass. A backend's test instantiates it with a
// factory:
//   INSTANTIATE_TEST_SUITE_P(Local, ObjectStoreContract, ::testing::Values(ObjectStoreCase{...}));
// Link object_store_contract.cc into the test binary.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "storage/object_store.h"

namespace dim {

struct ObjectStoreCase {
  std::string name;
  // Returns a store with no blobs (each call may return a fresh namespace); null on failure.
  std::function<std::shared_ptr<ObjectStore>()> make;
  int64_t large_object_bytes = 256ll << 20;  // streamed with bounded memory
  // Where a test server knowingly deviates from the real service (docs/storage-backends.md):
  // the contract then checks what the server does instead and prints the deviation.
  bool abort_multipart_unsupported = false;  // s3rver answers AbortMultipartUpload with 405
  size_t max_name_component_bytes = 0;       // 0: none; s3rver keeps keys as files (255)
  bool normalizes_paths = false;  // s3rver: "a//b" is refused, "a/../b" is stored as "b"
  bool truncated_listing_fails = false;  // s3rver: a truncated ListObjectsV2 answers 500
};
// gtest prints a case by its name (not as raw bytes).
inline void PrintTo(const ObjectStoreCase& c, std::ostream* os) { *os << c.name; }

class ObjectStoreContract : public ::testing::TestWithParam<ObjectStoreCase> {
 protected:
  void SetUp() override;
  std::shared_ptr<ObjectStore> store_;
};

// Peak resident set size of this process in bytes (VmHWM), and a way to reset it.
int64_t PeakRssBytes();
void ResetPeakRss();

}  // namespace dim
