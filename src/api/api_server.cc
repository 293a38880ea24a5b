#include "api/api_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "api/admin_token.h"
#include "api/http_util.h"
#include "api/openapi.h"
#include "bus/event_codec.h"
#include "gateway/http_server_defaults.h"
#include "optimizer/explanation.h"
#include "web/web_assets.h"

namespace dim {

using nlohmann::json;

struct ApiServer::Route {
  RouteInfo info;
  std::string regex;
  Handler handler;
};

namespace {

json StatsJson(const AccessStats& s) {
  return {{"access_1h", s.access_1h},
          {"access_24h", s.access_24h},
          {"access_7d", s.access_7d},
          {"last_access_ms", s.last_access_ms},
          {"reads", s.reads},
          {"writes", s.writes},
          {"bytes_read", s.bytes_read},
          {"heat", s.heat}};
}

json TaskJson(const TaskRecord& t) {
  return {{"id", t.id},
          {"kind", TaskKindName(t.kind)},
          {"key", t.object_key},
          {"src", t.src_site},
          {"dst", t.dst_site},
          {"status", TaskStatusName(t.status)},
          {"error", t.last_error},
          {"reason", t.reason},
          {"attempts", t.attempts},
          {"max_attempts", t.max_attempts},
          {"bytes", t.bytes},
          {"bytes_done", t.bytes_done},
          {"deferrals", t.deferrals},
          {"generation", t.generation},
          {"lease_owner", t.lease_owner},
          {"lease_expiry_ms", t.lease_expiry_ms},
          {"not_before_ms", t.not_before_ms},
          {"created_ms", t.created_ms},
          {"first_started_ms", t.first_started_ms},
          {"started_ms", t.started_ms},
          {"finished_ms", t.finished_ms}};
}

json AlertJson(const AlertRecord& a) {
  json details = json::parse(a.details_json, nullptr, false);
  return {{"id", a.id},
          {"type", a.kind},
          {"severity", a.severity},
          {"subject", a.subject},
          {"message", a.message},
          {"data", details.is_discarded() ? json::object() : details},
          {"count", a.count},
          {"acknowledged", a.acked},
          {"created_ms", a.created_ms},
          {"updated_ms", a.updated_ms}};
}

}  // namespace

ApiServer::ApiServer(ApiContext ctx) : ctx_(std::move(ctx)), server_(std::make_unique<httplib::Server>()) {
  if (ctx_.metrics) {
    requests_ = &ctx_.metrics->AddCounter("dim_api_requests_total", "API requests by route and status",
                                          {"method", "route", "code"});
    latency_ = &ctx_.metrics->AddHistogram("dim_api_request_duration_seconds",
                                           "API request latency by route", {"route"});
  }
  RegisterRoutes();
}

ApiServer::~ApiServer() { Stop(); }

void ApiServer::AddRoute(std::string method, std::string path, std::string regex,
                         std::string summary, bool mutating, Handler h) {
  auto r = std::make_unique<Route>();
  r->info = RouteInfo{std::move(method), std::move(path), std::move(summary), mutating};
  r->regex = std::move(regex);
  r->handler = std::move(h);
  routes_.push_back(std::move(r));
}

std::vector<ApiServer::RouteInfo> ApiServer::Routes() const {
  std::vector<RouteInfo> out;
  for (const auto& r : routes_) out.push_back(r->info);
  return out;
}

void ApiServer::Install() {
  for (const auto& rp : routes_) {
    Route* r = rp.get();
    auto wrapped = [this, r](const httplib::Request& req, httplib::Response& res) {
      const int64_t start = MonotonicMicros();
      if (r->info.mutating &&
          !BearerMatches(req.get_header_value("Authorization"), ctx_.admin_token)) {
        SendError(res, Status::Unauthenticated(
                      "this call changes state and needs 'Authorization: Bearer <token>' (the "
                      "token is in DATA_DIR/admin.token)"));
      } else {
        try {
          r->handler(req, res);
        } catch (const std::exception& e) {
          SendError(res, Status::Internal(std::string("unexpected: ") + e.what()));
        }
      }
      if (requests_) {
        requests_->Labels({r->info.method, r->info.path, std::to_string(res.status)}).Inc();
        latency_->Labels({r->info.path}).Observe((MonotonicMicros() - start) / 1e6);
      }
    };
    const auto& m = r->info.method;
    if (m == "GET") server_->Get(r->regex, wrapped);
    else if (m == "POST") server_->Post(r->regex, wrapped);
    else if (m == "DELETE") server_->Delete(r->regex, wrapped);
    else if (m == "PUT") server_->Put(r->regex, wrapped);
  }
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      SendJson(res, 404, {{"error", "no route " + req.method + " " + req.path}, {"code", "NotFound"}});
    } else {
      SendJson(res, res.status, {{"error", "request failed"}, {"code", std::to_string(res.status)}});
    }
  });
  server_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unexpected error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, Status::Internal(what));
  });
  server_->set_payload_max_length(16 << 20);
  ApplyServerDefaults(*server_);
}

