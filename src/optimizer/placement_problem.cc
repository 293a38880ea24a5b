#include "optimizer/placement_problem.h"

#include <algorithm>
#include <cmath>

namespace dim {

bool Feasible(const CompactProblem& p, const PlacementRules& r, uint64_t mask) {
  if ((mask & ~p.allowed) != 0 || __builtin_popcountll(mask) != p.k) return false;
  if (p.SlaActive(r) && (mask & p.sla) == 0) return false;
  if (p.ClassActive(r) && (mask & p.cls) == 0) return false;
  if (p.DiversityActive(r)) {
    // Providers are small ids; a 256-bit set is overkill for a handful of sites but branch-free.
    uint64_t seen[4] = {0, 0, 0, 0};
    for (uint64_t m = mask; m; m &= m - 1) {
      int i = __builtin_ctzll(m);
      uint8_t v = p.provider[i];
      uint64_t bit = uint64_t{1} << (v & 63);
      if (seen[v >> 6] & bit) return false;
      seen[v >> 6] |= bit;
    }
  }
  return true;
}

int PrimaryOf(const CompactProblem& p, const PlacementRules& r, uint64_t mask) {
  uint64_t eligible = p.ClassActive(r) ? (mask & p.cls) : mask;
  if (eligible == 0) eligible = mask;
  int best = -1;
  for (uint64_t m = eligible; m; m &= m - 1) {
    int i = __builtin_ctzll(m);
    if (best < 0 || p.b[i] < p.b[best] - 1e-15 ||
        (std::abs(p.b[i] - p.b[best]) <= 1e-15 && p.order[i] < p.order[best])) {
      best = i;
    }
  }
  return best;
}

double ObjectiveOf(const CompactProblem& p, uint64_t mask, int primary) {
  double v = p.constant;
  for (uint64_t m = mask; m; m &= m - 1) v += p.a[__builtin_ctzll(m)];
  if (primary >= 0) v += p.b[primary];
  return v;
}

namespace {

// The seed's tie rule: compare the sites' names position by position, in site order.
bool NamesLess(const CompactProblem& p, uint64_t x, uint64_t y) {
  while (x && y) {
    int i = __builtin_ctzll(x), j = __builtin_ctzll(y);
    if (p.name_rank[i] != p.name_rank[j]) return p.name_rank[i] < p.name_rank[j];
    x &= x - 1;
    y &= y - 1;
  }
  return false;
}

}  // namespace

bool ChoiceBefore(const CompactProblem& p, const Choice& a, const Choice& b) {
  constexpr double kEps = 1e-12;
  if (!b.ok()) return a.ok();
  if (!a.ok()) return false;
  if (a.objective < b.objective - kEps) return true;
  if (std::abs(a.objective - b.objective) <= kEps) return NamesLess(p, a.mask, b.mask);
  return false;
}

int BestChoices(const CompactProblem& p, const PlacementRules& r, Choice* out, int limit,
                const std::vector<uint64_t>& forbid) {
  if (limit <= 0) return 0;
  int count = 0;
  // Positions of the allowed sites; enumerate k-subsets of them with Gosper's hack.
  int idx[kMaxCompactSites];
  int m = 0;
  for (uint64_t a = p.allowed; a; a &= a - 1) idx[m++] = __builtin_ctzll(a);
  if (p.k <= 0 || p.k > m || m > 63) return 0;
  const bool sla = p.SlaActive(r), cls = p.ClassActive(r), div = p.DiversityActive(r);
  const uint64_t last = uint64_t{1} << m;
  for (uint64_t v = (uint64_t{1} << p.k) - 1; v < last;) {
    uint64_t mask = 0;
    for (uint64_t w = v; w; w &= w - 1) mask |= uint64_t{1} << idx[__builtin_ctzll(w)];
    bool ok = !(sla && (mask & p.sla) == 0) && !(cls && (mask & p.cls) == 0);
    if (ok && div) ok = Feasible(p, r, mask);
    if (ok && !forbid.empty()) ok = std::find(forbid.begin(), forbid.end(), mask) == forbid.end();
    if (ok) {
      Choice c;
      c.mask = mask;
      c.primary = PrimaryOf(p, r, mask);
      c.objective = ObjectiveOf(p, mask, c.primary);
      if (count < limit || ChoiceBefore(p, c, out[count - 1])) {
        int pos = count < limit ? count++ : count - 1;
        while (pos > 0 && ChoiceBefore(p, c, out[pos - 1])) {
          out[pos] = out[pos - 1];
          --pos;
        }
        out[pos] = c;
      }
    }
    // Next k-subset of m bits (Gosper).
    uint64_t t = v | (v - 1);
    v = (t + 1) | (((~t & -~t) - 1) >> (__builtin_ctzll(v) + 1));
  }
  return count;
}

std::vector<int> ListedSites(const CompactProblem& p, uint64_t mask, int primary) {
  std::vector<int> out;
  for (uint64_t m = mask; m; m &= m - 1) {
    int i = __builtin_ctzll(m);
    if (i != primary) out.push_back(i);
  }
  std::sort(out.begin(), out.end(), [&](int x, int y) { return p.order[x] < p.order[y]; });
  if (primary >= 0) out.insert(out.begin(), primary);
  return out;
}

}  // namespace dim
