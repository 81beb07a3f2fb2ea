// One HTTP header as a value: the small type that paging state, resume tokens and the page translator share
// without depending on the transport.
#ifndef PCUSAGE_SERVER_HTTP_HTTP_HEADER_H_
#define PCUSAGE_SERVER_HTTP_HTTP_HEADER_H_

#include <string>

namespace pcusage::http {

struct HttpHeader {
  std::string name;
  std::string value;

  friend bool operator==(const HttpHeader& a, const HttpHeader& b) { return a.name == b.name && a.value == b.value; }
};

}  // namespace pcusage::http

#endif  // PCUSAGE_SERVER_HTTP_HTTP_HEADER_H_
