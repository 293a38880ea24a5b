// The chaos API: inject faults into sites at run time. Every change is stored through the
// ChaosController (so all processes see it) with an audit record, and needs the bearer token.
//   GET  /chaos/status             every site's chaos
//   POST /chaos/fail/{name}        every call to the site fails (Unavailable, naming it)
//   POST /chaos/recover/{name}     ends the failure (latency, throttling, corruption stay)
//   POST /chaos/clear              removes all chaos from all sites
//   POST /chaos/latency            {"ms": N, "site": "aws"}  (no site: every site; 0 removes)
//   POST /chaos/throttle           {"fraction": 0.3, "kind": "503"|"429"|"SlowDown", "site": ...}
//   POST /chaos/corrupt            {"fraction": 0.001, "site": ...}  of the bytes read
#pragma once

#include <memory>

#include "api/api_server.h"
#include "storage/chaos_state.h"

namespace dim {

// Registers the routes on `api` (before Start). Sites are those of api.context().sites.
void RegisterChaosRoutes(ApiServer& api, std::shared_ptr<ChaosController> chaos);

}  // namespace dim
