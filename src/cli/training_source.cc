#include "cli/training_source.h"

#include <filesystem>

#include "core/clock.h"
#include "core/progress_line.h"
#include "ml/store_history.h"
#include "replay/trace_reader.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {

namespace {

Result<int64_t> FeedTrace(const TrainingSource& src, DatasetBuilder& b, nlohmann::json& desc) {
  std::optional<TraceFormat> format;
  if (!src.format.empty()) {
    DIM_ASSIGN_OR_RETURN(format, ParseTraceFormat(src.format));
  }
  DIM_ASSIGN_OR_RETURN(auto reader, TraceReader::Open(src.trace, format));
  ProgressLine progress("reading " + src.trace, "MB", src.quiet);
  AccessEvent e;
  int64_t fed = 0, out_of_order = 0, last = 0;
  for (;;) {
    DIM_ASSIGN_OR_RETURN(bool more, reader->Next(&e));
    if (!more) break;
    if (fed > 0 && e.ts_ms < last) {
      // Traces are written in arrival order; lines up to a minute out of order are taken at
      // the time of the one before, anything worse means the file needs sorting.
      if (last - e.ts_ms > 60'000) {
        return Status::InvalidArgument(src.trace + ": line " + std::to_string(reader->lines()) +
                                       " is " + std::to_string((last - e.ts_ms) / 1000) +
                                       " s earlier than the line before; sort the trace by time");
      }
      ++out_of_order;
      e.ts_ms = last;
    }
    last = e.ts_ms;
    DIM_RETURN_IF_ERROR(b.Add(e));
    ++fed;
    if ((fed & 4095) == 0) {
      progress.Update(reader->bytes_read() / 1e6, reader->total_bytes() / 1e6,
                      std::to_string(fed) + " events", false);
    }
  }
  progress.Update(reader->total_bytes() / 1e6, reader->total_bytes() / 1e6,
                  std::to_string(fed) + " events", true);
  if (reader->bad_lines() > 0 && !src.quiet) {
    std::fprintf(stderr, "%s: skipped %lld malformed line(s) of %lld:\n", src.trace.c_str(),
                 static_cast<long long>(reader->bad_lines()),
                 static_cast<long long>(reader->lines()));
    for (const auto& err : reader->first_errors()) std::fprintf(stderr, "  %s\n", err.c_str());
  }
  if (out_of_order > 0 && !src.quiet) {
    std::fprintf(stderr, "%s: %lld event(s) earlier than the one before were taken at its time\n",
                 src.trace.c_str(), static_cast<long long>(out_of_order));
  }
  desc = {{"kind", "trace"},
          {"path", src.trace},
          {"format", TraceFormatName(reader->format())},
          {"lines", reader->lines()},
          {"events", fed},
          {"bad_lines", reader->bad_lines()}};
  return fed;
}

Result<int64_t> FeedStore(const TrainingSource& src, DatasetBuilder& b, nlohmann::json& desc) {
  namespace fs = std::filesystem;
  std::string path =
      src.store_path.empty() ? (fs::path(src.data_dir) / "dim.db").string() : src.store_path;
  if (!fs::exists(path)) {
    return Status::NotFound("no store at " + path +
                            " (point --data-dir at the data dir of `dim serve`, or train from "
                            "--trace FILE or --synthetic)");
  }
  DIM_ASSIGN_OR_RETURN(auto store, SqliteMetadataStore::Open(path));
  const int64_t now = RealClock::Instance().NowMs();
  const int64_t from = now - static_cast<int64_t>(src.history_days * 86400.0 * 1000.0);
  ProgressLine progress("reading the history in " + path, "hours", src.quiet);
  DIM_ASSIGN_OR_RETURN(
      int64_t n,
      FeedStoreHistory(*store, from, now, b, [&](int64_t done, int64_t total, int64_t ev) {
        progress.Update(static_cast<double>(done), static_cast<double>(total),
                        std::to_string(ev) + " events");
      }));
  desc = {{"kind", "store"}, {"path", path}, {"from_ms", from}, {"to_ms", now}, {"events", n}};
  return n;
}

}  // namespace

Result<SourceRows> BuildTrainingRows(const TrainingSource& src, const LabelSpec& label) {
  DatasetOptions o;
  o.label = label;
  o.step_s = src.step_s;
  DatasetBuilder b(o);
  SourceRows out;
  int64_t end_ms = 0;
  if (!src.trace.empty()) {
    DIM_ASSIGN_OR_RETURN(int64_t n, FeedTrace(src, b, out.source));
    (void)n;
  } else if (src.synthetic) {
    HotSetWorkload w(src.workload);
    auto events = w.Generate();
    ProgressLine progress("generating the workload", "events", src.quiet);
    for (size_t i = 0; i < events.size(); ++i) {
      DIM_RETURN_IF_ERROR(b.Add(events[i]));
      if ((i & 8191) == 0)
        progress.Update(static_cast<double>(i), static_cast<double>(events.size()));
    }
    progress.Update(static_cast<double>(events.size()), static_cast<double>(events.size()));
    end_ms = w.end_ms();
    out.source = {{"kind", "synthetic"},
                  {"objects", src.workload.objects},
                  {"days", src.workload.days},
                  {"seed", src.workload.seed},
                  {"events", events.size()}};
  } else {
    DIM_ASSIGN_OR_RETURN(int64_t n, FeedStore(src, b, out.source));
    if (n == 0) {
      return Status::InvalidArgument("the store's history has no accesses in the last " +
                                     std::to_string(src.history_days) +
                                     " days; run traffic first or train from --trace");
    }
    end_ms = out.source["to_ms"].get<int64_t>();
  }
  out.rows = b.Finish(end_ms);
  out.source["objects_seen"] = b.objects();
  out.source["step_s"] = src.step_s;
  if (out.rows.rows() == 0) {
    return Status::InvalidArgument(
        "no labelled rows: the data spans less than one step plus the horizon (" +
        std::to_string(src.step_s) + " s + " + std::to_string(label.horizon_s) +
        " s); use a longer history, a shorter --horizon or a smaller --step");
  }
  return out;
}

}  // namespace dim
