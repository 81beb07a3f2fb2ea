// The faults that change what a reply says: http_status, throttle, truncated_json, invalid_json, html, wrong_types and
// loop_next (see fault_script.h), on a usage-records page or a token response. The faults that change how a reply is
// sent are delivery's (delivery.h).
#ifndef PCUSAGE_TESTS_EMULATOR_CONTENT_FAULTS_H_
#define PCUSAGE_TESTS_EMULATOR_CONTENT_FAULTS_H_

#include "tests/emulator/reply.h"

namespace pcusage::emulator {

// Spoils `reply` as its fault rule says; a delivery fault leaves it as it is. Requires `reply.fault`, and for
// loop_next `reply.page`.
void ApplyContentFault(Reply& reply);

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_CONTENT_FAULTS_H_
