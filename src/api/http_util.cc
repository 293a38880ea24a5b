#include "api/http_util.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace dim {

int HttpStatusFor(StatusCode c) {
  switch (c) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kAborted: return 409;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kOutOfRange: return 416;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kDataLoss: return 500;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

void SendJson(httplib::Response& res, int code, const nlohmann::json& j) {
  res.status = code;
  res.set_content(j.dump(), "application/json");
}

void SendError(httplib::Response& res, const Status& s) {
  SendJson(res, HttpStatusFor(s.code()), {{"error", s.message()}, {"code", StatusCodeName(s.code())}});
}

Result<int64_t> IntParam(const httplib::Request& req, const std::string& name, int64_t def,
                         int64_t lo, int64_t hi) {
  if (!req.has_param(name)) return def;
  const std::string v = req.get_param_value(name);
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0) {
    return Status::InvalidArgument("query parameter " + name + "='" + v + "' is not an integer");
  }
  if (x < lo || x > hi) {
    return Status::InvalidArgument("query parameter " + name + "=" + v + " is outside [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int64_t>(x);
}

Result<double> DoubleParam(const httplib::Request& req, const std::string& name, double def,
                           double lo, double hi) {
  if (!req.has_param(name)) return def;
  const std::string v = req.get_param_value(name);
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || std::isnan(x)) {
    return Status::InvalidArgument("query parameter " + name + "='" + v + "' is not a number");
  }
  if (x < lo || x > hi) {
    return Status::InvalidArgument("query parameter " + name + "=" + v + " is outside [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return x;
}

Result<bool> BoolParam(const httplib::Request& req, const std::string& name, bool def) {
  if (!req.has_param(name)) return def;
  std::string v = req.get_param_value(name);
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return Status::InvalidArgument("query parameter " + name + "='" + v + "' must be true or false");
}

Result<ObjectKey> KeyFromMatch(const httplib::Request& req) {
  if (req.matches.size() < 2) return Status::InvalidArgument("missing key");
  return ObjectKey::Parse(req.matches[1].str());
}

Result<nlohmann::json> JsonObjectBody(const httplib::Request& req) {
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("body is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("body must be a JSON object");
  return j;
}

}  // namespace dim
