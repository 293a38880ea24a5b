// The XML documents of the Azure Blob REST API the Azure backend reads and writes (pugixml).
// Parsers never throw; malformed documents give InvalidArgument.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/object_store.h"

namespace dim::azure {

// <Error><Code>BlobNotFound</Code><Message>...</Message></Error>
struct ErrorDocument {
  std::string code;
  std::string message;
};
std::optional<ErrorDocument> ParseError(std::string_view xml);

// List Blobs: EnumerationResults/Blobs/Blob (Name, Properties/Content-Length, Last-Modified,
// Content-MD5 as hex in ObjectInfo::etag) and NextMarker.
struct BlobList {
  std::vector<ObjectInfo> items;
  std::string next_marker;
};
Result<BlobList> ParseBlobList(std::string_view xml);

// <BlockList><Latest>id</Latest>...</BlockList>
std::string BlockListXml(const std::vector<std::string>& block_ids);

}  // namespace dim::azure
