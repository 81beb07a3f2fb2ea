// What the emulator's request log keeps of a request, before its reply is known: method, path, raw query and the
// headers the client sent, with nothing secret from a token request.
#ifndef PCUSAGE_TESTS_EMULATOR_REQUEST_RECORD_H_
#define PCUSAGE_TESTS_EMULATOR_REQUEST_RECORD_H_

#include "httplib.h"
#include "tests/emulator/emulator_records.h"

namespace pcusage::emulator {

// The log entry of `request`, with header names lowercased and repeated headers joined, leaving status, page, fault
// and completed to the reply. For a token request the query and any Authorization header read "[redacted]", since
// a client might put its refresh token or secret there; the body, where they belong, is never logged.
RecordedRequest RecordRequest(const httplib::Request& request, bool token_request);

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_REQUEST_RECORD_H_
