// Reply: what the emulator answers one request with, as a route decides it, before delivery (delivery.h) puts it on
// the wire; it carries the fault rule that answers the request, if one does, for delivery and the request log.
#ifndef PCUSAGE_TESTS_EMULATOR_REPLY_H_
#define PCUSAGE_TESTS_EMULATOR_REPLY_H_

#include <optional>
#include <string>
#include <utility>

#include "httplib.h"
#include "tests/emulator/fault_script.h"

namespace pcusage::emulator {

inline constexpr char kJsonContentType[] = "application/json; charset=utf-8";
inline constexpr char kTextContentType[] = "text/plain; charset=utf-8";
inline constexpr char kHtmlContentType[] = "text/html; charset=utf-8";

struct Reply {
  Reply() = default;
  Reply(int status, std::string content_type, std::string body)
      : status(status), content_type(std::move(content_type)), body(std::move(body)) {}

  int status = 200;
  std::string content_type;
  std::string body;
  // Headers beyond Content-Type and the echoed request ids.
  httplib::Headers headers;
  // The usage-records page and the rule that answers it, as the log keeps
  // them.
  std::optional<int> page;
  std::optional<FaultRule> fault;
};

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_REPLY_H_
