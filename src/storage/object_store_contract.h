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
  // Returns a store with no blobs (each call may return a fresh namespace).
  std::function<std::shared_ptr<ObjectStore>()> make;
  int64_t large_object_bytes = 256ll << 20;  // streamed with bounded memory
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
