// A mixed-integer linear program and its solution by COIN-OR CBC (CbcModel over Clp). This file
// is the only one that touches CBC; its exceptions become Status here. Calls are serialised
// (one CBC solve at a time in the process), so it is safe from any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace dim {

// min obj.x  s.t.  row_lb <= A x <= row_ub,  col_lb <= x <= col_ub,  x integer where marked.
// A is given as (row, col, value) triples. Use kMilpInfinity for an open bound.
inline constexpr double kMilpInfinity = 1e30;

struct MilpProblem {
  std::vector<double> obj, col_lb, col_ub;
  std::vector<char> integer;  // per column
  std::vector<double> row_lb, row_ub;
  std::vector<int> a_row, a_col;
  std::vector<double> a_val;
  std::vector<double> start;  // optional feasible solution to start from (MIP start)

  int AddColumn(double cost, double lb, double ub, bool is_integer);
  int AddRow(double lb, double ub);
  void Set(int row, int col, double value);
};

struct MilpOptions {
  double time_limit_s = 0;  // 0: none; covers the LP relaxation too (then the start is the answer)
  double relative_gap = 0;  // stop when proven within this fraction of the optimum
  // The `cbc` program's driver (preprocessing, cut generators, heuristics): slower to start
  // (milliseconds) but far stronger on large models; plain branch and bound otherwise.
  bool full_driver = false;
};

struct MilpSolution {
  enum class Outcome { kOptimal, kFeasible, kInfeasible, kNoSolution };
  Outcome outcome = Outcome::kNoSolution;
  std::vector<double> x;
  double objective = 0;  // of x
  double bound = 0;      // proven lower bound: the LP relaxation's, or within relative_gap
  // kOptimal: proven optimal, or within relative_gap (then gap says how close).
  double gap = 0;  // (objective - bound) / max(1e-9, |objective|)
  double seconds = 0;
  int64_t nodes = 0;
  bool time_limit_hit = false;
};

// Internal on solver failure (with CBC's message); an infeasible problem is not an error.
Result<MilpSolution> SolveMilp(const MilpProblem& p, const MilpOptions& o = {});

}  // namespace dim
