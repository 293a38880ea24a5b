#include "storage/s3/s3_xml.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <pugixml.hpp>

#include "storage/s3/sigv4.h"

namespace dim::s3 {
namespace {

bool Load(pugi::xml_document& doc, std::string_view xml) {
  if (xml.empty()) return false;
  auto r = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  return static_cast<bool>(r);
}

std::string Text(const pugi::xml_node& n, const char* child) {
  return n.child(child).text().as_string();
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<ErrorDocument> ParseError(std::string_view xml) {
  pugi::xml_document doc;
  if (!Load(doc, xml)) return std::nullopt;
  pugi::xml_node e = doc.child("Error");
  if (!e) return std::nullopt;
  ErrorDocument d;
  d.code = Text(e, "Code");
  d.message = Text(e, "Message");
  d.request_id = Text(e, "RequestId");
  d.endpoint = Text(e, "Endpoint");
  if (d.code.empty()) return std::nullopt;
  return d;
}

std::optional<int64_t> ParseIso8601Ms(std::string_view s) {
  int y, mo, d, h, mi;
  double sec;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = 0;
  time_t t = timegm(&tm);
  return static_cast<int64_t>(t) * 1000 + static_cast<int64_t>(sec * 1000);
}

Result<ListResult> ParseListBucketResult(std::string_view xml) {
  pugi::xml_document doc;
  if (!Load(doc, xml)) return Status::InvalidArgument("list response is not XML");
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) return Status::InvalidArgument("list response has no ListBucketResult");
  const bool url_encoded = Text(root, "EncodingType") == "url";
  auto decode = [&](const std::string& v) -> Result<std::string> {
    if (!url_encoded) return v;
    // S3's url encoding uses '+' for spaces in keys.
    std::string plus_fixed;
    for (char c : v) plus_fixed += (c == '+') ? std::string("%20") : std::string(1, c);
    return sigv4::UriDecode(plus_fixed);
  };
  ListResult out;
  std::string truncated = Text(root, "IsTruncated");
  out.truncated = truncated == "true";
  std::string next = Text(root, "NextContinuationToken");
  if (next.empty()) {
    DIM_ASSIGN_OR_RETURN(next, decode(Text(root, "NextMarker")));
  }
  out.next_marker = next;
  for (pugi::xml_node c : root.children("Contents")) {
    ObjectInfo info;
    if (!c.child("Key")) return Status::InvalidArgument("list entry without Key");
    DIM_ASSIGN_OR_RETURN(info.name, decode(Text(c, "Key")));
    std::string size = Text(c, "Size");
    char* end = nullptr;
    long long n = std::strtoll(size.c_str(), &end, 10);
    if (size.empty() || *end != '\0' || n < 0) {
      return Status::InvalidArgument("list entry " + info.name + " has a bad Size '" + size + "'");
    }
    info.size = n;
    info.mtime_ms = ParseIso8601Ms(Text(c, "LastModified")).value_or(0);
    info.etag = Text(c, "ETag");
    if (info.etag.size() >= 2 && info.etag.front() == '"' && info.etag.back() == '"') {
      info.etag = info.etag.substr(1, info.etag.size() - 2);
    }
    out.items.push_back(std::move(info));
  }
  return out;
}

Result<std::string> ParseInitiateMultipartUpload(std::string_view xml) {
  pugi::xml_document doc;
  if (!Load(doc, xml)) return Status::InvalidArgument("CreateMultipartUpload response is not XML");
  std::string id = Text(doc.child("InitiateMultipartUploadResult"), "UploadId");
  if (id.empty()) return Status::InvalidArgument("CreateMultipartUpload response has no UploadId");
  return id;
}

Result<std::string> ParseCompleteMultipartUpload(std::string_view xml) {
  if (auto e = ParseError(xml)) {
    std::string msg = "CompleteMultipartUpload failed: " + e->code + ": " + e->message;
    if (e->code == "InternalError" || e->code == "SlowDown" || e->code == "ServiceUnavailable") {
      return Status::Unavailable(msg);
    }
    return Status::InvalidArgument(msg);
  }
  pugi::xml_document doc;
  if (!Load(doc, xml))
    return Status::InvalidArgument("CompleteMultipartUpload response is not XML");
  pugi::xml_node root = doc.child("CompleteMultipartUploadResult");
  if (!root) return Status::InvalidArgument("CompleteMultipartUpload response has no result");
  std::string etag = Text(root, "ETag");
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    etag = etag.substr(1, etag.size() - 2);
  return etag;
}

std::string CompleteMultipartUploadXml(const std::vector<CompletedPart>& parts) {
  std::string out = "<CompleteMultipartUpload>";
  for (const auto& p : parts) {
    std::string etag = p.etag;
    if (etag.empty() || etag.front() != '"') etag = "\"" + etag + "\"";
    out += "<Part><PartNumber>" + std::to_string(p.part_number) + "</PartNumber><ETag>" +
           XmlEscape(etag) + "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string CreateBucketConfigurationXml(const std::string& region) {
  return "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<LocationConstraint>" +
         XmlEscape(region) + "</LocationConstraint></CreateBucketConfiguration>";
}

}  // namespace dim::s3
