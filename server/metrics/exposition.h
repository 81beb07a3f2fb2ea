// Counters, gauges and histograms rendered in the Prometheus text exposition format (version 0.0.4). Updates are
// lock-free atomics, safe from any thread; a family's label values are fixed when it is declared (a value outside
// the set is counted as "other"), so nothing a caller sends can add a series. A Registry renders every family it holds.
#ifndef PCUSAGE_SERVER_METRICS_EXPOSITION_H_
#define PCUSAGE_SERVER_METRICS_EXPOSITION_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace pcusage::metrics {

// The value every label of a family may also take: where values outside its declared set are counted.
inline constexpr char kOtherLabelValue[] = "other";

// A value that only goes up.
class Counter {
 public:
  void Increment() { Add(1); }
  // `amount` must not be negative (a negative one is ignored).
  void Add(double amount);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted in fixed buckets (upper bounds, ascending; +Inf is implied), with their sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Observations in each bucket on its own (not cumulative): bounds().size() + 1 of them, the last above every bound.
  std::vector<uint64_t> BucketCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// A label of a family and every value it may take.
struct LabelSpec {
  std::string name;
  std::vector<std::string> values;  // kOtherLabelValue is added when missing
};

enum class MetricType { kCounter, kGauge, kHistogram };

// One metric name with its series, one per combination of label values, made when the family is declared. A series
// appears in the exposition once it has been looked up (or always, for a family without labels).
template <typename Metric>
class Family {
 public:
  // The series of these label values, in the order the labels were declared; a value outside a label's set is
  // that label's "other". A wrong number of values yields the all-"other" series.
  Metric& Labels(std::initializer_list<absl::string_view> values);
  // The family without labels: its one series.
  Metric& Get() { return Labels({}); }

 private:
  friend class Registry;
  struct Series {
    explicit Series(const std::vector<double>& bounds);
    Metric metric;
    std::atomic<bool> shown{false};
  };
  Family(std::string name, std::string help, std::vector<LabelSpec> labels, const std::vector<double>& bounds);
  std::size_t IndexOf(std::initializer_list<absl::string_view> values) const;
  // name="value",... of the series at `index`, escaped; empty for a family without labels.
  std::string LabelsText(std::size_t index) const;
  void Render(MetricType type, std::string& out) const;

  std::string name_;
  std::string help_;
  std::vector<LabelSpec> labels_;
  std::vector<std::unique_ptr<Series>> series_;  // row-major over labels_, the last label varying fastest
};

// Holds families and renders them, in the order they were added.
class Registry {
 public:
  // INVALID_ARGUMENT for a name that is not a Prometheus metric name (a counter's must end in "_total"), a label
  // name that is not a label name (or is reserved: "le", leading "__"), a name already taken, histogram bounds that
  // are empty, not finite or not ascending, or more than 4096 series in the family.
  absl::StatusOr<Family<Counter>*> AddCounter(std::string name, std::string help, std::vector<LabelSpec> labels = {});
  absl::StatusOr<Family<Gauge>*> AddGauge(std::string name, std::string help, std::vector<LabelSpec> labels = {});
  absl::StatusOr<Family<Histogram>*> AddHistogram(std::string name, std::string help, std::vector<double> bounds,
                                                  std::vector<LabelSpec> labels = {});

  // Every family as Prometheus text: "# HELP", "# TYPE", then its series; histograms as cumulative
  // name_bucket{le="..."} lines ending with le="+Inf", then name_sum and name_count.
  std::string Render() const;

 private:
  template <typename Metric>
  absl::StatusOr<Family<Metric>*> Add(MetricType type, std::string name, std::string help,
                                      std::vector<LabelSpec> labels, std::vector<double> bounds);

  mutable absl::Mutex mu_;
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Family<Counter>>> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_ ABSL_GUARDED_BY(mu_);
  struct Entry {
    MetricType type;
    std::size_t index;
  };
  std::vector<Entry> order_ ABSL_GUARDED_BY(mu_);
};

// A label value as it appears between the quotes: backslash, double quote and newline escaped.
std::string EscapeLabelValue(absl::string_view value);

// A sample value: integers without a fraction, others in the shortest form that reads back the same; +Inf, -Inf,
// NaN.
std::string FormatValue(double value);

}  // namespace pcusage::metrics

#endif  // PCUSAGE_SERVER_METRICS_EXPOSITION_H_
