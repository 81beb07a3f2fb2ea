// The body of POST /emulator/dataset: a JSON array of edits to the generated data set (dataset.h's RecordEdit), so
// that a test can change what the next walk of the usage route lists. The format is in tests/emulator/README.md.
#ifndef PCUSAGE_TESTS_EMULATOR_RECORD_EDITS_H_
#define PCUSAGE_TESTS_EMULATOR_RECORD_EDITS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/emulator/dataset.h"

namespace pcusage::emulator {

// INVALID_ARGUMENT, naming the edit by its index, for text that is not such an array: an edit without a
// "resource_id" string, an unknown field, "add" and "remove" both true, a number given other than as a string of
// JSON number text, or a field of another type.
absl::StatusOr<std::vector<RecordEdit>> ParseRecordEdits(absl::string_view json_text);

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_RECORD_EDITS_H_
