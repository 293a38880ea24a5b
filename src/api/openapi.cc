#include "api/openapi.h"

#include <regex>

namespace dim {

using nlohmann::json;

json OpenApiDocument(const std::vector<ApiServer::RouteInfo>& routes, const std::string& version) {
  json paths = json::object();
  static const std::regex param(R"(\{([a-z_]+)\})");
  for (const auto& r : routes) {
    std::string method = r.method;
    for (auto& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    json op = {{"summary", r.summary},
               {"responses",
                {{"200", {{"description", "OK"}}},
                 {"400", {{"description", "Bad input: {\"error\", \"code\"}"}}},
                 {"404", {{"description", "Not found: {\"error\", \"code\"}"}}}}}};
    if (r.mutating) {
      op["security"] = json::array({{{"bearer", json::array()}}});
      op["responses"]["401"] = {{"description", "Missing or wrong bearer token"}};
    }
    json params = json::array();
    for (std::sregex_iterator it(r.path.begin(), r.path.end(), param), end; it != end; ++it) {
      std::string name = (*it)[1].str();
      json p = {{"name", name}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}};
      if (name == "key") p["description"] = "bucket/key; may contain '/'";
      params.push_back(p);
    }
    if (!params.empty()) op["parameters"] = params;
    paths[r.path][method] = op;
  }
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "Data-in-Motion API"}, {"version", version}}},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
          {"paths", paths}};
}

}  // namespace dim
