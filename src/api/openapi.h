// GET /openapi.json: an OpenAPI 3.0 document built from the API's route table.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/api_server.h"

namespace dim {

nlohmann::json OpenApiDocument(const std::vector<ApiServer::RouteInfo>& routes,
                               const std::string& version);

}  // namespace dim
