#include "store/records.h"

namespace dim {

std::string_view ReplicaStateName(ReplicaState s) {
  switch (s) {
    case ReplicaState::kLive: return "live";
    case ReplicaState::kRetiring: return "retiring";
    case ReplicaState::kDeleting: return "deleting";
  }
  return "live";
}

std::optional<ReplicaState> ParseReplicaState(std::string_view s) {
  if (s == "live") return ReplicaState::kLive;
  if (s == "retiring") return ReplicaState::kRetiring;
  if (s == "deleting") return ReplicaState::kDeleting;
  return std::nullopt;
}

std::string_view TaskKindName(TaskKind k) { return k == TaskKind::kCopy ? "copy" : "delete"; }

std::string_view TaskStatusName(TaskStatus s) {
  switch (s) {
    case TaskStatus::kQueued: return "queued";
    case TaskStatus::kRunning: return "running";
    case TaskStatus::kDone: return "done";
    case TaskStatus::kFailed: return "failed";
    case TaskStatus::kCancelled: return "cancelled";
  }
  return "queued";
}

std::optional<TaskStatus> ParseTaskStatus(std::string_view s) {
  if (s == "queued") return TaskStatus::kQueued;
  if (s == "running") return TaskStatus::kRunning;
  if (s == "done") return TaskStatus::kDone;
  if (s == "failed") return TaskStatus::kFailed;
  if (s == "cancelled") return TaskStatus::kCancelled;
  return std::nullopt;
}

}  // namespace dim
