// RawConnection: a plain TCP connection to a loopback port, for what httplib's client hides in the emulator's tests:
// exactly which bytes arrive before the connection closes, and a client that hangs up mid-response.
#ifndef PCUSAGE_TESTS_EMULATOR_RAW_CONNECTION_H_
#define PCUSAGE_TESTS_EMULATOR_RAW_CONNECTION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pcusage::emulator {

class RawConnection {
 public:
  // Connects to 127.0.0.1:`port`; a failed connection makes every Send fail.
  explicit RawConnection(int port);
  ~RawConnection();

  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Whether all of `data` was sent.
  bool Send(absl::string_view data);

  // Reads until `marker` has arrived, the peer closes the connection or 5 s pass without data; everything received
  // so far.
  std::string ReadUntil(absl::string_view marker);
  // Reads until the peer closes the connection or 5 s pass without data; everything received so far.
  std::string ReadAll();

  // Hangs up; idempotent.
  void Close();

 private:
  bool ReadMore();

  int fd_;
  bool connected_ = false;
  std::string received_;
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_RAW_CONNECTION_H_
