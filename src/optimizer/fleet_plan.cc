#include "optimizer/fleet_plan.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <functional>
#include <numeric>
#include <queue>
#include <thread>

#include "optimizer/cbc_milp.h"
#include "optimizer/placement_problem.h"
#include "optimizer/site_score.h"

namespace dim {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs fn(begin, end, worker) over [0, n) in `threads` contiguous chunks.
void ParallelFor(size_t n, int threads, const std::function<void(size_t, size_t, int)>& fn) {
  size_t t = static_cast<size_t>(std::max(1, threads));
  t = std::min(t, std::max<size_t>(1, n / 2048));
  if (t <= 1) {
    fn(0, n, 0);
    return;
  }
  std::vector<std::thread> workers;
  size_t chunk = (n + t - 1) / t;
  for (size_t w = 0; w < t; ++w) {
    size_t b = w * chunk, e = std::min(n, b + chunk);
    if (b >= e) break;
    workers.emplace_back([&fn, b, e, w] { fn(b, e, static_cast<int>(w)); });
  }
  for (auto& w : workers) w.join();
}

// Per-site facts that do not depend on the object.
struct Prepared {
  int n = 0;
  std::vector<SitePrices> prices;
  uint64_t allowed = 0, sla = 0, capacitated = 0;
  std::array<uint64_t, 3> cls{};
  std::array<uint8_t, kMaxCompactSites> provider{}, name_rank{};
  std::array<std::array<uint8_t, kMaxCompactSites>, 3> order{};
  std::vector<double> cap_gb;
  std::vector<double> score_base;   // the seed's site score at p_hot = 0, away from the primary
  std::vector<double> seed_static;  // cost_per_gb + 0.001 * max(0, p95 - SLA)
  ScoreWeights w;
};

Prepared Prepare(const PlanContext& ctx) {
  Prepared p;
  p.n = static_cast<int>(ctx.sites.size());
  std::vector<std::string> providers;
  std::vector<ScoredSite> scored;
  for (int i = 0; i < p.n; ++i) {
    const SiteConfig& s = ctx.sites[i];
    const uint64_t bit = uint64_t{1} << i;
    p.prices.push_back(SitePrices::From(s));
    bool avail = ctx.available.empty() || ctx.available[i];
    if (avail && (!ctx.enforce_encryption || s.encrypted)) p.allowed |= bit;
    if (s.p95_ms <= ctx.sla_ms) p.sla |= bit;
    p.cls[static_cast<int>(s.storage_class)] |= bit;
    auto it = std::find(providers.begin(), providers.end(), s.provider);
    if (it == providers.end()) it = providers.insert(providers.end(), s.provider);
    p.provider[i] = static_cast<uint8_t>(it - providers.begin());
    p.cap_gb.push_back(static_cast<double>(s.capacity_bytes) / 1e9);
    if (s.capacity_bytes > 0) p.capacitated |= bit;
    scored.push_back({s.name, s.region, s.p95_ms, s.cost_per_gb_month});
    p.seed_static.push_back(s.cost_per_gb_month + 0.001 * std::max(0.0, s.p95_ms - ctx.sla_ms));
  }
  std::vector<double> base = SiteScores(scored, 0.0, "", {}, p.w);
  p.score_base = base;
  std::vector<int> idx(p.n);
  for (int t = 0; t < 3; ++t) {
    std::iota(idx.begin(), idx.end(), 0);
    const Tier tier = static_cast<Tier>(t);
    std::sort(idx.begin(), idx.end(), [&](int a, int b) {
      const auto& x = ctx.sites[a];
      const auto& y = ctx.sites[b];
      bool xc = x.storage_class == tier, yc = y.storage_class == tier;
      if (xc != yc) return xc;
      if (x.p95_ms != y.p95_ms) return x.p95_ms < y.p95_ms;
      if (x.cost_per_gb_month != y.cost_per_gb_month)
        return x.cost_per_gb_month < y.cost_per_gb_month;
      return x.name < y.name;
    });
    for (int r = 0; r < p.n; ++r) p.order[t][idx[r]] = static_cast<uint8_t>(r);
  }
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(),
            [&](int a, int b) { return ctx.sites[a].name < ctx.sites[b].name; });
  for (int r = 0; r < p.n; ++r) p.name_rank[idx[r]] = static_cast<uint8_t>(r);
  return p;
}

// What one option of one object puts on the coupling rows.
struct Load {
  double bytes_gb = 0;  // new copies
  double dollars = 0;
};

class Solver {
 public:
  Solver(const Fleet& f, const Prepared& p, FleetPlan& plan, const PlanOptions& o)
      : f_(f), p_(p), plan_(plan), o_(o), n_(f.size_objects()) {
    for (int s = 0; s < p.n; ++s) {
      if (p.capacitated >> s & 1) cap_sites_.push_back(s);
    }
    budget_gb_ = o.budget_bytes > 0 ? static_cast<double>(o.budget_bytes) / 1e9 : -1;
    budget_usd_ = o.budget_dollars > 0 ? o.budget_dollars : -1;
  }

  double SizeGb(size_t i) const { return static_cast<double>(f_.size[i]) / 1e9; }
  const PlanOption& Opt(size_t i, size_t j) const { return plan_.Option(i, j); }
  Load LoadOf(size_t i, const PlanOption& o) const {
    Load l;
    l.bytes_gb = SizeGb(i) * __builtin_popcountll(o.mask & ~(f_.held[i] | f_.placed[i]));
    l.dollars = o.move_dollars;
    return l;
  }

