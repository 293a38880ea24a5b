// A small writer for the XML bodies the gateway sends: elements and escaped text, nothing else.
// Text that is not valid XML 1.0 (control characters, malformed UTF-8) is replaced by U+FFFD, so
// the output always parses. Not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dim {

// &, <, >, " and ' escaped; invalid characters replaced by U+FFFD.
std::string XmlEscape(std::string_view text);

class XmlWriter {
 public:
  // Starts the document with the XML declaration.
  XmlWriter();
  using Attributes = std::vector<std::pair<std::string_view, std::string_view>>;
  // <name xmlns="...">; xmlns omitted when empty.
  XmlWriter& Open(std::string_view name, std::string_view xmlns = {});
  // <name a="v" ...>.
  XmlWriter& OpenWith(std::string_view name, const Attributes& attributes);
  // Closes the innermost open element.
  XmlWriter& Close();
  // <name>text</name>.
  XmlWriter& Element(std::string_view name, std::string_view text);
  XmlWriter& ElementWith(std::string_view name, const Attributes& attributes,
                         std::string_view text);
  XmlWriter& Number(std::string_view name, int64_t value);
  XmlWriter& Bool(std::string_view name, bool value);
  // Closes what is still open and returns the document.
  std::string Finish();

 private:
  std::string out_;
  std::vector<std::string> open_;
};

}  // namespace dim
