// Delivery: puts a Reply on the wire through cpp-httplib, with the faults that change how it is sent (slow_first_byte,
// stall_mid_body, reset_mid_body, huge_body and slow_body; see fault_script.h), and makes the httplib server, HTTP or
// HTTPS, that the emulator serves with.
#ifndef PCUSAGE_TESTS_EMULATOR_DELIVERY_H_
#define PCUSAGE_TESTS_EMULATOR_DELIVERY_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "httplib.h"
#include "tests/emulator/reply.h"

namespace pcusage::emulator {

// What delivery needs from the emulator while it sends a reply.
struct DeliveryHooks {
  // Waits up to `timeout`; true as soon as the emulator is stopping, which cuts every pause short.
  std::function<bool(absl::Duration timeout)> wait_for_stop;
  // Called once: with true when the whole body has been sent, false when the client went away or a fault cut the
  // body off.
  std::function<void(bool completed)> done;
};

// Sets `response` up to send `reply` and its headers. A body goes out through a content provider that httplib runs
// after the handler returns, and that gives up when the emulator stops or the client goes away; slow_first_byte waits
// here, in the handler.
void Deliver(Reply reply, DeliveryHooks hooks, httplib::Response& response);

// An httplib::SSLServer with the PEM files `tls_cert_file` and `tls_key_file` when both are set, else an
// httplib::Server. Either binds without SO_REUSEPORT, so that a busy port is an error, sends without Nagle's delay,
// and lets idle keep-alive connections hold up stopping for at most a second. An SSLServer whose files cannot be
// loaded is not is_valid().
std::unique_ptr<httplib::Server> NewServer(const std::string& tls_cert_file, const std::string& tls_key_file);

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_DELIVERY_H_
