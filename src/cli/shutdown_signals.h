// The signals that ask a `dim` process to shut down cleanly (SIGINT, SIGTERM, SIGHUP).
// Block them in every thread before any thread starts, then take them with sigwait or
// sigtimedwait on the main thread.
#pragma once

#include <signal.h>

namespace dim {

// Blocks the shutdown signals for the calling thread (and threads it starts later) and returns
// the set to wait on.
sigset_t BlockShutdownSignals();

}  // namespace dim
