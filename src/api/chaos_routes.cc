#include "api/chaos_routes.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "api/http_util.h"

namespace dim {

using nlohmann::json;

namespace {

constexpr const char* kActor = "admin";

json StatusJson(ChaosController& chaos, const SiteRegistry* sites) {
  ChaosState st = chaos.Snapshot();
  json out = json::object();
  if (sites) {
    for (const auto& s : sites->sites()) out[s.name()] = st.For(s.name()).ToJson();
  }
  for (const auto& [name, c] : st.sites) {
    if (!out.contains(name)) out[name] = c.ToJson();  // chaos for a site this process lacks
  }
  return {{"sites", out}, {"refresh_ms", chaos.refresh_ms()}};
}

// The sites a change applies to: body "site" (must exist) or every configured site.
Result<std::vector<std::string>> TargetSites(const json& body, const SiteRegistry* sites) {
  if (!sites) return Status::Unavailable("the site registry does not run in this process");
  if (body.contains("site") && !body["site"].is_null()) {
    if (!body["site"].is_string()) return Status::InvalidArgument("site must be a string");
    std::string name = body["site"].get<std::string>();
    if (!sites->Find(name)) return Status::NotFound("no site named '" + name + "'");
    return std::vector<std::string>{name};
  }
  return sites->Names();
}

Result<double> FractionField(const json& body, const std::string& field) {
  if (!body.contains(field)) return Status::InvalidArgument("body needs \"" + field + "\": 0..1");
  const auto& v = body[field];
  if (!v.is_number()) return Status::InvalidArgument(field + " must be a number between 0 and 1");
  double f = v.get<double>();
  if (!(f >= 0 && f <= 1)) return Status::InvalidArgument(field + " must be between 0 and 1");
  return f;
}

}  // namespace

void RegisterChaosRoutes(ApiServer& api, std::shared_ptr<ChaosController> chaos) {
  const SiteRegistry* sites = api.context().sites;

  auto reply = [chaos, sites](httplib::Response& res, const Status& s) {
    if (!s.ok()) return SendError(res, s);
    SendJson(res, 200, StatusJson(*chaos, sites));
  };

  api.AddRoute("GET", "/chaos/status", "/chaos/status",
               "Chaos injected into each site (failed, latency, throttling, corruption)", false,
               [chaos, sites](const httplib::Request&, httplib::Response& res) {
                 Status s = chaos->Refresh();
                 if (!s.ok()) return SendError(res, s);
                 SendJson(res, 200, StatusJson(*chaos, sites));
               });

  // POST /chaos/fail/{name} and /chaos/recover/{name}: set or clear one site's failure.
  auto set_failed = [chaos, sites, reply](bool failed, const char* action) {
    return
        [chaos, sites, reply, failed, action](const httplib::Request& req, httplib::Response& res) {
          std::string name = req.matches[1];
          if (!sites || !sites->Find(name)) {
            return SendError(res, Status::NotFound("no site named '" + name + "'"));
          }
          reply(res, chaos->Update(
                         [&](ChaosState& st) {
                           st.sites[name].failed = failed;
                           return Status::OK();
                         },
                         kActor, action, {{"site", name}}));
        };
  };
  api.AddRoute("POST", "/chaos/fail/{name}", R"(/chaos/fail/([^/]+))",
               "Fail every call to a site (audited)", true, set_failed(true, "chaos.fail"));
  api.AddRoute("POST", "/chaos/recover/{name}", R"(/chaos/recover/([^/]+))",
               "End a site's injected failure (audited)", true, set_failed(false, "chaos.recover"));

  api.AddRoute("POST", "/chaos/clear", "/chaos/clear", "Remove all injected chaos (audited)", true,
               [chaos, reply](const httplib::Request&, httplib::Response& res) {
                 reply(res, chaos->Update(
                                [](ChaosState& st) {
                                  st.sites.clear();
                                  return Status::OK();
                                },
                                kActor, "chaos.clear", json::object()));
               });

  api.AddRoute(
      "POST", "/chaos/latency", "/chaos/latency",
      "Add latency to every call: body {\"ms\": N, \"site\": name (optional: all)}; audited", true,
      [chaos, sites, reply](const httplib::Request& req, httplib::Response& res) {
        auto body = JsonObjectBody(req);
        if (!body.ok()) return SendError(res, body.status());
        const json& b = *body;
        if (!b.contains("ms") || !b["ms"].is_number_integer() || b["ms"].get<int64_t>() < 0 ||
            b["ms"].get<int64_t>() > 600000) {
          return SendError(
              res, Status::InvalidArgument("body needs \"ms\": an integer from 0 to 600000"));
        }
        int64_t ms = b["ms"].get<int64_t>();
        auto targets = TargetSites(b, sites);
        if (!targets.ok()) return SendError(res, targets.status());
        reply(res, chaos->Update(
                       [&](ChaosState& st) {
                         for (auto& n : *targets) st.sites[n].latency_ms = ms;
                         return Status::OK();
                       },
                       kActor, "chaos.latency", {{"sites", *targets}, {"ms", ms}}));
      });

  api.AddRoute(
      "POST", "/chaos/throttle", "/chaos/throttle",
      "Throttle a fraction of calls: body {\"fraction\": 0..1, \"kind\": \"503\"|\"429\"|"
      "\"SlowDown\", \"site\": name (optional: all)}; audited",
      true, [chaos, sites, reply](const httplib::Request& req, httplib::Response& res) {
        auto body = JsonObjectBody(req);
        if (!body.ok()) return SendError(res, body.status());
        const json& b = *body;
        auto f = FractionField(b, "fraction");
        if (!f.ok()) return SendError(res, f.status());
        ThrottleKind kind = ThrottleKind::k503;
        if (b.contains("kind")) {
          auto k = b["kind"].is_string() ? ParseThrottleKind(b["kind"].get<std::string>())
                                         : std::nullopt;
          if (!k) {
            return SendError(
                res, Status::InvalidArgument("kind must be \"429\", \"503\" or \"SlowDown\""));
          }
          kind = *k;
        }
        auto targets = TargetSites(b, sites);
        if (!targets.ok()) return SendError(res, targets.status());
        reply(res, chaos->Update(
                       [&](ChaosState& st) {
                         for (auto& n : *targets) {
                           st.sites[n].throttle_fraction = *f;
                           st.sites[n].throttle_kind = kind;
                         }
                         return Status::OK();
                       },
                       kActor, "chaos.throttle",
                       {{"sites", *targets}, {"fraction", *f}, {"kind", ThrottleKindName(kind)}}));
      });

  api.AddRoute("POST", "/chaos/corrupt", "/chaos/corrupt",
               "Corrupt a fraction of the bytes read: body {\"fraction\": 0..1, \"site\": name "
               "(optional: all)}; audited",
               true, [chaos, sites, reply](const httplib::Request& req, httplib::Response& res) {
                 auto body = JsonObjectBody(req);
                 if (!body.ok()) return SendError(res, body.status());
                 auto f = FractionField(*body, "fraction");
                 if (!f.ok()) return SendError(res, f.status());
                 auto targets = TargetSites(*body, sites);
                 if (!targets.ok()) return SendError(res, targets.status());
                 reply(res, chaos->Update(
                                [&](ChaosState& st) {
                                  for (auto& n : *targets) st.sites[n].corrupt_fraction = *f;
                                  return Status::OK();
                                },
                                kActor, "chaos.corrupt", {{"sites", *targets}, {"fraction", *f}}));
               });
}

}  // namespace dim
