// Timestamps as RFC 3339 text, shared by the text renderings of records (record_format.cc, record_json.cc,
// record_csv.cc).
#ifndef PCUSAGE_CLIENT_STUBS_CPP_RFC3339_H_
#define PCUSAGE_CLIENT_STUBS_CPP_RFC3339_H_

#include <string>

#include "google/protobuf/timestamp.pb.h"

namespace pcusage::client {

// Appends `time` in UTC as protobuf's JSON printer writes it ("2019-05-29T20:04:58.059183600Z": no fraction, or 3, 6
// or 9 digits of one). False, with `out` unchanged, outside years 1-9999 or with nanos outside 0-999999999.
bool AppendRfc3339(const google::protobuf::Timestamp& time, std::string* out);

}  // namespace pcusage::client

#endif  // PCUSAGE_CLIENT_STUBS_CPP_RFC3339_H_
