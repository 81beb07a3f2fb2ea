// SIGINT and SIGTERM for a process that drains before it exits: block them in every thread at start, then wait for
// one on a thread of its own.
#ifndef PCUSAGE_SERVER_COMMON_STOP_SIGNALS_H_
#define PCUSAGE_SERVER_COMMON_STOP_SIGNALS_H_

namespace pcusage {

// Blocks SIGINT and SIGTERM in the calling thread; call it before any thread starts so that every thread inherits
// the mask and the signals wait for WaitForStopSignal.
void BlockStopSignals();

// Waits for SIGINT or SIGTERM (blocked by BlockStopSignals) and returns its number.
int WaitForStopSignal();

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_STOP_SIGNALS_H_