  struct Sol {
    std::vector<uint32_t> chosen;
    std::vector<double> usage;  // GB per site (all sites)
    double bytes_gb = 0, dollars = 0, cost = 0;
    double Objective(const Prepared& p) const {
      double over = 0;
      for (int s = 0; s < p.n; ++s) {
        if (p.capacitated >> s & 1) over += std::max(0.0, usage[s] - p.cap_gb[s]);
      }
      return cost + kOverCapacityPenaltyPerGb * over;
    }
  };

  Sol Evaluate(const std::vector<uint32_t>& chosen) const {
    Sol s;
    s.chosen = chosen;
    s.usage.assign(p_.n, 0.0);
    for (size_t i = 0; i < n_; ++i) {
      const PlanOption& o = Opt(i, chosen[i]);
      s.cost += o.cost;
      double gb = SizeGb(i);
      for (uint64_t m = o.mask; m; m &= m - 1) s.usage[__builtin_ctzll(m)] += gb;
      if (chosen[i] != plan_.stay[i]) {
        Load l = LoadOf(i, o);
        s.bytes_gb += l.bytes_gb;
        s.dollars += l.dollars;
      }
    }
    return s;
  }

  bool Fits(const Sol& s, size_t i, const PlanOption& from, const PlanOption& to, const Load& l,
            const Load& lfrom) const {
    if (budget_gb_ >= 0 && s.bytes_gb - lfrom.bytes_gb + l.bytes_gb > budget_gb_ + 1e-12)
      return false;
    if (budget_usd_ >= 0 && s.dollars - lfrom.dollars + l.dollars > budget_usd_ + 1e-12)
      return false;
    uint64_t added = to.mask & ~from.mask & p_.capacitated;
    double gb = SizeGb(i);
    for (uint64_t m = added; m; m &= m - 1) {
      int site = __builtin_ctzll(m);
      if (s.usage[site] + gb > p_.cap_gb[site] + 1e-12) return false;
    }
    return true;
  }

  void Switch(Sol& s, size_t i, uint32_t j) const {
    const PlanOption& from = Opt(i, s.chosen[i]);
    const PlanOption& to = Opt(i, j);
    double gb = SizeGb(i);
    for (uint64_t m = from.mask; m; m &= m - 1) s.usage[__builtin_ctzll(m)] -= gb;
    for (uint64_t m = to.mask; m; m &= m - 1) s.usage[__builtin_ctzll(m)] += gb;
    if (s.chosen[i] != plan_.stay[i]) {
      Load l = LoadOf(i, from);
      s.bytes_gb -= l.bytes_gb;
      s.dollars -= l.dollars;
    }
    if (j != plan_.stay[i]) {
      Load l = LoadOf(i, to);
      s.bytes_gb += l.bytes_gb;
      s.dollars += l.dollars;
    }
    s.cost += to.cost - from.cost;
    s.chosen[i] = j;
  }

  // From "everyone stays", takes moves by saving per moved byte while budget and capacity allow;
  // an object whose preferred option does not fit tries its next cheaper-than-staying one. Then
  // moves objects off sites that are still over capacity, least extra cost per GB first.
  Sol Greedy(const std::vector<uint32_t>& target) const {
    std::vector<uint32_t> start(plan_.stay.begin(), plan_.stay.end());
    Sol s = Evaluate(start);
    struct Entry {
      double ratio;
      uint32_t obj, opt;
      bool operator<(const Entry& e) const {
        return ratio != e.ratio ? ratio < e.ratio : obj > e.obj;  // max-heap, then lower id
      }
    };
    std::vector<Entry> entries;
    auto ratio = [&](size_t i, uint32_t j) {
      double saving = Opt(i, plan_.stay[i]).cost - Opt(i, j).cost;
      return saving / std::max(LoadOf(i, Opt(i, j)).bytes_gb, 1e-9);
    };
    std::vector<uint8_t> cursor(n_, 0);  // next option to try after the target
    // Worth taking: cheaper than staying, or staying is dominated (by an equally cheap change
    // that moves nothing, e.g. a tier change in place).
    auto worth = [&](size_t i, uint32_t j) {
      const PlanOption& st = Opt(i, plan_.stay[i]);
      return Opt(i, j).cost < st.cost ||
             ((st.flags & PlanOption::kDominated) && Opt(i, j).cost <= st.cost);
    };
    for (size_t i = 0; i < n_; ++i) {
      uint32_t j = target[i];
      if (j != plan_.stay[i] && worth(i, j))
        entries.push_back({ratio(i, j), static_cast<uint32_t>(i), j});
    }
    std::priority_queue<Entry> heap(std::less<Entry>(), std::move(entries));
    auto next_option = [&](size_t i) -> int {
      while (cursor[i] < plan_.count[i]) {
        uint32_t j = cursor[i]++;
        const PlanOption& o = Opt(i, j);
        if (j == target[i] || j == plan_.stay[i] || (o.flags & PlanOption::kDominated)) continue;
        if (!worth(i, j)) return -1;  // sorted by cost: nothing cheaper follows
        return static_cast<int>(j);
      }
      return -1;
    };
    while (!heap.empty()) {
      Entry e = heap.top();
      heap.pop();
      size_t i = e.obj;
      const PlanOption& from = Opt(i, s.chosen[i]);
      const PlanOption& to = Opt(i, e.opt);
      Load l = LoadOf(i, to), lfrom{};
      if (Fits(s, i, from, to, l, lfrom)) {
        Switch(s, i, e.opt);
      } else {
        int j = next_option(i);
        if (j >= 0) heap.push({ratio(i, j), static_cast<uint32_t>(i), static_cast<uint32_t>(j)});
      }
    }
    Relieve(s);
    return s;
  }

