#include "storage/site_registry.h"

#include <filesystem>

#include "storage/local_object_store.h"

namespace dim {

void SiteRegistry::Add(SiteConfig config, std::shared_ptr<ObjectStore> store) {
  sites_.push_back(Site{std::move(config), std::move(store)});
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
                                                     const std::string& data_dir) {
  if (config.type == "local") {
    std::filesystem::path p(config.path);
    if (p.is_relative()) p = std::filesystem::path(data_dir) / "sites" / p;
    DIM_ASSIGN_OR_RETURN(auto store, LocalObjectStore::Make(config.name, p));
    return std::shared_ptr<ObjectStore>(std::move(store));
  }
  return Status::Unimplemented("site " + config.name + ": backend type '" + config.type +
                               "' is not available in this build");
}

Result<SiteRegistry> MakeSiteRegistry(const Config& config) {
  SiteRegistry reg;
  for (const auto& s : config.sites) {
    DIM_ASSIGN_OR_RETURN(auto store, MakeObjectStore(s, config.data_dir));
    reg.Add(s, std::move(store));
  }
  return reg;
}

}  // namespace dim
