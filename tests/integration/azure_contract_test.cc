// The ObjectStore contract and the Azure backend's own promises against azurite (npm), started
// once for this binary by scripts/test-server on 127.0.0.1 with a free port and stopped at the
// end. Azurite checks Shared Key signatures, so wrong keys are rejected as they would be by Azure.
#include <gtest/gtest.h>

#include "core/checksum.h"
#include "integration/backend_test_support.h"
#include "storage/azure/azure_blob_store.h"
#include "storage/object_store_contract.h"
#include "storage/site_registry.h"

namespace dim {
namespace {

// Azurite's well-known development account (public, documented by Microsoft).
constexpr const char* kAccount = "devstoreaccount1";
constexpr const char* kKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const testing::TestServerEnvironment* const kServer =
    testing::TestServerEnvironment::Register("azurite");
testing::TestServer* Server() { return kServer->server(); }

std::string FreshContainer() { return testing::FreshName("c"); }

AzureOptions Options(const std::string& container) {
  AzureOptions o;
  o.site = "azurite";
  o.endpoint = (Server() ? Server()->endpoint() : "http://127.0.0.1:1") + "/" + kAccount;
  o.account = kAccount;
  o.key = kKey;
  o.container = container;
  o.block_size = 8 << 20;
  o.upload_concurrency = 4;
  return o;
}

std::shared_ptr<ObjectStore> MakeStore(AzureOptions o) {
  return testing::MakeReadyStore(kServer, std::move(o), &AzureBlobStore::EnsureContainer);
}

INSTANTIATE_TEST_SUITE_P(Azurite, ObjectStoreContract,
                         ::testing::Values(ObjectStoreCase{
                             "azurite", [] { return MakeStore(Options(FreshContainer())); }}),
                         [](const auto& info) { return info.param.name; });

class AzureBackendTest : public testing::BackendOnServerTest {
 protected:
  AzureBackendTest() : BackendOnServerTest(kServer, "azurite") {}
};

TEST_F(AzureBackendTest, WrongKeyNamesEndpointAndCause) {
  auto container = FreshContainer();
  ASSERT_NE(MakeStore(Options(container)), nullptr);
  AzureOptions o = Options(container);
  o.key = Base64Encode("definitely not the account key");
  auto s = AzureBlobStore::Make(o).value();
  StringSource src("x");
  auto r = s->Put("demo/a@1", src, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << r.status().ToString();
  EXPECT_NE(r.status().message().find(Server()->endpoint()), std::string::npos)
      << r.status().ToString();
  // Azure says AuthenticationFailed; azurite says AuthorizationFailure ("failed to authenticate").
  EXPECT_NE(r.status().message().find("authenticate"), std::string::npos) << r.status().ToString();
  auto h = s->Head("demo/a@1");  // a bodiless answer: the code comes from x-ms-error-code
  EXPECT_EQ(h.status().code(), StatusCode::kUnauthenticated) << h.status().ToString();
}

TEST_F(AzureBackendTest, UnreachableEndpointNamesIt) {
  AzureOptions o = Options("nowhere");
  o.endpoint = std::string("http://127.0.0.1:9/") + kAccount;
  auto s = AzureBlobStore::Make(o).value();
  auto l = s->List("", "", 10);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(l.status().message().find("http://127.0.0.1:9"), std::string::npos)
      << l.status().ToString();
  EXPECT_NE(l.status().message().find("refused"), std::string::npos) << l.status().ToString();
}

TEST_F(AzureBackendTest, MissingContainerIsExplainedOrCreated) {
  AzureOptions o = Options(FreshContainer());
  auto missing = AzureBlobStore::Make(o).value();
  o.create_container = true;
  auto creating = AzureBlobStore::Make(o).value();
  testing::ExpectMissingBucketExplainedOrCreated(*missing, *creating, "ContainerNotFound");
}

TEST_F(AzureBackendTest, ListingContinuesAfterABlobName) {
  auto s = MakeStore(Options(FreshContainer()));
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 5; ++i) {
    StringSource src("x");
    ASSERT_TRUE(s->Put("demo/n" + std::to_string(i) + "@1", src, {}).ok());
  }
  auto up = s->CreateMultipart("demo/pending@1", {});
  ASSERT_TRUE(up.ok());
  auto page = s->List("demo/", "demo/n1@1", 2);  // a name, not one of our markers
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].name, "demo/n2@1");
  EXPECT_EQ(page->items[1].name, "demo/n3@1");
  auto all = s->List("", "", 100);
  ASSERT_TRUE(all.ok());
  for (auto& i : all->items) EXPECT_EQ(i.name.rfind(".dim-", 0), std::string::npos) << i.name;
  StringSource reserved("x");
  EXPECT_EQ(s->Put(".dim-uploads/x", reserved, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AzureBackendTest, SiteRegistryBuildsAnAzureSite) {
  SiteConfig s;
  s.name = "azure-azurite";
  s.provider = "azure";
  s.type = "azure";
  s.endpoint = Server()->endpoint() + "/" + kAccount;
  s.bucket = FreshContainer();
  s.access_key = kAccount;
  s.secret_key = kKey;
  testing::ExpectSiteRoundTrip(s);
}

}  // namespace
}  // namespace dim