Status ApiServer::Start(const std::string& host, int port, int threads) {
  Install();
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ <= 0) return Status::Unavailable("cannot bind the API to " + host + ":0");
  } else {
    if (!server_->bind_to_port(host, port)) {
      return Status::Unavailable("cannot bind the API to " + host + ":" + std::to_string(port) +
                                 " (in use?)");
    }
    port_ = port;
  }
  return ListenInBackground(*server_, &thread_, "API");
}

void ApiServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void ApiServer::RegisterRoutes() {

  auto need = [](void* p, httplib::Response& res, const char* what) {
    if (p) return true;
    SendError(res, Status::Unavailable(std::string(what) + " does not run in this process"));
    return false;
  };

  AddRoute("GET", "/healthz", "/healthz", "Liveness and store reachability", false,
      [&c = ctx_](const httplib::Request&, httplib::Response& res) {
        json j = {{"status", "ok"}, {"version", c.version}};
        if (c.store) {
          auto s = c.store->GetSetting("healthz.probe");
          if (!s.ok()) {
            SendJson(res, 503, {{"status", "degraded"}, {"store", s.status().ToString()}});
            return;
          }
          j["store"] = "ok";
        }
        SendJson(res, 200, j);
      });

  AddRoute("GET", "/files", "/files",
      "Objects with tier, placement, access windows and heat (query: bucket, prefix, limit, after)",
      false, [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.store, res, "the metadata store")) return;
        auto limit = IntParam(req, "limit", 1000, 1, 10000);
        auto after = IntParam(req, "after", 0, 0, INT64_MAX);
        if (!limit.ok()) return SendError(res, limit.status());
        if (!after.ok()) return SendError(res, after.status());
        MetadataStore::ObjectQuery q;
        q.bucket = req.get_param_value("bucket");
        q.prefix = req.get_param_value("prefix");
        q.after_id = *after;
        q.start_after = req.get_param_value("start_after");
        q.limit = static_cast<int>(*limit);
        if (q.bucket.empty() && !q.prefix.empty()) {
          return SendError(res, Status::InvalidArgument("prefix needs bucket"));
        }
        auto objs = c.store->ListObjects(q);
        if (!objs.ok()) return SendError(res, objs.status());
        std::vector<std::string> keys;
        for (const auto& o : *objs) keys.push_back(o.key.Full());
        auto stats = c.store->GetAccessStatsMany(keys);
        if (!stats.ok()) return SendError(res, stats.status());
        std::map<std::string, AccessStats> by_key;
        int64_t now = c.clock->NowMs();
        for (auto& s : *stats) by_key[s.key] = StatsAsOf(s, now, c.heat_tau_s);
        json out = json::array();
        for (const auto& o : *objs) {
          json j = ObjectJson(o);
          AccessStats s;
          if (auto it = by_key.find(o.key.Full()); it != by_key.end()) s = it->second;
          j.update(StatsJson(s));
          j["version_token"] = o.generation;
          j["id"] = o.id;
          out.push_back(std::move(j));
        }
        SendJson(res, 200, out);
      });

  AddRoute("GET", "/files/{key}", R"(/files/(.+))", "One object: record, replicas, statistics, decisions",
      false, [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.store, res, "the metadata store")) return;
        auto key = KeyFromMatch(req);
        if (!key.ok()) return SendError(res, key.status());
        auto o = c.store->GetObject(*key);
        if (!o.ok()) return SendError(res, o.status());
        if (!*o) return SendError(res, Status::NotFound("no such object " + key->Full()));
        json j = ObjectJson(**o);
        j["user_meta"] = (*o)->user_meta;
        j["content_type"] = (*o)->content_type;
        auto reps = c.store->GetReplicas((*o)->id);
        if (!reps.ok()) return SendError(res, reps.status());
        json rj = json::array();
        for (const auto& r : *reps) {
          rj.push_back({{"site", r.site}, {"blob", r.blob}, {"generation", r.generation},
                        {"sha256", r.sha256}, {"size", r.size}, {"state", ReplicaStateName(r.state)},
                        {"verified_ms", r.verified_ms}});
        }
        j["replicas_detail"] = rj;
        auto st = c.store->GetAccessStats(key->Full());
        if (st.ok() && *st) j["stats"] = StatsJson(StatsAsOf(**st, c.clock->NowMs(), c.heat_tau_s));
        auto ds = c.store->ListDecisions(key->Full(), 20);
        json dj = json::array();
        if (ds.ok()) {
          for (const auto& d : *ds) {
            dj.push_back({{"ts_ms", d.ts_ms}, {"from_tier", TierName(d.from_tier)},
                          {"to_tier", TierName(d.to_tier)}, {"from_sites", d.from_sites},
                          {"to_sites", d.to_sites}, {"expected_saving_month", d.expected_saving_month}});
          }
        }
        j["decisions"] = dj;
        SendJson(res, 200, j);
      });

  AddRoute("GET", "/endpoints", "/endpoints", "Configured sites: catalog, health and chaos state", false,
      [&c = ctx_, need](const httplib::Request&, httplib::Response& res) {
        if (!need(const_cast<SiteRegistry*>(c.sites), res, "the site registry")) return;
        json out = json::array();
        ChaosState chaos;
        if (c.chaos) chaos = c.chaos->Snapshot();
        for (const auto& s : c.sites->sites()) {
          const auto& k = s.config;
          SiteChaos sc = chaos.For(k.name);
          EndpointHealth::SiteHealth h =
              c.health ? c.health->Get(k.name) : EndpointHealth::SiteHealth{};
          json health = {{"up", h.up},
                         {"probed", h.probed},
                         {"consecutive_failures", h.consecutive_failures},
                         {"last_probe_ms", h.last_probe_ms},
                         {"last_ok_ms", h.last_ok_ms},
                         {"latency_ms", h.latency_ms},
                         {"error", h.last_error}};
          out.push_back({{"name", k.name},
                         {"provider", k.provider},
                         {"region", k.region},
                         {"class", TierName(k.storage_class)},
                         {"type", k.type},
                         {"encrypted", k.encrypted},
                         {"latency_ms", k.p95_ms},
                         {"p95_ms", k.p95_ms},
                         {"cost_per_gb", k.cost_per_gb_month},
                         {"get_per_1k", k.get_per_1k},
                         {"put_per_1k", k.put_per_1k},
                         {"retrieval_per_gb", k.retrieval_per_gb},
                         {"egress_per_gb", k.egress_per_gb},
                         {"min_storage_days", k.min_storage_days},
                         {"capacity_bytes", k.capacity_bytes},
                         {"up", h.up && !sc.failed},
                         {"health", health},
                         {"chaos", sc.ToJson()}});
        }
        SendJson(res, 200, out);
      });

  AddRoute("GET", "/policy/security", "/policy/security", "Whether encryption is enforced", false,
      [&c = ctx_, need](const httplib::Request&, httplib::Response& res) {
        if (!need(c.policy, res, "the policy")) return;
        SendJson(res, 200, {{"enforce", c.policy->EncryptionEnforced()}});
      });

  AddRoute("POST", "/policy/security", "/policy/security",
      "Enforce (or not) encryption: body {\"enforce\": bool}; audited", true,
      [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.policy, res, "the policy")) return;
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("enforce") ||
            !body["enforce"].is_boolean()) {
          return SendError(res, Status::InvalidArgument("body must be JSON {\"enforce\": true|false}"));
        }
        Status s = c.policy->SetEncryptionEnforced(body["enforce"].get<bool>(), "admin");
        if (!s.ok()) return SendError(res, s);
        SendJson(res, 200, {{"enforce", body["enforce"].get<bool>()}});
      });

  AddRoute("POST", "/optimize/all", "/optimize/all",
      "Plan every object at once (capacities, migration budget; MILP or decomposition) and queue "
      "the moves by saving per byte. Query: dry_run, budget_bytes, budget_dollars, time_limit_s, "
      "solver (auto|cbc|decomposition). Returns total, updated, errors, solver, gap, moves",
      true, [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.optimizer, res, "the optimizer")) return;
        PlanOptions o = c.optimizer->options().global;
        auto dry = BoolParam(req, "dry_run", false);
        if (!dry.ok()) return SendError(res, dry.status());
        auto bytes = IntParam(req, "budget_bytes", o.budget_bytes, 0, std::numeric_limits<int64_t>::max());
        if (!bytes.ok()) return SendError(res, bytes.status());
        auto dollars = DoubleParam(req, "budget_dollars", o.budget_dollars, 0, 1e12);
        if (!dollars.ok()) return SendError(res, dollars.status());
        auto limit = DoubleParam(req, "time_limit_s", o.time_limit_s, 0.1, 3600);
        if (!limit.ok()) return SendError(res, limit.status());
        if (req.has_param("solver")) {
          o.solver = req.get_param_value("solver");
          if (o.solver != "auto" && o.solver != "cbc" && o.solver != "decomposition") {
            return SendError(res, Status::InvalidArgument("solver must be auto, cbc or decomposition"));
          }
        }
        o.budget_bytes = *bytes;
        o.budget_dollars = *dollars;
        o.time_limit_s = *limit;
        auto r = c.optimizer->PlanAll(o, !*dry, "admin");
        if (!r.ok()) return SendError(res, r.status());
        SendJson(res, 200, GlobalPlanReportJson(*r));
      });

  AddRoute("POST", "/optimize/{key}", R"(/optimize/(.+))", "Evaluate one object now and queue its moves",
      true, [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.optimizer, res, "the optimizer")) return;
        auto key = KeyFromMatch(req);
        if (!key.ok()) return SendError(res, key.status());
        auto ev = c.optimizer->Evaluate(*key, true);
        if (!ev.ok()) return SendError(res, ev.status());
        SendJson(res, 200, {{"status", ev->applied ? "queued" : "unchanged"}, {"key", key->Full()},
                        {"tier", TierName(ev->tier.tier)}, {"chosen", ev->placement.chosen},
                        {"changed", ev->changed}});
      });

  AddRoute("POST", "/simulate", "/simulate",
      "The seed's Burst: record `events` accesses (1..10000) of `key` now and evaluate it", true,
      [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.consumer, res, "the stream consumer") || !need(c.optimizer, res, "the optimizer")) return;
        if (!req.has_param("key")) return SendError(res, Status::InvalidArgument("query parameter key is required"));
        auto key = ObjectKey::Parse(req.get_param_value("key"));
        if (!key.ok()) return SendError(res, key.status());
        auto n = IntParam(req, "events", 100, 1, 10000);
        if (!n.ok()) return SendError(res, n.status());
        auto obj = c.store->GetObject(*key);
        if (!obj.ok()) return SendError(res, obj.status());
        if (!*obj) return SendError(res, Status::NotFound("no such object " + key->Full()));
        std::vector<AccessEvent> events(static_cast<size_t>(*n));
        int64_t now = c.clock->NowMs();
        for (auto& e : events) {
          e.key = key->Full();
          e.ts_ms = now;
          e.op = AccessOp::kGet;
          e.bytes = (*obj)->size;
          e.size = (*obj)->size;
          e.id = "simulate";
        }
        Status s = c.consumer->RecordNow(events);
        if (!s.ok()) return SendError(res, s);
        if (c.metrics) c.metrics->AddCounter("dim_simulate_events_total", "Accesses added by /simulate").Get().Inc(static_cast<double>(*n));
        auto ev = c.optimizer->Evaluate(*key, true);
        if (!ev.ok()) return SendError(res, ev.status());
        SendJson(res, 200, {{"ok", true}, {"incremented", *n}, {"key", key->Full()},
                        {"tier", TierName(ev->tier.tier)}, {"chosen", ev->placement.chosen},
                        {"changed", ev->changed}, {"access_1h", ev->stats.access_1h},
                        {"heat", ev->stats.heat}});
      });

  AddRoute("GET", "/explain/{key}", R"(/explain/(.+))",
      "Why an object is placed where it is: objective, chosen, sla_ms, rf, p_hot, scores, sites, "
      "cost breakdown, binding constraints, runner-up",
      false, [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.optimizer, res, "the optimizer")) return;
        auto key = KeyFromMatch(req);
        if (!key.ok()) return SendError(res, key.status());
        auto ev = c.optimizer->Evaluate(*key, false);
        if (!ev.ok()) return SendError(res, ev.status());
        SendJson(res, 200, ExplainJson(*ev));
      });

  AddRoute("GET", "/debug/placement/{key}", R"(/debug/placement/(.+))",
      "Inputs and outcome of a placement decision; run=true also applies it (needs the token)",
      false, [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.optimizer, res, "the optimizer")) return;
        auto key = KeyFromMatch(req);
        if (!key.ok()) return SendError(res, key.status());
        auto run = BoolParam(req, "run", false);
        if (!run.ok()) return SendError(res, run.status());
        if (*run && !BearerMatches(req.get_header_value("Authorization"), c.admin_token)) {
          return SendError(res, Status::Unauthenticated("run=true changes state and needs the bearer token"));
        }
        auto ev = c.optimizer->Evaluate(*key, false, /*explain=*/true);
        if (!ev.ok()) return SendError(res, ev.status());
        json j = DebugPlacementJson(*ev, c.optimizer->options().tier);
        if (*run) {
          auto applied = c.optimizer->Evaluate(*key, true);
          if (!applied.ok()) return SendError(res, applied.status());
          auto after = c.store->GetObject(*key);
          if (after.ok() && *after) {
            json rep = json::array();
            for (size_t i = 1; i < (*after)->sites.size(); ++i) rep.push_back((*after)->sites[i]);
            j["db_after"] = {{"tier", TierName((*after)->tier)},
                             {"primary", (*after)->sites.empty() ? "" : (*after)->sites.front()},
                             {"replicas", rep}};
          }
        }
        SendJson(res, 200, j);
      });

  AddRoute("POST", "/migrator/tick", "/migrator/tick", "Run one migration task now (for demos)", true,
      [&c = ctx_, need](const httplib::Request&, httplib::Response& res) {
        if (!need(c.migrator, res, "the migrator")) return;
        auto r = c.migrator->Tick();
        if (!r.ok()) return SendError(res, r.status());
        SendJson(res, 200, {{"processed", *r}});
      });

  AddRoute("GET", "/tasks", "/tasks", "Migration tasks, newest first (query: status, limit)", false,
      [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.store, res, "the metadata store")) return;
        std::optional<TaskStatus> st;
        if (req.has_param("status") && req.get_param_value("status") != "all") {
          st = ParseTaskStatus(req.get_param_value("status"));
          if (!st) return SendError(res, Status::InvalidArgument("unknown status '" + req.get_param_value("status") +
                                                            "' (queued, running, done, failed, cancelled, all)"));
        }
        auto limit = IntParam(req, "limit", 500, 1, 10000);
        if (!limit.ok()) return SendError(res, limit.status());
        auto ts = c.store->ListTasks(st, static_cast<int>(*limit));
        if (!ts.ok()) return SendError(res, ts.status());
        json out = json::array();
        for (const auto& t : *ts) out.push_back(TaskJson(t));
        SendJson(res, 200, out);
      });

  AddRoute("GET", "/tasks/{id}", R"(/tasks/([^/]+))", "One migration task", false,
      [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.store, res, "the metadata store")) return;
        const std::string v = req.matches[1];
        int64_t id = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
        if (ec != std::errc() || p != v.data() + v.size() || id <= 0) {
          return SendError(res, Status::InvalidArgument("task id '" + v + "' is not a positive integer"));
        }
        auto t = c.store->GetTask(id);
        if (!t.ok()) return SendError(res, t.status());
        if (!*t) return SendError(res, Status::NotFound("no task " + v));
        SendJson(res, 200, TaskJson(**t));
      });

  AddRoute("GET", "/migrator", "/migrator",
      "This process's migrator: circuit breaker, bandwidth limit and timed-out calls per endpoint",
      false, [&c = ctx_, need](const httplib::Request&, httplib::Response& res) {
        if (!need(c.migrator, res, "the migrator")) return;
        json eps = json::array();
        for (const auto& e : c.migrator->Endpoints()) {
          eps.push_back({{"endpoint", e.site},
                         {"circuit", CircuitStateName(e.circuit.state)},
                         {"consecutive_failures", e.circuit.consecutive_failures},
                         {"retry_at_ms", e.circuit.retry_at_ms},
                         {"opened_ms", e.circuit.opened_ms},
                         {"opens", e.circuit.opens},
                         {"last_error", e.circuit.last_error},
                         {"bandwidth_mib_s", e.bandwidth_mib_s},
                         {"timed_out_calls_in_flight", e.timed_out_calls_in_flight}});
        }
        SendJson(res, 200, {{"owner", c.migrator->owner()}, {"endpoints", eps}});
      });

  AddRoute("DELETE", "/tasks", "/tasks",
      "Delete finished tasks (query: status = done, failed, cancelled or all finished)", true,
      [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.store, res, "the metadata store")) return;
        std::optional<TaskStatus> st;
        std::string v = req.has_param("status") ? req.get_param_value("status") : "all";
        if (v != "all") {
          st = ParseTaskStatus(v);
          if (!st) return SendError(res, Status::InvalidArgument("unknown status '" + v + "'"));
        }
        auto n = c.store->DeleteTasks(st);
        if (!n.ok()) return SendError(res, n.status());
        SendJson(res, 200, {{"deleted", *n}});
      });

  AddRoute("GET", "/metrics", "/metrics", "Prometheus metrics", false,
      [&c = ctx_](const httplib::Request&, httplib::Response& res) {
        res.set_content(c.metrics ? c.metrics->RenderText() : "", "text/plain; version=0.0.4");
      });

  AddRoute("GET", "/alerts", "/alerts", "Active alerts (query: include_ack)", false,
      [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.store, res, "the metadata store")) return;
        auto inc = BoolParam(req, "include_ack", false);
        if (!inc.ok()) return SendError(res, inc.status());
        auto as = c.store->ListAlerts(*inc);
        if (!as.ok()) return SendError(res, as.status());
        json out = json::array();
        for (const auto& a : *as) out.push_back(AlertJson(a));
        SendJson(res, 200, out);
      });

  AddRoute("POST", "/alerts/clear", "/alerts/clear", "Delete all alerts", true,
      [&c = ctx_, need](const httplib::Request&, httplib::Response& res) {
        if (!need(c.store, res, "the metadata store")) return;
        auto n = c.store->ClearAlerts();
        if (!n.ok()) return SendError(res, n.status());
        SendJson(res, 200, {{"cleared", true}, {"count", *n}});
      });

  AddRoute("POST", "/alerts/{id}/ack", R"(/alerts/([^/]+)/ack)", "Acknowledge an alert", true,
      [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.store, res, "the metadata store")) return;
        std::string idtext = req.matches[1].str();
        char* end = nullptr;
        long long id = std::strtoll(idtext.c_str(), &end, 10);
        if (idtext.empty() || *end != '\0' || id <= 0) {
          return SendError(res, Status::InvalidArgument("alert id '" + idtext + "' is not a positive integer"));
        }
        Status s = c.store->AckAlert(id, c.clock->NowMs());
        if (!s.ok()) return SendError(res, s);
        SendJson(res, 200, {{"acknowledged", true}, {"id", id}});
      });

  AddRoute("POST", "/events", "/events",
      "Publish access events: a JSON array (or newline-separated objects) of {key, ts_ms|ts, op|action, "
      "bytes, size, status, id}; at most 10000 per call",
      true, [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.bus, res, "the event bus")) return;
        std::vector<json> items;
        json body = json::parse(req.body, nullptr, false);
        if (!body.is_discarded() && body.is_array()) {
          for (auto& x : body) items.push_back(std::move(x));
        } else {
          size_t start = 0, line = 0;
          while (start < req.body.size()) {
            size_t end = req.body.find('\n', start);
            if (end == std::string::npos) end = req.body.size();
            std::string_view l(req.body.data() + start, end - start);
            ++line;
            if (!l.empty() && l != "\r") {
              json j = json::parse(l, nullptr, false);
              if (j.is_discarded()) {
                return SendError(res, Status::InvalidArgument("line " + std::to_string(line) + " is not JSON"));
              }
              items.push_back(std::move(j));
            }
            start = end + 1;
          }
        }
        if (items.size() > 10000) return SendError(res, Status::InvalidArgument("at most 10000 events per call"));
        std::vector<AccessEvent> events;
        int64_t now = c.clock->NowMs();
        for (size_t i = 0; i < items.size(); ++i) {
          AccessEvent e;
          // The same rules as events arriving over Kafka; a missing timestamp means now.
          DecodeOutcome d = EventFromJson(items[i], "", now, &e);
          if (!d.ok()) {
            return SendError(res, Status::InvalidArgument("event " + std::to_string(i) + ": " +
                                                          d.detail + " (" + std::string(d.reason) + ")"));
          }
          events.push_back(std::move(e));
        }
        int accepted = 0, dropped = 0;
        for (auto& e : events) {
          if (c.bus->PublishWait(std::move(e), 200)) accepted++;
          else dropped++;
        }
        SendJson(res, dropped ? 503 : 200, {{"accepted", accepted}, {"dropped", dropped}});
      });

  AddRoute("GET", "/decisions", "/decisions", "Placement decisions, newest first (query: key, limit)", false,
      [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.store, res, "the metadata store")) return;
        auto limit = IntParam(req, "limit", 100, 1, 10000);
        if (!limit.ok()) return SendError(res, limit.status());
        auto ds = c.store->ListDecisions(req.get_param_value("key"), static_cast<int>(*limit));
        if (!ds.ok()) return SendError(res, ds.status());
        json out = json::array();
        for (const auto& d : *ds) {
          json ex = json::parse(d.explanation_json, nullptr, false);
          out.push_back({{"id", d.id}, {"key", d.key}, {"ts_ms", d.ts_ms},
                         {"from_tier", TierName(d.from_tier)}, {"to_tier", TierName(d.to_tier)},
                         {"from_sites", d.from_sites}, {"to_sites", d.to_sites},
                         {"objective", d.objective}, {"expected_saving_month", d.expected_saving_month},
                         {"explanation", ex.is_discarded() ? json() : ex}});
        }
        SendJson(res, 200, out);
      });

  AddRoute("GET", "/audit", "/audit", "Audited changes (policy, chaos), newest first", false,
      [&c = ctx_, need](const httplib::Request& req, httplib::Response& res) {
        if (!need(c.store, res, "the metadata store")) return;
        auto limit = IntParam(req, "limit", 100, 1, 10000);
        if (!limit.ok()) return SendError(res, limit.status());
        auto as = c.store->ListAudit(static_cast<int>(*limit));
        if (!as.ok()) return SendError(res, as.status());
        json out = json::array();
        for (const auto& a : *as) {
          json d = json::parse(a.detail_json, nullptr, false);
          out.push_back({{"id", a.id}, {"ts_ms", a.ts_ms}, {"actor", a.actor}, {"action", a.action},
                         {"detail", d.is_discarded() ? json() : d}});
        }
        SendJson(res, 200, out);
      });

  AddRoute("GET", "/openapi.json", "/openapi.json", "This API's OpenAPI 3 document", false,
      [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(OpenApiDocument(Routes(), ctx_.version).dump(2), "application/json");
      });

  AddRoute("GET", "/", R"(/(|index\.html|app\.js|style\.css))", "The dashboard", false,
      [](const httplib::Request& req, httplib::Response& res) {
        std::string path = req.path == "/" ? "/index.html" : req.path;
        const auto& assets = WebAssets();
        auto it = assets.find(path);
        if (it == assets.end()) return SendError(res, Status::NotFound("no asset " + path));
        res.set_header("Cache-Control", "no-cache");
        res.set_content(std::string(it->second.body), std::string(it->second.content_type));
      });
}

void RegisterStoreGauges(MetricsRegistry& metrics, MetadataStore& store) {
  metrics.AddGaugeCallback("dim_migration_queue", "Migration tasks by status", {"status"}, [&store] {
    std::vector<std::pair<std::vector<std::string>, double>> out;
    auto counts = store.CountTasks();
    if (counts.ok()) {
      for (auto& [s, n] : *counts) out.push_back({{std::string(TaskStatusName(s))}, static_cast<double>(n)});
    }
    return out;
  });
  metrics.AddGaugeCallback("dim_objects", "Objects by tier", {"tier"}, [&store] {
    std::vector<std::pair<std::vector<std::string>, double>> out;
    auto counts = store.CountObjectsByTier();
    if (counts.ok()) {
      for (auto& [t, n] : *counts) out.push_back({{std::string(TierName(t))}, static_cast<double>(n)});
    }
    return out;
  });
  metrics.AddGaugeCallback("dim_alerts_active", "Unacknowledged alerts", {}, [&store] {
    std::vector<std::pair<std::vector<std::string>, double>> out;
    auto as = store.ListAlerts(false);
    if (as.ok()) out.push_back({{}, static_cast<double>(as->size())});
    return out;
  });
}

}  // namespace dim
