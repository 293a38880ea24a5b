// The gateway's S3 key pair. Unless the configuration names one, the first start writes a random
// pair to DATA_DIR/s3-credentials (mode 0600) as two lines, `aws_access_key_id=…` and
// `aws_secret_access_key=…`; later starts read it back.
#pragma once

#include <string>

#include "core/status.h"
#include "storage/s3/sigv4.h"

namespace dim {

// Reads the file, creating it when missing. Refuses a file others can read, or one without both
// lines.
Result<sigv4::Credentials> LoadOrCreateS3Credentials(const std::string& path);

}  // namespace dim
