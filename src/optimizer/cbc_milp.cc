#include "optimizer/cbc_milp.h"

#include <CbcModel.hpp>
#include <CoinError.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>
#include <chrono>
#include <cmath>
#include <mutex>

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
    CbcModel model(solver);
    model.setLogLevel(0);
    model.messageHandler()->setLogLevel(0);
    model.solver()->messageHandler()->setLogLevel(0);
    if (o.time_limit_s > 0) model.setMaximumSeconds(o.time_limit_s);
    if (o.relative_gap > 0) model.setAllowableFractionGap(o.relative_gap);
    if (!p.start.empty()) {
      double v = 0;
      for (int c = 0; c < ncols; ++c) v += p.obj[c] * p.start[c];
      model.setBestSolution(p.start.data(), ncols, v, true);
    }
    model.initialSolve();
    if (model.isInitialSolveProvenPrimalInfeasible()) {
      out.outcome = MilpSolution::Outcome::kInfeasible;
    } else {
      model.branchAndBound();
      const double* x = model.bestSolution();
      if (x) {
        out.x.assign(x, x + ncols);
        out.objective = 0;
        for (int c = 0; c < ncols; ++c) out.objective += p.obj[c] * out.x[c];
        out.outcome = model.isProvenOptimal() ? MilpSolution::Outcome::kOptimal
                                              : MilpSolution::Outcome::kFeasible;
      } else {
        out.outcome = model.isProvenInfeasible() ? MilpSolution::Outcome::kInfeasible
                                                 : MilpSolution::Outcome::kNoSolution;
      }
      out.bound = model.getBestPossibleObjValue();
      out.nodes = model.getNodeCount();
      out.time_limit_hit = model.isSecondsLimitReached();
      if (x) {
        if (out.outcome == MilpSolution::Outcome::kOptimal) {
          out.bound = std::min(out.bound, out.objective);
          out.gap = 0;
        } else {
          out.gap =
              std::max(0.0, out.objective - out.bound) / std::max(1e-9, std::abs(out.objective));
        }
      }
    }
  } catch (const CoinError& e) {
    return Status::Internal("CBC: " + e.className() + "::" + e.methodName() + ": " + e.message());
  } catch (const std::exception& e) {
    return Status::Internal(std::string("CBC: ") + e.what());
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace dim
