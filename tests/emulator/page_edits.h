// Edits to a page of usage records for the emulator's faults, made on the JSON text so that every byte outside the
// edit stays as it was: a client reads the other records of an edited page exactly as it would from the original.
// `page` is a JSON object as GeneratedDataset::RenderPage and the seed sample spell it: its "items", if any, is an
// array, its "links", if any, an object, and member names carry no escapes.
#ifndef PCUSAGE_TESTS_EMULATOR_PAGE_EDITS_H_
#define PCUSAGE_TESTS_EMULATOR_PAGE_EDITS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pcusage::emulator {

// The page with its first item's "totalCost" set to true; a page without items gets the one item
// {"totalCost": true}.
std::string WithWrongTypedCost(absl::string_view page);

// The page with links.next set to `next_link`, the JSON text of a link object.
std::string WithNextLink(absl::string_view page, absl::string_view next_link);

// The page cut in two around the value of a new first member "padding": head + "<value>" + tail is the page with a
// member "padding" holding <value>, a JSON string's contents.
struct PaddedPage {
  std::string head;
  std::string tail;
};
PaddedPage PadPage(absl::string_view page);

}  // namespace pcusage::emulator

#endif  // PCUSAGE_TESTS_EMULATOR_PAGE_EDITS_H_
