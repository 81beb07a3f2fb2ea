#include "tests/emulator/delivery.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "tests/emulator/fault_script.h"
#include "tests/emulator/page_edits.h"

namespace pcusage::emulator {
namespace {

// How often a paused body checks whether the client is still there.
constexpr absl::Duration kPauseStep = absl::Milliseconds(20);

// A response body made of `head`, `filler` 'x' characters that are never stored, and `tail`.
struct Body {
  std::string head;
  size_t filler = 0;
  std::string tail;

  size_t size() const { return head.size() + filler + tail.size(); }

  // Writes bytes [begin, end) to `sink`; false when the client does not take them.
  bool Write(size_t begin, size_t end, httplib::DataSink& sink) const {
    static const std::string* const kFillerBlock = new std::string(64 * 1024, 'x');
    while (begin < end) {
      absl::string_view piece;
      if (begin < head.size()) {
        piece = absl::string_view(head).substr(begin, end - begin);
      } else if (begin < head.size() + filler) {
        piece = absl::string_view(*kFillerBlock).substr(0, std::min(end, head.size() + filler) - begin);
      } else {
        piece = absl::string_view(tail).substr(begin - head.size() - filler, end - begin);
      }
      if (!sink.write(piece.data(), piece.size())) return false;
      begin += piece.size();
    }
    return true;
  }
};

using StopWaiter = std::function<bool(absl::Duration timeout)>;

bool Faulted(const Reply& reply, FaultKind kind) { return reply.fault.has_value() && reply.fault->kind == kind; }

// Waits `duration` in the middle of a body; false as soon as the emulator is stopping or the client has gone away.
bool PauseBody(absl::Duration duration, const StopWaiter& wait_for_stop, httplib::DataSink& sink) {
  const absl::Time end = absl::Now() + duration;
  for (absl::Time now = absl::Now(); now < end; now = absl::Now()) {
    if (wait_for_stop(std::min(end - now, kPauseStep)) || !sink.is_writable()) return false;
  }
  return true;
}

// The body of `reply`, taken out of it: its page, padded for huge_body.
std::shared_ptr<const Body> TakeBody(Reply& reply) {
  auto body = std::make_shared<Body>();
  if (Faulted(reply, FaultKind::kHugeBody)) {
    PaddedPage padded = PadPage(reply.body);
    body->head = std::move(padded.head);
    body->filler = static_cast<size_t>(reply.fault->padding_bytes);
    body->tail = std::move(padded.tail);
  } else {
    body->head = std::move(reply.body);
  }
  return body;
}

// slow_body: chunked transfer in about duration / chunk_interval chunks, one every chunk_interval.
httplib::ContentProviderWithoutLength SlowBodyProvider(std::shared_ptr<const Body> body, const FaultRule& rule,
                                                       StopWaiter wait_for_stop) {
  const int64_t chunks = std::max<int64_t>(1, rule.duration / rule.chunk_interval);
  const size_t chunk_size = std::max<size_t>(1, (body->size() + chunks - 1) / static_cast<size_t>(chunks));
  const absl::Duration interval = rule.chunk_interval;
  return [body = std::move(body), chunk_size, interval, wait_for_stop = std::move(wait_for_stop)](
             size_t offset, httplib::DataSink& sink) {
    if (offset > 0 && !PauseBody(interval, wait_for_stop, sink)) return false;
    const size_t end = std::min(body->size(), offset + chunk_size);
    if (!body->Write(offset, end, sink)) return false;
    if (end == body->size()) sink.done();
    return true;
  };
}

// The body with its Content-Length: whole, paused at the half for stall_mid_body, or cut off there for
// reset_mid_body.
httplib::ContentProvider FixedLengthProvider(std::shared_ptr<const Body> body, const Reply& reply,
                                             StopWaiter wait_for_stop) {
  const size_t half = body->size() / 2;
  if (Faulted(reply, FaultKind::kStallMidBody)) {
    const absl::Duration delay = reply.fault->delay;
    return [body = std::move(body), half, delay, wait_for_stop = std::move(wait_for_stop)](size_t offset, size_t,
                                                                                           httplib::DataSink& sink) {
      if (offset < half) return body->Write(offset, half, sink);
      return PauseBody(delay, wait_for_stop, sink) && body->Write(offset, body->size(), sink);
    };
  }
  if (Faulted(reply, FaultKind::kResetMidBody)) {
    // Returning false at the half makes httplib close the connection short of the declared length.
    return [body = std::move(body), half](size_t offset, size_t, httplib::DataSink& sink) {
      return offset < half && body->Write(offset, half, sink);
    };
  }
  return [body = std::move(body)](size_t offset, size_t, httplib::DataSink& sink) {
    return body->Write(offset, body->size(), sink);
  };
}

}  // namespace

void Deliver(Reply reply, DeliveryHooks hooks, httplib::Response& response) {
  response.status = reply.status;
  for (const auto& [name, value] : reply.headers) response.set_header(name, value);
  if (Faulted(reply, FaultKind::kSlowFirstByte)) {
    // Stop cuts the wait short; the page follows either way.
    hooks.wait_for_stop(reply.fault->delay);
  }
  std::shared_ptr<const Body> body = TakeBody(reply);
  if (body->size() == 0) {
    response.set_content("", reply.content_type.c_str());
    hooks.done(true);
    return;
  }
  // httplib calls `done` once the response has been sent or abandoned, with whether the provider got to the end.
  if (Faulted(reply, FaultKind::kSlowBody)) {
    response.set_chunked_content_provider(
        reply.content_type, SlowBodyProvider(std::move(body), *reply.fault, std::move(hooks.wait_for_stop)),
        std::move(hooks.done));
    return;
  }
  const size_t length = body->size();
  response.set_content_provider(length, reply.content_type,
                                FixedLengthProvider(std::move(body), reply, std::move(hooks.wait_for_stop)),
                                std::move(hooks.done));
}

std::unique_ptr<httplib::Server> NewServer(const std::string& tls_cert_file, const std::string& tls_key_file) {
  std::unique_ptr<httplib::Server> server;
  if (!tls_cert_file.empty() && !tls_key_file.empty()) {
    server = std::make_unique<httplib::SSLServer>(tls_cert_file.c_str(), tls_key_file.c_str());
  } else {
    server = std::make_unique<httplib::Server>();
  }
  // httplib's default also sets SO_REUSEPORT, which would let two emulators
  // share a fixed port without an error.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Idle keep-alive connections hold up Stop() for at most this long.
  server->set_keep_alive_timeout(1);
  // Without it, Nagle's algorithm and delayed ACKs add ~40 ms to every page on a reused connection.
  server->set_tcp_nodelay(true);
  return server;
}

}  // namespace pcusage::emulator
