// The dashboard's files (web/), embedded into the binary at build time.
#pragma once

#include <map>
#include <string_view>

namespace dim {

struct WebAsset {
  std::string_view body;
  std::string_view content_type;
};

// Keyed by URL path ("/index.html", "/app.js", ...).
const std::map<std::string_view, WebAsset>& WebAssets();

}  // namespace dim
