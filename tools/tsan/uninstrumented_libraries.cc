// What ThreadSanitizer is told about the rest of Debian's uninstrumented libraries (TSan builds only;
// tools/tsan/BUILD). TSan still intercepts what they call (malloc, memcpy, send), but cannot see how they synchronize
// (their own atomics and locks), so a buffer gRPC hands from one of its threads to another looks like a race on every
// call. Each entry stops TSan from recording the intercepted calls made from inside that library ("called_from_lib");
// races in this repository's code, and on memory it shares with these libraries through its own synchronization, are
// still seen.
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
      // The compiled parts of Abseil that have needed it (the others a test loads have shown no report): they
      // synchronize with spin locks and atomics of their own (absl::Status's shared rep, which gRPC copies across
      // threads; the random-number pool). Its mutex is annotated in absl_sync_annotations.cc instead.
      "called_from_lib:libabsl_base.so\n"
      "called_from_lib:libabsl_spinlock_wait.so\n"
      "called_from_lib:libabsl_malloc_internal.so\n"
      "called_from_lib:libabsl_raw_logging_internal.so\n"
      "called_from_lib:libabsl_synchronization.so\n"
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
      // Abseil's mutex deadlock detector (on in Debian's build, and the only one these mutexes have: TSan does not
      // know them as locks) keeps its graph under a spin lock of its own.
      "called_from_lib:libabsl_graphcycles_internal.so\n"
      // gRPC's own threads (its executor and timer threads) may still be ending when a process such as pcusage_cli
      // exits: a "thread leak" of gRPC's; threads this repository starts are still reported.
      "thread:grpc_core::Thread::Thread\n";
}
