#include "storage/site_registry.h"

#include <filesystem>
#include <random>

#include "storage/azure/azure_blob_store.h"
#include "storage/chaos_store.h"
#include "storage/local_object_store.h"
#include "storage/retrying_store.h"
#include "storage/s3/s3_object_store.h"

namespace dim {

void SiteRegistry::Add(SiteConfig config, std::shared_ptr<ObjectStore> store,
                       std::shared_ptr<ObjectStore> backend) {
  if (!backend) backend = store;
  sites_.push_back(Site{std::move(config), std::move(store), std::move(backend)});
}

const Site* SiteRegistry::Find(std::string_view name) const {
  for (const auto& s : sites_) {
    if (s.config.name == name) return &s;
  }
  return nullptr;
}

std::vector<std::string> SiteRegistry::Names() const {
  std::vector<std::string> out;
  for (const auto& s : sites_) out.push_back(s.config.name);
  return out;
}

Result<std::shared_ptr<ObjectStore>> MakeObjectStore(const SiteConfig& config,
                                                     const std::string& data_dir,
                                                     const Config* root) {
  const Config defaults;
  if (!root) root = &defaults;
  if (config.type == "local") {
    std::filesystem::path p(config.path);
    if (p.is_relative()) p = std::filesystem::path(data_dir) / "sites" / p;
    DIM_ASSIGN_OR_RETURN(auto store, LocalObjectStore::Make(config.name, p));
    return std::shared_ptr<ObjectStore>(std::move(store));
  }
  if (config.type == "s3" || config.type == "gcs") {
    DIM_ASSIGN_OR_RETURN(auto o, S3Options::FromSiteConfig(config, *root));
    DIM_ASSIGN_OR_RETURN(auto store, S3ObjectStore::Make(std::move(o)));
    return std::shared_ptr<ObjectStore>(std::move(store));
  }
  if (config.type == "azure") {
    DIM_ASSIGN_OR_RETURN(auto o, AzureOptions::FromSiteConfig(config, *root));
    DIM_ASSIGN_OR_RETURN(auto store, AzureBlobStore::Make(std::move(o)));
    return std::shared_ptr<ObjectStore>(std::move(store));
  }
  return Status::Unimplemented("site " + config.name + ": backend type '" + config.type +
                               "' is not available in this build");
}

RetryOptions RetryOptionsFromConfig(const Config& config) {
  RetryOptions o;
  o.max_attempts = static_cast<int>(config.storage.retry_max_attempts);
  o.max_throttled_attempts = static_cast<int>(config.storage.retry_max_throttled_attempts);
  o.base_delay_ms = config.storage.retry_base_ms;
  o.max_delay_ms = config.storage.retry_max_ms;
  return o;
}

Result<SiteRegistry> MakeSiteRegistry(const Config& config, const SiteStackOptions& stack) {
  SiteRegistry reg;
  uint64_t seed = stack.seed ? stack.seed : std::random_device{}();
  std::shared_ptr<RetryPolicy> policy;
  if (stack.retry) {
    policy = std::make_shared<RetryPolicy>(RetryOptionsFromConfig(config), *stack.clock,
                                           stack.sleep, seed);
  }
  for (const auto& s : config.sites) {
    DIM_ASSIGN_OR_RETURN(auto backend, MakeObjectStore(s, config.data_dir, &config));
    std::shared_ptr<ObjectStore> store = backend;
    if (stack.chaos) store = ChaosStore::Make(store, stack.chaos, ++seed, stack.sleep);
    if (policy) store = RetryingStore::Make(store, policy, stack.metrics);
    reg.Add(s, std::move(store), std::move(backend));
  }
  return reg;
}

}  // namespace dim