  void Relieve(Sol& s) const {
    for (int site : cap_sites_) {
      if (s.usage[site] <= p_.cap_gb[site] + 1e-12) continue;
      struct Cand {
        double per_gb;
        uint32_t obj, opt;
      };
      std::vector<Cand> cands;
      for (size_t i = 0; i < n_; ++i) {
        const PlanOption& cur = Opt(i, s.chosen[i]);
        if (!(cur.mask >> site & 1) || f_.size[i] == 0) continue;
        int best = -1;
        for (uint32_t j = 0; j < plan_.count[i]; ++j) {
          const PlanOption& o = Opt(i, j);
          if ((o.mask >> site & 1) || (o.flags & PlanOption::kDominated)) continue;
          if (best < 0 || o.cost < Opt(i, best).cost) best = static_cast<int>(j);
        }
        if (best >= 0) {
          cands.push_back({(Opt(i, best).cost - cur.cost) / SizeGb(i), static_cast<uint32_t>(i),
                           static_cast<uint32_t>(best)});
        }
      }
      std::sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) {
        return a.per_gb != b.per_gb ? a.per_gb < b.per_gb : a.obj < b.obj;
      });
      for (const Cand& c : cands) {
        if (s.usage[site] <= p_.cap_gb[site] + 1e-12) break;
        if (c.per_gb >= kOverCapacityPenaltyPerGb) break;  // cheaper to stay over
        const PlanOption& from = Opt(c.obj, s.chosen[c.obj]);
        const PlanOption& to = Opt(c.obj, c.opt);
        Load lfrom = s.chosen[c.obj] == plan_.stay[c.obj] ? Load{} : LoadOf(c.obj, from);
        if (Fits(s, c.obj, from, to, LoadOf(c.obj, to), lfrom)) Switch(s, c.obj, c.opt);
      }
    }
  }

  // Takes back the changes worth least per byte until the budget holds exactly.
  void EnforceBudget(Sol& s) const {
    auto over = [&] {
      return (budget_gb_ >= 0 && s.bytes_gb > budget_gb_) ||
             (budget_usd_ >= 0 && s.dollars > budget_usd_);
    };
    if (!over()) return;
    std::vector<std::pair<double, uint32_t>> changed;
    for (size_t i = 0; i < n_; ++i) {
      if (s.chosen[i] == plan_.stay[i]) continue;
      const PlanOption& o = Opt(i, s.chosen[i]);
      Load l = LoadOf(i, o);
      if (l.bytes_gb <= 0 && l.dollars <= 0) continue;
      double saving = Opt(i, plan_.stay[i]).cost - o.cost;
      changed.push_back(
          {saving / std::max(1e-12, l.bytes_gb + l.dollars), static_cast<uint32_t>(i)});
    }
    std::sort(changed.begin(), changed.end());
    for (const auto& [ratio, i] : changed) {
      if (!over()) break;
      Switch(s, i, plan_.stay[i]);
    }
  }

  bool Feasible(const Sol& s) const {
    if (budget_gb_ >= 0 && s.bytes_gb > budget_gb_ + 1e-9) return false;
    if (budget_usd_ >= 0 && s.dollars > budget_usd_ + 1e-9) return false;
    for (int site : cap_sites_) {
      if (s.usage[site] > p_.cap_gb[site] + 1e-9) return false;
    }
    return true;
  }

  size_t FreeColumns() const {
    size_t cols = 0;
    for (size_t i = 0; i < n_; ++i) {
      size_t live = 0;
      for (uint32_t j = 0; j < plan_.count[i]; ++j)
        live += !(Opt(i, j).flags & PlanOption::kDominated);
      if (live >= 2) cols += live;
    }
    return cols;
  }

  // Lagrangian relaxation of the capacity and budget rows; the best greedy repair is the answer.
  Sol Decompose(const Sol& start, double deadline_s, Clock::time_point t0) {
    const size_t nc = cap_sites_.size();
    std::vector<double> lambda(nc, 0.0);
    double mu_gb = 0, mu_usd = 0;
    Sol best = start;
    double ub = best.Objective(p_);
    double lb = plan_.bound;
    double theta = 1.0;
    int stall = 0;
    std::vector<uint32_t> priced(n_);
    const int threads = std::max(1, o_.threads);
    for (int it = 1; it <= 300; ++it) {
      plan_.iterations = it;
      struct Acc {
        double value = 0, bytes = 0, usd = 0;
        std::vector<double> use;
      };
      std::vector<Acc> acc(threads);
      for (auto& a : acc) a.use.assign(nc, 0.0);
      ParallelFor(n_, threads, [&](size_t b, size_t e, int w) {
        Acc& a = acc[w];
        for (size_t i = b; i < e; ++i) {
          double gb = SizeGb(i);
          double best_v = 0;
          uint32_t best_j = 0;
          bool any = false;
          for (uint32_t j = 0; j < plan_.count[i]; ++j) {
            const PlanOption& o = Opt(i, j);
            if (o.flags & PlanOption::kDominated) continue;
            double v = o.cost;
            for (size_t c = 0; c < nc; ++c) {
              if (o.mask >> cap_sites_[c] & 1) v += lambda[c] * gb;
            }
            Load l = j == plan_.stay[i] ? Load{} : LoadOf(i, o);
            v += mu_gb * l.bytes_gb + mu_usd * l.dollars;
            if (!any || v < best_v) {
              any = true;
              best_v = v;
              best_j = j;
            }
          }
          priced[i] = best_j;
          a.value += best_v;
          const PlanOption& o = Opt(i, best_j);
          for (size_t c = 0; c < nc; ++c) {
            if (o.mask >> cap_sites_[c] & 1) a.use[c] += gb;
          }
          if (best_j != plan_.stay[i]) {
            Load l = LoadOf(i, o);
            a.bytes += l.bytes_gb;
            a.usd += l.dollars;
          }
        }
      });
      double value = 0, bytes = 0, usd = 0;
      std::vector<double> use(nc, 0.0);
      for (const auto& a : acc) {
        value += a.value;
        bytes += a.bytes;
        usd += a.usd;
        for (size_t c = 0; c < nc; ++c) use[c] += a.use[c];
      }
      double L = value;
      std::vector<double> g(nc);
      double norm = 0;
      for (size_t c = 0; c < nc; ++c) {
        L -= lambda[c] * p_.cap_gb[cap_sites_[c]];
        g[c] = use[c] - p_.cap_gb[cap_sites_[c]];
      }
      double g_gb = 0, g_usd = 0;
      if (budget_gb_ >= 0) {
        L -= mu_gb * budget_gb_;
        g_gb = bytes - budget_gb_;
      }
      if (budget_usd_ >= 0) {
        L -= mu_usd * budget_usd_;
        g_usd = usd - budget_usd_;
      }
      if (L > lb + 1e-12 * std::max(1.0, std::abs(lb))) {
        lb = L;
        stall = 0;
      } else if (++stall >= 5) {
        theta /= 2;
        stall = 0;
      }
      if (it % 5 == 1) {
        Sol s = Greedy(priced);
        double v = s.Objective(p_);
        if (v < ub) {
          ub = v;
          best = std::move(s);
        }
      }
      // Projected subgradient (only violated or priced rows move).
      for (size_t c = 0; c < nc; ++c) {
        if (lambda[c] <= 0 && g[c] < 0) g[c] = 0;
        norm += g[c] * g[c];
      }
      if (mu_gb <= 0 && g_gb < 0) g_gb = 0;
      if (mu_usd <= 0 && g_usd < 0) g_usd = 0;
      norm += g_gb * g_gb + g_usd * g_usd;
      plan_.bound = lb;
      double gap = (ub - lb) / std::max(1e-9, std::abs(ub));
      if (gap < 1e-7 || norm <= 0 || theta < 1e-6 || Since(t0) > deadline_s) break;
      double t = theta * (ub - L) / norm;
      for (size_t c = 0; c < nc; ++c) {
        lambda[c] = std::clamp(lambda[c] + t * g[c], 0.0, kOverCapacityPenaltyPerGb);
      }
      mu_gb = std::max(0.0, mu_gb + t * g_gb);
      mu_usd = std::max(0.0, mu_usd + t * g_usd);
    }
    plan_.capacity_price.assign(p_.n, 0.0);
    for (size_t c = 0; c < nc; ++c) plan_.capacity_price[cap_sites_[c]] = lambda[c];
    return best;
  }

  // One MILP over the free objects' non-dominated options.
  Result<Sol> Milp(const Sol& start, double time_limit_s, std::string* status) {
    MilpProblem m;
    std::vector<std::vector<std::pair<uint32_t, int>>> cols(n_);  // (option, column)
    double fixed = 0, shift = 0;
    std::vector<double> fixed_use(p_.n, 0.0);
    std::vector<double> diffs;
    std::vector<size_t> free_objs;
    for (size_t i = 0; i < n_; ++i) {
      std::vector<uint32_t> live;
      for (uint32_t j = 0; j < plan_.count[i]; ++j) {
        if (!(Opt(i, j).flags & PlanOption::kDominated)) live.push_back(j);
      }
      if (live.size() < 2) {
        const PlanOption& o = Opt(i, live.empty() ? plan_.stay[i] : live[0]);
        fixed += o.cost;
        for (uint64_t mm = o.mask; mm; mm &= mm - 1) fixed_use[__builtin_ctzll(mm)] += SizeGb(i);
        continue;
      }
      free_objs.push_back(i);
      double lo = Opt(i, live[0]).cost;
      for (uint32_t j : live) lo = std::min(lo, Opt(i, j).cost);
      shift += lo;
      for (uint32_t j : live) {
        double d = Opt(i, j).cost - lo;
        if (d > 0 && d < kRulePenalty) diffs.push_back(d);
        cols[i].push_back({j, -1});
      }
    }
    // Objective in units of the median cost difference between an object's options; each
    // coupling row scaled so its largest coefficient is 1 (Clp's tolerances are absolute).
    double scale = 1.0;
    if (!diffs.empty()) {
      std::nth_element(diffs.begin(), diffs.begin() + diffs.size() / 2, diffs.end());
      scale = 1.0 / diffs[diffs.size() / 2];
    }
    for (size_t i : free_objs) {
      double lo = Opt(i, cols[i][0].first).cost;
      for (auto& [j, c] : cols[i]) lo = std::min(lo, Opt(i, j).cost);
      int row = m.AddRow(1, 1);
      for (auto& [j, c] : cols[i]) {
        c = m.AddColumn((Opt(i, j).cost - lo) * scale, 0, 1, true);
        m.Set(row, c, 1);
      }
    }
    // Capacity is hard when the greedy plan meets it (then the MILP is feasible and its bound is
    // in dollars); otherwise soft, with slack at the over-capacity penalty.
    bool hard = true;
    for (int site : cap_sites_) hard &= start.usage[site] <= p_.cap_gb[site] + 1e-12;
    std::vector<int> slack(p_.n, -1);
    std::vector<double> row_unit(p_.n, 1.0);  // GB per unit of the scaled row
    for (int site : cap_sites_) {
      double unit = 0;
      for (size_t i : free_objs) {
        for (auto& [j, c] : cols[i]) {
          if (Opt(i, j).mask >> site & 1) unit = std::max(unit, SizeGb(i));
        }
      }
      if (unit <= 0) unit = std::max(1e-12, std::abs(p_.cap_gb[site] - fixed_use[site]));
      row_unit[site] = unit;
      int row = m.AddRow(-kMilpInfinity, (p_.cap_gb[site] - fixed_use[site]) / unit * (1 - 1e-9));
      if (!hard) {
        // Slack in row units; its cost is the per-GB penalty times the unit (capped: numerics).
        slack[site] = m.AddColumn(std::min(kOverCapacityPenaltyPerGb * unit * scale, 1e9), 0,
                                  kMilpInfinity, false);
        m.Set(row, slack[site], -1);
      }
      for (size_t i : free_objs) {
        for (auto& [j, c] : cols[i]) {
          if (Opt(i, j).mask >> site & 1) m.Set(row, c, SizeGb(i) / unit);
        }
      }
    }
    auto budget_row = [&](double limit, bool dollars) {
      double unit = 0;
      for (size_t i : free_objs) {
        for (auto& [j, c] : cols[i]) {
          if (j == plan_.stay[i]) continue;
          Load l = LoadOf(i, Opt(i, j));
          unit = std::max(unit, dollars ? l.dollars : l.bytes_gb);
        }
      }
      if (unit <= 0) return;  // nothing loads it
      int row = m.AddRow(-kMilpInfinity, limit / unit * (1 - 1e-9));
      for (size_t i : free_objs) {
        for (auto& [j, c] : cols[i]) {
          if (j == plan_.stay[i]) continue;
          Load l = LoadOf(i, Opt(i, j));
          double v = dollars ? l.dollars : l.bytes_gb;
          if (v != 0) m.Set(row, c, v / unit);
        }
      }
    };
    if (budget_gb_ >= 0) budget_row(budget_gb_, false);
    if (budget_usd_ >= 0) budget_row(budget_usd_, true);
    plan_.milp_columns = static_cast<int64_t>(m.obj.size());
    // MIP start: the greedy solution.
    m.start.assign(m.obj.size(), 0.0);
    for (size_t i : free_objs) {
      for (auto& [j, c] : cols[i]) m.start[c] = start.chosen[i] == j ? 1.0 : 0.0;
    }
    for (int site : cap_sites_) {
      if (slack[site] >= 0) {
        m.start[slack[site]] = std::max(0.0, start.usage[site] - p_.cap_gb[site]) / row_unit[site];
      }
    }
    MilpOptions mo;
    mo.time_limit_s = std::max(0.5, time_limit_s);
    mo.relative_gap = o_.relative_gap;
    mo.full_driver = true;
    DIM_ASSIGN_OR_RETURN(MilpSolution sol, SolveMilp(m, mo));
    plan_.milp_nodes = sol.nodes;
    if (sol.x.empty()) {
      *status = sol.outcome == MilpSolution::Outcome::kInfeasible ? "infeasible" : "no_solution";
      return start;
    }
    std::vector<uint32_t> chosen(plan_.stay.begin(), plan_.stay.end());
    for (size_t i = 0; i < n_; ++i) {
      if (cols[i].empty()) {
        // Fixed: its single non-dominated option.
        for (uint32_t j = 0; j < plan_.count[i]; ++j) {
          if (!(Opt(i, j).flags & PlanOption::kDominated)) {
            chosen[i] = j;
            break;
          }
        }
        continue;
      }
      double bestv = -1;
      for (auto& [j, c] : cols[i]) {
        if (sol.x[c] > bestv) {
          bestv = sol.x[c];
          chosen[i] = j;
        }
      }
    }
    Sol s = Evaluate(chosen);
    EnforceBudget(s);  // the solver's tolerances may let a byte or a cent through
    // Hard capacity: the MILP's objective is the plan's, shifted and scaled. Soft: the capped
    // penalty differs from the plan's, so carry over the relative gap only.
    double bound = hard ? fixed + shift + sol.bound / scale : s.Objective(p_) * (1 - sol.gap);
    plan_.bound = std::max(plan_.bound, std::min(bound, s.Objective(p_)));
    *status = sol.time_limit_hit ? "time_limit"
              : sol.outcome == MilpSolution::Outcome::kOptimal
                  ? (sol.gap <= 1e-9 ? "optimal" : "within_gap")
                  : "feasible";
    if (start.Objective(p_) < s.Objective(p_) - 1e-12) return start;
    return s;
  }

 private:
  const Fleet& f_;
  const Prepared& p_;
  FleetPlan& plan_;
  const PlanOptions& o_;
  const size_t n_;
  std::vector<int> cap_sites_;
  double budget_gb_, budget_usd_;
};

}  // namespace

