#include "gateway/s3_request_bodies.h"

#include <charconv>
#include <cstring>
#include <pugixml.hpp>

namespace dim {
namespace {

// The element's name without a namespace prefix.
std::string_view LocalName(const pugi::xml_node& n) {
  std::string_view name = n.name();
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node Child(const pugi::xml_node& n, std::string_view name) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && LocalName(c) == name) return c;
  }
  return {};
}

S3Result<pugi::xml_node> LoadRoot(pugi::xml_document& doc, std::string_view xml,
                                  std::string_view root_name) {
  if (xml.size() > kMaxXmlBodyBytes) {
    return S3Error(S3Code::kMalformedXML, "the XML body is larger than 4 MiB");
  }
  pugi::xml_parse_result r =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r) {
    return S3Error(S3Code::kMalformedXML,
                   std::string("The XML you provided was not well-formed: ") + r.description() +
                       " at offset " + std::to_string(r.offset));
  }
  pugi::xml_node root = doc.document_element();
  if (!root || LocalName(root) != root_name) {
    return S3Error(S3Code::kMalformedXML, "expected a <" + std::string(root_name) + "> document");
  }
  return root;
}

}  // namespace

S3Result<std::vector<CompletedPart>> ParseCompleteMultipartUpload(std::string_view xml) {
  pugi::xml_document doc;
  DIM_S3_ASSIGN_OR_RETURN(pugi::xml_node root, LoadRoot(doc, xml, "CompleteMultipartUpload"));
  std::vector<CompletedPart> parts;
  for (pugi::xml_node p = root.first_child(); p; p = p.next_sibling()) {
    if (p.type() != pugi::node_element) continue;
    if (LocalName(p) != "Part") {
      return S3Error(S3Code::kMalformedXML, "unexpected element <" + std::string(p.name()) + ">");
    }
    if (parts.size() >= 10000) return S3Error(S3Code::kMalformedXML, "more than 10000 parts");
    pugi::xml_node num = Child(p, "PartNumber"), etag = Child(p, "ETag");
    if (!num || !etag)
      return S3Error(S3Code::kMalformedXML, "every <Part> needs PartNumber and ETag");
    const char* text = num.child_value();
    int n = 0;
    auto [end, ec] = std::from_chars(text, text + std::strlen(text), n);
    if (ec != std::errc() || *end != '\0') {
      return S3Error(S3Code::kMalformedXML, "PartNumber is not an integer");
    }
    if (n < 1 || n > 10000) {
      return S3Error(S3Code::kInvalidArgument,
                     "Part number must be an integer between 1 and 10000, inclusive");
    }
    parts.push_back({n, etag.child_value()});
  }
  if (parts.empty()) {
    return S3Error(S3Code::kMalformedXML, "You must specify at least one part");
  }
  return parts;
}

S3Result<DeleteObjectsRequest> ParseDeleteObjects(std::string_view xml) {
  pugi::xml_document doc;
  DIM_S3_ASSIGN_OR_RETURN(pugi::xml_node root, LoadRoot(doc, xml, "Delete"));
  DeleteObjectsRequest out;
  for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    std::string_view name = LocalName(c);
    if (name == "Quiet") {
      std::string_view v = c.child_value();
      if (v != "true" && v != "false")
        return S3Error(S3Code::kMalformedXML, "Quiet must be true or false");
      out.quiet = v == "true";
    } else if (name == "Object") {
      pugi::xml_node key = Child(c, "Key");
      if (!key) return S3Error(S3Code::kMalformedXML, "every <Object> needs a <Key>");
      if (out.keys.size() >= kMaxDeleteKeys) {
        return S3Error(S3Code::kMalformedXML, "a DeleteObjects request may name at most 1000 keys");
      }
      out.keys.emplace_back(key.child_value());
    } else {
      return S3Error(S3Code::kMalformedXML, "unexpected element <" + std::string(c.name()) + ">");
    }
  }
  if (out.keys.empty()) return S3Error(S3Code::kMalformedXML, "no <Object> to delete");
  return out;
}

S3Result<std::string> ParseCreateBucketConfiguration(std::string_view xml) {
  bool blank = true;
  for (char c : xml) blank = blank && (c == ' ' || c == '\t' || c == '\r' || c == '\n');
  if (blank) return std::string();
  pugi::xml_document doc;
  DIM_S3_ASSIGN_OR_RETURN(pugi::xml_node root, LoadRoot(doc, xml, "CreateBucketConfiguration"));
  pugi::xml_node loc = Child(root, "LocationConstraint");
  return std::string(loc ? loc.child_value() : "");
}

}  // namespace dim
