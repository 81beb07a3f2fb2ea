#include "server/partner_center/renumbered_pages.h"

#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace pcusage::partner_center {
namespace {

// Two pages numbered 0 and 1, then an error; counts cancels.
class TwoPagesThenAnError final : public PageSource {
 public:
  absl::StatusOr<std::optional<FetchedPage>> Next() override {
    if (served_ == 2) return absl::UnavailableError("gone");
    FetchedPage page;
    page.index_in_walk = served_++;
    return std::optional<FetchedPage>(std::move(page));
  }
  void Cancel() override { ++*cancels_; }
  bool NextIsReady() override { return true; }

  std::shared_ptr<int> cancels_ = std::make_shared<int>(0);
  int served_ = 0;
};

TEST(RenumberedPagesTest, NumbersPagesOnAndPassesErrorsAndCancelsThrough) {
  auto inner = std::make_unique<TwoPagesThenAnError>();
  const std::shared_ptr<int> cancels = inner->cancels_;
  RenumberedPages pages(std::move(inner), 7);
  EXPECT_TRUE(pages.NextIsReady());
  std::vector<int64_t> indexes;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::optional<FetchedPage>> page = pages.Next();
    ASSERT_TRUE(page.ok() && page->has_value());
    indexes.push_back((*page)->index_in_walk);
  }
  EXPECT_EQ(indexes, (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(pages.Next().status().code(), absl::StatusCode::kUnavailable);
  pages.Cancel();
  EXPECT_EQ(*cancels, 1);
}

}  // namespace
}  // namespace pcusage::partner_center
