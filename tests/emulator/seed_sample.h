// The seed sample: Partner Center's documented "get usage records for all
// customers" response, embedded byte for byte from
// tests/emulator/data/sample-usagerecords-response.json at build time.
#ifndef PCUSAGE_TESTS_EMULATOR_SEED_SAMPLE_H_
#define PCUSAGE_TESTS_EMULATOR_SEED_SAMPLE_H_

#include "absl/strings/string_view.h"

namespace pcusage::emulator {

// The sample response body, exactly as the file holds it.
absl::string_view SeedSampleResponse();

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_SEED_SAMPLE_H_
