#include "optimizer/cbc_milp.h"

#include <CbcModel.hpp>
#include <CbcSolver.hpp>
#include <CoinError.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

namespace dim {

int MilpProblem::AddColumn(double cost, double lb, double ub, bool is_integer) {
  obj.push_back(cost);
  col_lb.push_back(lb);
  col_ub.push_back(ub);
  integer.push_back(is_integer ? 1 : 0);
  return static_cast<int>(obj.size()) - 1;
}

int MilpProblem::AddRow(double lb, double ub) {
  row_lb.push_back(lb);
  row_ub.push_back(ub);
  return static_cast<int>(row_lb.size()) - 1;
}

void MilpProblem::Set(int row, int col, double value) {
  a_row.push_back(row);
  a_col.push_back(col);
  a_val.push_back(value);
}

namespace {

std::mutex& CbcMutex() {
  static std::mutex mu;
  return mu;
}

// CBC trusts a MIP start's objective as a cutoff; hand it only feasible ones.
bool StartIsFeasible(const MilpProblem& p) {
  constexpr double kTol = 1e-7;
  for (size_t c = 0; c < p.obj.size(); ++c) {
    double x = p.start[c];
    if (x < p.col_lb[c] - kTol || x > p.col_ub[c] + kTol) return false;
    if (p.integer[c] && std::abs(x - std::round(x)) > kTol) return false;
  }
  std::vector<double> act(p.row_lb.size(), 0.0);
  for (size_t k = 0; k < p.a_val.size(); ++k) act[p.a_row[k]] += p.a_val[k] * p.start[p.a_col[k]];
  for (size_t r = 0; r < act.size(); ++r) {
    double scale = std::max(1.0, std::abs(act[r]));
    if (act[r] < p.row_lb[r] - kTol * scale || act[r] > p.row_ub[r] + kTol * scale) return false;
  }
  return true;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Result<MilpSolution> SolveMilp(const MilpProblem& p, const MilpOptions& o) {
  const int ncols = static_cast<int>(p.obj.size());
  const int nrows = static_cast<int>(p.row_lb.size());
  if (p.col_lb.size() != p.obj.size() || p.col_ub.size() != p.obj.size() ||
      p.integer.size() != p.obj.size() || p.row_ub.size() != p.row_lb.size() ||
      p.a_col.size() != p.a_row.size() || p.a_val.size() != p.a_row.size() ||
      (!p.start.empty() && p.start.size() != p.obj.size())) {
    return Status::InvalidArgument("inconsistent MILP dimensions");
  }
  for (size_t i = 0; i < p.a_row.size(); ++i) {
    if (p.a_row[i] < 0 || p.a_row[i] >= nrows || p.a_col[i] < 0 || p.a_col[i] >= ncols) {
      return Status::InvalidArgument("MILP coefficient outside the matrix");
    }
  }
  MilpSolution out;
  if (ncols == 0) {
    out.outcome = MilpSolution::Outcome::kOptimal;
    for (int r = 0; r < nrows; ++r) {
      if (p.row_lb[r] > 1e-9 || p.row_ub[r] < -1e-9)
        out.outcome = MilpSolution::Outcome::kInfeasible;
    }
    return out;
  }
  std::lock_guard<std::mutex> lock(CbcMutex());
  const auto t0 = std::chrono::steady_clock::now();
  try {
    OsiClpSolverInterface solver;
    solver.messageHandler()->setLogLevel(0);
    solver.setHintParam(OsiDoReducePrint, true, OsiHintTry);
    auto inf = [&](double v) {
      return std::abs(v) >= kMilpInfinity ? std::copysign(solver.getInfinity(), v) : v;
    };
    std::vector<double> clb(p.col_lb), cub(p.col_ub), rlb(p.row_lb), rub(p.row_ub);
    for (auto* v : {&clb, &cub, &rlb, &rub}) {
      for (auto& x : *v) x = inf(x);
    }
    CoinPackedMatrix m(false, p.a_row.data(), p.a_col.data(), p.a_val.data(),
                       static_cast<CoinBigIndex>(p.a_val.size()));
    m.setDimensions(nrows, ncols);
    solver.loadProblem(m, clb.data(), cub.data(), p.obj.data(), rlb.data(), rub.data());
    for (int c = 0; c < ncols; ++c) {
      if (p.integer[c]) solver.setInteger(c);
    }
    // The LP relaxation first: its value is a proven lower bound whatever CBC does next (the
    // driver's own bound lives in its preprocessed model), and CBC starts from its basis.
    // The time limit covers it too: on a few hundred thousand columns the LP alone can take
    // minutes.
    if (o.time_limit_s > 0) solver.getModelPtr()->setMaximumWallSeconds(o.time_limit_s);
    solver.initialSolve();
    solver.getModelPtr()->setMaximumWallSeconds(-1);
    const bool lp_optimal = solver.isProvenOptimal();
    const double lp_bound = lp_optimal ? solver.getObjValue() : -kMilpInfinity;
    const bool start = !p.start.empty() && StartIsFeasible(p);
    double start_obj = 0;
    if (start) {
      for (int c = 0; c < ncols; ++c) start_obj += p.obj[c] * p.start[c];
    }
    const double remaining_s = o.time_limit_s - Seconds(t0);
    if (o.time_limit_s > 0 && remaining_s <= 0.01) {
      // Out of time in the LP: the start is the plan (if any), with whatever bound there is.
      out.time_limit_hit = true;
      if (start) {
        out.x = p.start;
        out.objective = start_obj;
        out.bound = std::min(lp_bound, start_obj);
        out.gap = std::max(0.0, start_obj - out.bound) / std::max(1e-9, std::abs(start_obj));
        out.outcome = MilpSolution::Outcome::kFeasible;
      } else {
        out.bound = lp_bound;
      }
      out.seconds = Seconds(t0);
      return out;
    }
    CbcModel model(solver);
    model.setLogLevel(0);
    model.messageHandler()->setLogLevel(0);
    model.solver()->messageHandler()->setLogLevel(0);
    model.setUseElapsedTime(true);
    if (o.full_driver) {
      // The `cbc` program's own driver: preprocessing, cuts, heuristics.
      CbcMain0(model);
      model.solver()->messageHandler()->setLogLevel(0);
      if (start) {
        std::vector<std::pair<std::string, double>> mip_start;
        mip_start.reserve(ncols);
        for (int c = 0; c < ncols; ++c)
          mip_start.emplace_back(model.solver()->getColName(c), p.start[c]);
        model.setMIPStart(mip_start);
      }
      char secs[32], ratio[32];
      std::snprintf(secs, sizeof secs, "%.6g", o.time_limit_s > 0 ? remaining_s : 1e9);
      std::snprintf(ratio, sizeof ratio, "%.12g", std::max(0.0, o.relative_gap));
      const char* argv[] = {"dim", "-log",   "0",   "-timeMode", "elapsed", "-sec",
                            secs,  "-ratio", ratio, "-solve",    "-quit"};
      CbcMain1(static_cast<int>(sizeof argv / sizeof argv[0]), argv, model);
    } else {
      if (o.time_limit_s > 0) model.setMaximumSeconds(remaining_s);
      if (o.relative_gap > 0) model.setAllowableFractionGap(o.relative_gap);
      // The LP first: a start given before would act as a cutoff and make an LP whose optimum
      // equals it look infeasible.
      model.initialSolve();
      if (!model.isInitialSolveProvenPrimalInfeasible() || start) {
        if (start) model.setBestSolution(p.start.data(), ncols, start_obj, true);
        model.branchAndBound();
      }
    }
    const double* x = model.bestSolution();
    // CBC 2.10 may drop a start and then report "infeasible" when nothing beats its cutoff: the
    // start is then the best there is (proven when the search finished).
    if (!x && start) x = p.start.data();
    out.nodes = model.getNodeCount();
    // A solve that overran its limit (CBC checks the clock between phases) is not trusted as
    // proven: with little time left its status has been seen to claim a gap that a plan from
    // another run beat.
    out.time_limit_hit =
        model.isSecondsLimitReached() || (o.time_limit_s > 0 && Seconds(t0) > o.time_limit_s);
    if (x) {
      out.x.assign(x, x + ncols);
      out.objective = 0;
      for (int c = 0; c < ncols; ++c) out.objective += p.obj[c] * out.x[c];
      // Nothing beat the start: it is optimal. CBC's "optimal" means within relative_gap of the
      // optimum (exact when that is 0); otherwise only the LP bound is proven.
      const bool start_won = x == p.start.data() && model.isProvenInfeasible();
      const bool finished = (start_won || model.isProvenOptimal()) && !out.time_limit_hit;
      double bound = lp_bound;
      if (finished) {
        bound = o.relative_gap <= 0
                    ? out.objective
                    : std::max(lp_bound, out.objective - o.relative_gap * std::abs(out.objective));
      }
      out.bound = std::min(bound, out.objective);
      out.gap = std::max(0.0, out.objective - out.bound) / std::max(1e-9, std::abs(out.objective));
      out.outcome = finished ? MilpSolution::Outcome::kOptimal : MilpSolution::Outcome::kFeasible;
    } else {
      out.outcome = model.isProvenInfeasible() || model.isInitialSolveProvenPrimalInfeasible() ||
                            solver.isProvenPrimalInfeasible()
                        ? MilpSolution::Outcome::kInfeasible
                        : MilpSolution::Outcome::kNoSolution;
      out.bound = lp_bound;
    }
  } catch (const CoinError& e) {
    return Status::Internal("CBC: " + e.className() + "::" + e.methodName() + ": " + e.message());
  } catch (const std::exception& e) {
    return Status::Internal(std::string("CBC: ") + e.what());
  }
  out.seconds = Seconds(t0);
  return out;
}

}  // namespace dim
