#include "bus/access_event.h"

namespace dim {

std::string_view AccessOpName(AccessOp op) {
  switch (op) {
    case AccessOp::kGet: return "get";
    case AccessOp::kPut: return "put";
    case AccessOp::kHead: return "head";
    case AccessOp::kDelete: return "delete";
    case AccessOp::kCopy: return "copy";
    case AccessOp::kList: return "list";
  }
  return "get";
}

std::optional<AccessOp> ParseAccessOp(std::string_view s) {
  if (s == "get" || s == "read" || s == "GET") return AccessOp::kGet;
  if (s == "put" || s == "write" || s == "PUT") return AccessOp::kPut;
  if (s == "head" || s == "HEAD") return AccessOp::kHead;
  if (s == "delete" || s == "DELETE") return AccessOp::kDelete;
  if (s == "copy" || s == "COPY") return AccessOp::kCopy;
  if (s == "list" || s == "LIST") return AccessOp::kList;
  return std::nullopt;
}

}  // namespace dim
