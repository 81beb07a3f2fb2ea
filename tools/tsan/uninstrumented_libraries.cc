// What ThreadSanitizer is told about the rest of Debian's uninstrumented libraries (TSan builds only; tools/tsan/BUILD).
// TSan still intercepts what they call (malloc, memcpy, send), but cannot see how they synchronize (their own atomics
// and locks), so a buffer gRPC hands from one of its threads to another looks like a race on every call. Each entry
// stops TSan from recording the intercepted calls made from inside that library ("called_from_lib"); races in this
// repository's code, and on memory it shares with these libraries through its own synchronization, are still seen.
#include "absl/synchronization/mutex.h"

extern "C" const char* __tsan_default_suppressions() {
  return
      // gRPC core and its C++ layer: completion queues, the HTTP/2 transport and its executor threads hand slices,
      // statuses and call state between threads through gpr atomics and combiners.
      "called_from_lib:libgrpc.so\n"
      "called_from_lib:libgrpc++.so\n"
      "called_from_lib:libgpr.so\n"
      "called_from_lib:libaddress_sorting.so\n"
      "called_from_lib:libupb.so\n"
      // Protobuf: its descriptor pools and generated-code defaults are built lazily under its own once-flags.
      "called_from_lib:libprotobuf.so\n"
      // OpenSSL (gRPC's TLS, libcurl's, Redis's): its objects are reference-counted with atomics of its own, so one
      // freed on another thread than the one that last locked it looks like a race on its lock.
      "called_from_lib:libssl.so\n"
      "called_from_lib:libcrypto.so\n"
      // Abseil's compiled parts synchronize with spin locks and atomics of their own (absl::Status's shared rep,
      // which gRPC copies across threads; the random-number pool); its mutex is annotated in
      // absl_sync_annotations.cc instead.
      "called_from_lib:libabsl_base.so\n"
      "called_from_lib:libabsl_spinlock_wait.so\n"
      "called_from_lib:libabsl_malloc_internal.so\n"
      "called_from_lib:libabsl_raw_logging_internal.so\n"
      "called_from_lib:libabsl_synchronization.so\n"
      "called_from_lib:libabsl_graphcycles_internal.so\n"
      "called_from_lib:libabsl_status.so\n"
      "called_from_lib:libabsl_statusor.so\n"
      "called_from_lib:libabsl_cord.so\n"
      "called_from_lib:libabsl_cord_internal.so\n"
      "called_from_lib:libabsl_cordz_info.so\n"
      "called_from_lib:libabsl_cordz_handle.so\n"
      "called_from_lib:libabsl_cordz_functions.so\n"
      "called_from_lib:libabsl_random_internal_pool_urbg.so\n"
      "called_from_lib:libabsl_time_zone.so\n"
      "called_from_lib:libabsl_strings.so\n"
      "called_from_lib:libabsl_str_format_internal.so\n"
      // gRPC C++'s interceptor machinery is inline header code, so it is instrumented here, but gRPC runs a call's
      // interceptors and destroys them on whichever thread its call combiner picks, ordered by that combiner,
      // which TSan cannot see. Races whose stack passes through it are not reported (this repository's two
      // interceptors share state between calls only under an absl::Mutex or in atomics, which TSan does see).
      "race:grpc::internal::InterceptorBatchMethodsImpl\n"
      // The zero-copy slices of a ListUsageRecords message (usage_records_service.cc, ToByteBuffer) are made on the
      // handler's thread and released by gRPC, through its atomic slice refcount, on whichever thread sent them.
      "race:ToByteBuffer\n";
}

namespace {

// Abseil's mutex deadlock detector (on in Debian's build) keeps a global graph under a spin lock TSan cannot see;
// TSan has deadlock detection of its own, so the Abseil one is turned off before main.
[[maybe_unused]] const bool kAbseilDeadlockDetectionOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();

}  // namespace