int64_t FleetPlan::MovedBytes(const Fleet& f, size_t obj, const PlanOption& o) const {
  return f.size[obj] * __builtin_popcountll(o.mask & ~(f.held[obj] | f.placed[obj]));
}

double MonthlyCost(const Fleet& fleet, const PlanContext& ctx, size_t i, const PlanOption& o) {
  CostParams cp = ctx.cost;
  cp.sla_ms = ctx.sla_ms;
  Demand d = ForecastDemand(fleet.size[i], fleet.access_24h[i], fleet.access_7d[i],
                            fleet.write_share[i], fleet.bytes_per_read[i], fleet.p_hot[i], cp);
  double v = 0;
  for (uint64_t m = o.mask; m; m &= m - 1) {
    int s = __builtin_ctzll(m);
    if (s >= static_cast<int>(ctx.sites.size())) continue;
    SiteCost c = CostAt(SitePrices::From(ctx.sites[s]), d, true, 0, 0, cp);
    v += MonthlyRecurring(c, s == o.primary, cp);
  }
  return v;
}

std::vector<std::string> OptionSites(const Fleet& fleet, const PlanContext& ctx,
                                     const PlanOption& o, Tier tier) {
  std::vector<int> idx;
  for (uint64_t m = o.mask; m; m &= m - 1) {
    int i = __builtin_ctzll(m);
    if (i != o.primary) idx.push_back(i);
  }
  auto key = [&](int i) {
    const auto& s = ctx.sites[i];
    return std::make_tuple(s.storage_class != tier, s.p95_ms, s.cost_per_gb_month, s.name);
  };
  std::sort(idx.begin(), idx.end(), [&](int a, int b) { return key(a) < key(b); });
  if (o.primary >= 0) idx.insert(idx.begin(), o.primary);
  std::vector<std::string> out;
  for (int i : idx) out.push_back(fleet.site_names[i]);
  return out;
}

