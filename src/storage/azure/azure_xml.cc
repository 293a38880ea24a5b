#include "storage/azure/azure_xml.h"

#include <curl/curl.h>

#include <pugixml.hpp>

#include "core/checksum.h"

namespace dim::azure {
namespace {

bool Load(pugi::xml_document& doc, std::string_view xml) {
  if (xml.empty()) return false;
  // Azure prefixes its documents with a UTF-8 byte order mark; pugixml skips it.
  return static_cast<bool>(
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8));
}

std::string Text(const pugi::xml_node& n, const char* child) {
  return n.child(child).text().as_string();
}

}  // namespace

std::optional<ErrorDocument> ParseError(std::string_view xml) {
  pugi::xml_document doc;
  if (!Load(doc, xml)) return std::nullopt;
  pugi::xml_node e = doc.child("Error");
  if (!e || Text(e, "Code").empty()) return std::nullopt;
  return ErrorDocument{Text(e, "Code"), Text(e, "Message")};
}

Result<BlobList> ParseBlobList(std::string_view xml) {
  pugi::xml_document doc;
  if (!Load(doc, xml)) return Status::InvalidArgument("list response is not XML");
  pugi::xml_node root = doc.child("EnumerationResults");
  if (!root) return Status::InvalidArgument("list response has no EnumerationResults");
  BlobList out;
  out.next_marker = Text(root, "NextMarker");
  for (pugi::xml_node b : root.child("Blobs").children("Blob")) {
    ObjectInfo info;
    if (!b.child("Name")) return Status::InvalidArgument("list entry without Name");
    info.name = Text(b, "Name");
    pugi::xml_node p = b.child("Properties");
    std::string len = Text(p, "Content-Length");
    char* end = nullptr;
    long long n = std::strtoll(len.c_str(), &end, 10);
    if (len.empty() || *end != '\0' || n < 0) {
      return Status::InvalidArgument("list entry " + info.name + " has a bad Content-Length '" +
                                     len + "'");
    }
    info.size = n;
    std::string lm = Text(p, "Last-Modified");
    time_t t = lm.empty() ? -1 : curl_getdate(lm.c_str(), nullptr);
    info.mtime_ms = t > 0 ? static_cast<int64_t>(t) * 1000 : 0;
    std::string md5_b64 = Text(p, "Content-MD5"), raw;
    if (!md5_b64.empty() && Base64Decode(md5_b64, &raw) && raw.size() == 16)
      info.etag = HexEncode(raw);
    out.items.push_back(std::move(info));
  }
  return out;
}

std::string BlockListXml(const std::vector<std::string>& block_ids) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
  for (const auto& id : block_ids)
    out += "<Latest>" + id + "</Latest>";  // base64: no escaping needed
  out += "</BlockList>";
  return out;
}

}  // namespace dim::azure
