// The configured sites: each site's catalog entry and the ObjectStore that reaches it.
// Built once at start-up and immutable afterwards, so concurrent readers need no locking.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "storage/object_store.h"

namespace dim {

struct Site {
  SiteConfig config;
  std::shared_ptr<ObjectStore> store;
  const std::string& name() const { return config.name; }
};

class SiteRegistry {
 public:
  void Add(SiteConfig config, std::shared_ptr<ObjectStore> store);
  // nullptr if no such site.
  const Site* Find(std::string_view name) const;
  const std::vector<Site>& sites() const { return sites_; }
  std::vector<std::string> Names() const;

 private:
  std::vector<Site> sites_;
};

// The ObjectStore for a site's backend. Local paths that are relative resolve under
// DATA_DIR/sites/. Backends not built into this binary are Unimplemented.
Result<std::shared_ptr<ObjectStore>> MakeObjectStore(const SiteConfig& config,
                                                     const std::string& data_dir);
// Every configured site, built with MakeObjectStore.
Result<SiteRegistry> MakeSiteRegistry(const Config& config);

}  // namespace dim
