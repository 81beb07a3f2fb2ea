// Tells ThreadSanitizer of a handoff it cannot see: an object passed from one thread to another by gRPC (whose
// atomics and call combiner are not instrumented in Debian's build, tools/tsan), such as a zero-copy slice released
// on the thread that sent it, or an interceptor whose hooks run on different threads one at a time. The thread
// that hands `object` on calls HandedOff after its last access; the one that takes it calls TakenOver before its
// first. Nothing in other builds.
#ifndef PCUSAGE_SERVER_COMMON_HANDOFF_ANNOTATIONS_H_
#define PCUSAGE_SERVER_COMMON_HANDOFF_ANNOTATIONS_H_

#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
#endif

namespace pcusage {

inline void HandedOff([[maybe_unused]] const void* object) {
#ifdef __SANITIZE_THREAD__
  __tsan_release(const_cast<void*>(object));
#endif
}

inline void TakenOver([[maybe_unused]] const void* object) {
#ifdef __SANITIZE_THREAD__
  __tsan_acquire(const_cast<void*>(object));
#endif
}

}  // namespace pcusage

#endif  // PCUSAGE_SERVER_COMMON_HANDOFF_ANNOTATIONS_H_