Result<FleetPlan> PlanFleet(const Fleet& fleet, const PlanContext& ctx, const PlanOptions& o) {
  const auto t0 = Clock::now();
  const size_t n = fleet.size_objects();
  if (ctx.sites.size() != fleet.site_names.size() || ctx.sites.size() > kMaxCompactSites) {
    return Status::InvalidArgument("the plan's sites do not match the fleet's (or exceed 64)");
  }
  for (size_t s = 0; s < ctx.sites.size(); ++s) {
    if (ctx.sites[s].name != fleet.site_names[s]) {
      return Status::InvalidArgument("site " + std::to_string(s) + " is " + ctx.sites[s].name +
                                     " in the plan but " + fleet.site_names[s] + " in the fleet");
    }
  }
  const Prepared P = Prepare(ctx);
  FleetPlan plan;
  const int patterns = std::clamp(o.patterns, 1, 15);
  plan.stride = static_cast<size_t>(patterns) + 1 + kMaxFallbacks;
  plan.count.assign(n, 0);
  plan.options.resize(n * plan.stride);
  plan.chosen.assign(n, 0);
  plan.stay.assign(n, 0);
  plan.best.assign(n, 0);
  plan.tier.assign(n, Tier::kCold);
  plan.relaxed.assign(n, 0);

  // 1. Tiers, with room for every promotion; then the fleet-wide cap.
  std::vector<float> boosted(n);
  const double w_hot = P.w.w_hot, w_egress = P.w.w_egress;
  auto tier_inputs = [&](size_t i, double hot_share) {
    double p = fleet.p_hot[i];
    int prim = fleet.primary[i];
    double mx = -1e300;
    for (int s = 0; s < P.n; ++s)
      mx = std::max(mx, w_hot * p + P.score_base[s] + (s == prim ? w_egress : 0));
    TierInputs in;
    in.heat = fleet.heat[i];
    in.p_adj = AdjustedPHotFromMax(p, P.n > 0 ? mx : 0.0);
    in.access_1h = fleet.access_1h[i];
    in.access_24h = fleet.access_24h[i];
    in.current = fleet.tier[i];
    in.residency_s = std::max<int64_t>(0, ctx.now_ms - fleet.tier_since_ms[i]) / 1000.0;
    in.recency_s = fleet.recency_s[i];
    in.hot_share = hot_share;
    return in;
  };
  ParallelFor(n, o.threads, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) {
      TierDecision d = DecideTier(tier_inputs(i, 0.0), ctx.tier, false);
      plan.tier[i] = d.tier;
      boosted[i] = static_cast<float>(d.boosted_heat);
    }
  });
  {
    int64_t keep = 0;
    std::vector<uint32_t> promoted;
    for (size_t i = 0; i < n; ++i) {
      plan.hot_before += fleet.tier[i] == Tier::kHot;
      if (plan.tier[i] != Tier::kHot) continue;
      if (fleet.tier[i] == Tier::kHot)
        ++keep;
      else
        promoted.push_back(static_cast<uint32_t>(i));
    }
    const int64_t limit =
        static_cast<int64_t>(std::ceil(ctx.tier.max_hot_share * static_cast<double>(n) - 1e-9));
    if (keep + static_cast<int64_t>(promoted.size()) > limit) {
      std::sort(promoted.begin(), promoted.end(), [&](uint32_t a, uint32_t b) {
        return boosted[a] != boosted[b] ? boosted[a] > boosted[b] : fleet.id[a] < fleet.id[b];
      });
      size_t admit = static_cast<size_t>(std::max<int64_t>(0, limit - keep));
      for (size_t k = admit; k < promoted.size(); ++k) {
        plan.tier[promoted[k]] = DecideTier(tier_inputs(promoted[k], 1.0), ctx.tier, false).tier;
      }
    }
  }

  // 2. Options per object.
  CostParams cp = ctx.cost;
  cp.sla_ms = ctx.sla_ms;
  ParallelFor(n, o.threads, [&](size_t b, size_t e, int) {
    Choice buf[16];
    for (size_t i = b; i < e; ++i) {
      const double p = fleet.p_hot[i];
      const uint64_t held = fleet.held[i], placed = fleet.placed[i];
      const int prim = fleet.primary[i];
      const Tier tier = plan.tier[i];
      Demand d = ForecastDemand(fleet.size[i], fleet.access_24h[i], fleet.access_7d[i],
                                fleet.write_share[i], fleet.bytes_per_read[i], p, cp);
      std::array<float, kMaxCompactSites> age{};
      double source_out = 0;
      bool any_source = false;
      for (uint32_t k = fleet.held_begin[i]; k < fleet.held_begin[i + 1]; ++k) {
        int s = fleet.held_site[k];
        age[s] = fleet.held_age_days[k];
        double out = MoveOutPerGb(P.prices[s]);
        if (!any_source || out < source_out) source_out = out;
        any_source = true;
      }
      CompactProblem pr;
      pr.n = P.n;
      pr.allowed = P.allowed;
      pr.sla = P.sla;
      pr.cls = P.cls[static_cast<int>(tier)];
      pr.has_tier = true;
      pr.provider = P.provider;
      pr.order = P.order[static_cast<int>(tier)];
      pr.name_rank = P.name_rank;
      pr.k = std::min(std::max(1, ctx.rf), __builtin_popcountll(P.allowed));
      std::array<float, kMaxCompactSites> move{}, fee{};
      const double w = ctx.score_weight_base + ctx.score_weight_p * p;
      for (int s = 0; s < P.n; ++s) {
        SiteCost c = CostAt(P.prices[s], d, held >> s & 1, age[s], source_out, cp);
        move[s] = static_cast<float>(c.move);
        fee[s] = static_cast<float>(c.early_delete);
        if (ctx.objective == PlacementObjective::kCost) {
          pr.a[s] = c.Replica() - c.early_delete;
          pr.b[s] = c.Primary();
          pr.constant += c.early_delete;
        } else {
          double score = w_hot * p + P.score_base[s] + (s == prim ? w_egress : 0);
          pr.a[s] = P.seed_static[s] - w * score;
          pr.b[s] = 0;
        }
      }
      PlacementRules rules;
      // The seed's relaxation order: diversity, class, SLA.
      auto relaxed_best = [&](const CompactProblem& q, PlacementRules& r, Choice* out, int limit,
                              uint8_t& relaxed) {
        if (q.allowed == 0) return 0;
        int got = BestChoices(q, r, out, limit);
        if (got == 0) {
          r.diversity = false;
          relaxed |= 1;
          got = BestChoices(q, r, out, limit);
        }
        if (got == 0) {
          r.tier_class = false;
          relaxed |= 2;
          got = BestChoices(q, r, out, limit);
        }
        if (got == 0) {
          r.sla = false;
          relaxed |= 4;
          got = BestChoices(q, r, out, limit);
        }
        return got;
      };
      uint8_t relaxed = 0;
      int found = relaxed_best(pr, rules, buf, patterns, relaxed);
      plan.relaxed[i] = relaxed;
      PlanOption* opts = &plan.options[i * plan.stride];
      int count = 0;
      auto dollars = [&](uint64_t mask) {
        double v = 0;
        for (uint64_t m = mask & ~(held | placed); m; m &= m - 1) v += move[__builtin_ctzll(m)];
        for (uint64_t m = held & ~mask; m; m &= m - 1) v += fee[__builtin_ctzll(m)];
        return static_cast<float>(v);
      };
      bool stay_listed = false;
      auto add = [&](const Choice& ch, uint8_t flags, uint8_t rel) {
        for (int k = 0; k < count; ++k) {
          if (opts[k].mask == ch.mask) return;  // one option per set (canonical primary)
        }
        PlanOption& op = opts[count++];
        op = PlanOption{};
        op.mask = ch.mask;
        op.primary = static_cast<int8_t>(ch.primary);
        op.cost = ch.objective;
        op.move_dollars = dollars(op.mask);
        op.flags = flags;
        op.relaxed = rel;
        if (op.mask == placed && op.primary == prim && tier == fleet.tier[i]) {
          op.flags |= PlanOption::kStay;
          op.move_dollars = 0;
          stay_listed = true;
        }
      };
      for (int c = 0; c < found; ++c) add(buf[c], 0, relaxed);
      // Fallbacks: where the object would go if a capacitated site were full (as the per-object
      // placer excludes a site without room), so that capacity can be met without breaking rules.
      int fallbacks = 0;
      for (uint64_t m = pr.allowed & P.capacitated; m && fallbacks < kMaxFallbacks; m &= m - 1) {
        CompactProblem fb = pr;
        fb.allowed = pr.allowed & ~(uint64_t{1} << __builtin_ctzll(m));
        if (__builtin_popcountll(fb.allowed) < pr.k) continue;  // would break RF
        PlacementRules fr;
        uint8_t frel = 0;
        Choice one;
        if (relaxed_best(fb, fr, &one, 1, frel) == 1) {
          // Breaking the object's rules is acceptable only when that site is really full.
          bool regular = Feasible(pr, rules, one.mask) &&
                         !(pr.ClassActive(rules) && !(pr.cls >> one.primary & 1));
          if (!regular) one.objective += kFallbackPenalty;
          add(one, regular ? 0 : PlanOption::kFallback, regular ? relaxed : frel);
          ++fallbacks;
        }
      }
      if (!stay_listed) {
        PlanOption& st = opts[count++];
        st = PlanOption{};
        st.mask = placed;
        st.flags = PlanOption::kStay;
        int sp = prim >= 0 ? prim : (placed ? PrimaryOf(pr, rules, placed) : -1);
        st.primary = static_cast<int8_t>(sp);
        st.cost = placed ? ObjectiveOf(pr, placed, sp) : pr.constant;
        // Judged by the same rules as the candidates (the decided tier's class included), so
        // that without coupling the plan is each object's own optimum; staying against the
        // rules is the fallback when the budget or capacity allows nothing else.
        bool breaks = fleet.unknown_site[i] || placed == 0 || !Feasible(pr, rules, placed) ||
                      (pr.ClassActive(rules) && sp >= 0 && !(pr.cls >> sp & 1));
        if (breaks) {
          st.cost += kRulePenalty;
          st.flags |= PlanOption::kBreaksRule;
        }
      }
      std::stable_sort(opts, opts + count, [](const PlanOption& x, const PlanOption& y) {
        if (x.cost != y.cost) return x.cost < y.cost;
        return (x.flags & PlanOption::kStay) < (y.flags & PlanOption::kStay);
      });
      // Dominance: no lower cost, no fewer bytes or dollars, no less capacity used.
      const double gb = static_cast<double>(fleet.size[i]) / 1e9;
      auto bytes = [&](const PlanOption& x) {
        return (x.flags & PlanOption::kStay) ? 0.0
                                             : gb * __builtin_popcountll(x.mask & ~(held | placed));
      };
      for (int j = 0; j < count; ++j) {
        if (opts[j].flags & PlanOption::kStay) plan.stay[i] = static_cast<uint8_t>(j);
        for (int k = 0; k < count && !(opts[j].flags & PlanOption::kDominated); ++k) {
          if (k == j || (opts[k].flags & PlanOption::kDominated)) continue;
          const PlanOption& x = opts[k];
          const PlanOption& y = opts[j];
          bool le = x.cost <= y.cost && bytes(x) <= bytes(y) &&
                    ((x.flags & PlanOption::kStay) ? 0.0f : x.move_dollars) <=
                        ((y.flags & PlanOption::kStay) ? 0.0f : y.move_dollars) &&
                    ((x.mask & P.capacitated) & ~(y.mask & P.capacitated)) == 0;
          bool same = x.cost == y.cost && bytes(x) == bytes(y) &&
                      (x.mask & P.capacitated) == (y.mask & P.capacitated);
          if (le && (!same || k < j)) opts[j].flags |= PlanOption::kDominated;
        }
      }
      plan.count[i] = static_cast<uint8_t>(count);
      plan.chosen[i] = 0;
    }
  });
  plan.seconds_options = Since(t0);

  // 3. Solve.
  const auto t1 = Clock::now();
  Solver solver(fleet, P, plan, o);
  // Each object's own best: its cheapest option that nothing dominates.
  std::vector<uint32_t> independent(n, 0);
  for (size_t i = 0; i < n; ++i) {
    while (independent[i] + 1u < plan.count[i] &&
           (plan.Option(i, independent[i]).flags & PlanOption::kDominated)) {
      ++independent[i];
    }
  }
  auto before = solver.Evaluate(std::vector<uint32_t>(plan.stay.begin(), plan.stay.end()));
  plan.objective_before = before.Objective(P);
  auto sol = solver.Evaluate(independent);
  plan.bound = sol.cost;  // no coupling: a lower bound on any plan
  plan.solver = "independent";
  plan.status = "optimal";
  if (!solver.Feasible(sol)) {
    auto greedy = solver.Greedy(independent);
    size_t cols = solver.FreeColumns();
    bool use_cbc = o.solver == "cbc" || (o.solver != "decomposition" &&
                                         static_cast<int64_t>(cols) <= o.milp_max_columns);
    std::string status = "feasible";
    if (use_cbc) {
      plan.solver = "cbc";
      DIM_ASSIGN_OR_RETURN(sol, solver.Milp(greedy, o.time_limit_s - Since(t1), &status));
    } else {
      plan.solver = "decomposition";
      sol = solver.Decompose(greedy, o.time_limit_s, t1);
      status = "feasible";
    }
    plan.status = status;
  }
  plan.objective = sol.Objective(P);
  plan.bound = std::min(plan.bound, plan.objective);
  plan.gap = std::max(0.0, plan.objective - plan.bound) / std::max(1e-9, std::abs(plan.objective));
  if (plan.solver == "decomposition" && plan.gap <= 1e-9) plan.status = "optimal";
  plan.chosen = sol.chosen;
  plan.seconds_solve = Since(t1);

  // 4. Summary and the order of the moves.
  plan.site_gb_before = before.usage;
  plan.site_gb_after = sol.usage;
  if (plan.capacity_price.empty()) plan.capacity_price.assign(P.n, 0.0);
  {
    // The budget binds when an object did not get its own best option and that option's load
    // does not fit in what is left of the budget.
    const double left_gb = o.budget_bytes > 0 ? o.budget_bytes / 1e9 - sol.bytes_gb : 1e300;
    const double left_usd = o.budget_dollars > 0 ? o.budget_dollars - sol.dollars : 1e300;
    for (size_t i = 0; i < n && !plan.budget_binding; ++i) {
      if (sol.chosen[i] == independent[i] || independent[i] == plan.stay[i]) continue;
      const PlanOption& want = plan.Option(i, independent[i]);
      double gb = fleet.size[i] / 1e9 *
                  __builtin_popcountll(want.mask & ~(fleet.held[i] | fleet.placed[i]));
      plan.budget_binding = gb > left_gb + 1e-12 || want.move_dollars > left_usd + 1e-12;
    }
  }
  struct Ranked {
    double per_byte;
    uint32_t obj;
  };
  std::vector<Ranked> ranked;
  for (size_t i = 0; i < n; ++i) {
    const Tier final_tier = plan.Changes(i) ? plan.tier[i] : fleet.tier[i];
    plan.hot_after += final_tier == Tier::kHot;
    plan.best[i] = static_cast<uint8_t>(independent[i]);
    if (plan.chosen[i] != independent[i]) {
      ++plan.constrained;
      if (plan.chosen[i] == plan.stay[i]) ++plan.deferred;
    }
    if (!plan.Changes(i)) continue;
    ++plan.changes;
    const PlanOption& c = plan.Chosen(i);
    int64_t bytes = plan.MovedBytes(fleet, i, c);
    if (bytes > 0) ++plan.moves;
    plan.moved_bytes += bytes;
    plan.move_dollars += c.move_dollars;
    double saving = plan.Option(i, plan.stay[i]).cost - c.cost;
    ranked.push_back(
        {saving / std::max<double>(1, static_cast<double>(bytes)), static_cast<uint32_t>(i)});
  }
  std::sort(ranked.begin(), ranked.end(), [&](const Ranked& a, const Ranked& b) {
    return a.per_byte != b.per_byte ? a.per_byte > b.per_byte : fleet.id[a.obj] < fleet.id[b.obj];
  });
  plan.order.reserve(ranked.size());
  for (const auto& r : ranked) plan.order.push_back(r.obj);
  return plan;
}

}  // namespace dim
