// Helpers every API route uses: JSON responses, Status -> HTTP status mapping, and checked
// query/path parameters that turn bad input into InvalidArgument with the parameter's name.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/object_key.h"
#include "core/status.h"

namespace dim {

int HttpStatusFor(StatusCode code);
void SendJson(httplib::Response& res, int http_status, const nlohmann::json& body);
// {"error": message, "code": "NotFound"} with the mapped HTTP status.
void SendError(httplib::Response& res, const Status& status);

Result<int64_t> IntParam(const httplib::Request& req, const std::string& name, int64_t def,
                         int64_t lo, int64_t hi);
Result<double> DoubleParam(const httplib::Request& req, const std::string& name, double def,
                           double lo, double hi);
Result<bool> BoolParam(const httplib::Request& req, const std::string& name, bool def);
// The object key captured by the route's first regex group ("bucket/key").
Result<ObjectKey> KeyFromMatch(const httplib::Request& req);
// The body as a JSON object, or InvalidArgument explaining what is wrong with it.
Result<nlohmann::json> JsonObjectBody(const httplib::Request& req);

}  // namespace dim
