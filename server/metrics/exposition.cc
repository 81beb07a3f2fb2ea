#include "server/metrics/exposition.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pcusage::metrics {
namespace {

constexpr std::size_t kMaxSeriesPerFamily = 4096;

void AtomicAdd(std::atomic<double>& target, double amount) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
  }
}

bool IsNameChar(char c, bool first, bool colon_allowed) {
  if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') return true;
  if (colon_allowed && c == ':') return true;
  return !first && absl::ascii_isdigit(static_cast<unsigned char>(c));
}

bool IsName(absl::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, colon_allowed)) return false;
  }
  return true;
}

// Backslash and newline escaped, and double quotes too when `quotes` (label values; HELP text keeps its quotes).
std::string Escaped(absl::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

absl::Status CheckFamily(absl::string_view name, const std::vector<LabelSpec>& labels, bool counter) {
  if (!IsName(name, /*colon_allowed=*/true)) {
    return absl::InvalidArgumentError(absl::StrCat("'", name, "' is not a Prometheus metric name"));
  }
  if (counter && !absl::EndsWith(name, "_total")) {
    return absl::InvalidArgumentError(absl::StrCat("counter '", name, "' must end in _total"));
  }
  std::size_t series = 1;
  for (const LabelSpec& label : labels) {
    if (!IsName(label.name, /*colon_allowed=*/false) || absl::StartsWith(label.name, "__") || label.name == "le") {
      return absl::InvalidArgumentError(absl::StrCat("'", label.name, "' is not a label name ", name, " may use"));
    }
    for (const LabelSpec& other : labels) {
      if (&other != &label && other.name == label.name) {
        return absl::InvalidArgumentError(absl::StrCat(name, " declares label '", label.name, "' twice"));
      }
    }
    series *= label.values.size() + 1;
    if (series > kMaxSeriesPerFamily) {
      return absl::InvalidArgumentError(absl::StrCat(name, " would have more than ", kMaxSeriesPerFamily, " series"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckBounds(absl::string_view name, const std::vector<double>& bounds) {
  if (bounds.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " needs at least one bucket bound"));
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(name, "'s bucket bounds must be finite and ascending"));
    }
  }
  return absl::OkStatus();
}

// Each label's value set with "other" in it.
std::vector<LabelSpec> WithOther(std::vector<LabelSpec> labels) {
  for (LabelSpec& label : labels) {
    if (std::find(label.values.begin(), label.values.end(), kOtherLabelValue) == label.values.end()) {
      label.values.emplace_back(kOtherLabelValue);
    }
  }
  return labels;
}

}  // namespace

void Counter::Add(double amount) {
  if (!(amount > 0)) return;
  AtomicAdd(value_, amount);
}

void Gauge::Add(double amount) { AtomicAdd(value_, amount); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // Prometheus buckets are "less than or equal to" their upper bound.
  const std::size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = buckets_[i].load(std::memory_order_relaxed);
  return counts;
}

std::string EscapeLabelValue(absl::string_view value) { return Escaped(value, /*quotes=*/true); }

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) return absl::StrCat(static_cast<int64_t>(value));
  char buffer[64];
  const std::to_chars_result written = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, written.ptr);
}

template <typename Metric>
Family<Metric>::Series::Series(const std::vector<double>& bounds)
    : metric([&bounds]() -> Metric {
        if constexpr (std::is_same_v<Metric, Histogram>) {
          return Metric(bounds);
        } else {
          return Metric();
        }
      }()) {}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<LabelSpec> labels,
                       const std::vector<double>& bounds)
    : name_(std::move(name)), help_(std::move(help)), labels_(WithOther(std::move(labels))) {
  std::size_t count = 1;
  for (const LabelSpec& label : labels_) count *= label.values.size();
  series_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) series_.push_back(std::make_unique<Series>(bounds));
  if (labels_.empty()) series_[0]->shown.store(true);
}

template <typename Metric>
std::size_t Family<Metric>::IndexOf(std::initializer_list<absl::string_view> values) const {
  const bool complete = values.size() == labels_.size();
  std::size_t index = 0;
  const auto* value = values.begin();
  for (const LabelSpec& label : labels_) {
    std::size_t position = label.values.size();
    if (complete) {
      position = std::find(label.values.begin(), label.values.end(), *value) - label.values.begin();
      ++value;
    }
    if (position == label.values.size()) {
      position = std::find(label.values.begin(), label.values.end(), kOtherLabelValue) - label.values.begin();
    }
    index = index * label.values.size() + position;
  }
  return index;
}

template <typename Metric>
Metric& Family<Metric>::Labels(std::initializer_list<absl::string_view> values) {
  Series& series = *series_[IndexOf(values)];
  if (!series.shown.load(std::memory_order_relaxed)) series.shown.store(true, std::memory_order_relaxed);
  return series.metric;
}

template <typename Metric>
std::string Family<Metric>::LabelsText(std::size_t index) const {
  // The series' label values from its index: the last label varies fastest.
  std::vector<absl::string_view> values(labels_.size());
  for (std::size_t i = labels_.size(); i-- > 0;) {
    values[i] = labels_[i].values[index % labels_[i].values.size()];
    index /= labels_[i].values.size();
  }
  std::string text;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    absl::StrAppend(&text, i == 0 ? "" : ",", labels_[i].name, "=\"", EscapeLabelValue(values[i]), "\"");
  }
  return text;
}

template <typename Metric>
void Family<Metric>::Render(MetricType type, std::string& out) const {
  absl::StrAppend(&out, "# HELP ", name_, " ", Escaped(help_, /*quotes=*/false), "\n# TYPE ", name_, " ",
                  type == MetricType::kCounter ? "counter"
                  : type == MetricType::kGauge ? "gauge"
                                               : "histogram",
                  "\n");
  for (std::size_t index = 0; index < series_.size(); ++index) {
    const Series& series = *series_[index];
    if (!series.shown.load(std::memory_order_relaxed)) continue;
    const std::string labels = LabelsText(index);
    const std::string braced = labels.empty() ? "" : absl::StrCat("{", labels, "}");
    if constexpr (std::is_same_v<Metric, Histogram>) {
      const std::vector<uint64_t> counts = series.metric.BucketCounts();
      const std::vector<double>& bounds = series.metric.bounds();
      const std::string le_prefix = absl::StrCat(labels, labels.empty() ? "" : ",", "le=\"");
      uint64_t cumulative = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        absl::StrAppend(&out, name_, "_bucket{", le_prefix, i < bounds.size() ? FormatValue(bounds[i]) : "+Inf", "\"} ",
                        cumulative, "\n");
      }
      absl::StrAppend(&out, name_, "_sum", braced, " ", FormatValue(series.metric.sum()), "\n");
      absl::StrAppend(&out, name_, "_count", braced, " ", cumulative, "\n");
    } else {
      absl::StrAppend(&out, name_, braced, " ", FormatValue(series.metric.value()), "\n");
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename Metric>
absl::StatusOr<Family<Metric>*> Registry::Add(MetricType type, std::string name, std::string help,
                                              std::vector<LabelSpec> labels, std::vector<double> bounds) {
  if (absl::Status valid = CheckFamily(name, labels, type == MetricType::kCounter); !valid.ok()) return valid;
  if (type == MetricType::kHistogram) {
    if (absl::Status valid = CheckBounds(name, bounds); !valid.ok()) return valid;
  }
  absl::MutexLock lock(&mu_);
  for (const std::string& taken : names_) {
    if (taken == name) return absl::InvalidArgumentError(absl::StrCat("metric ", name, " is already registered"));
  }
  names_.push_back(name);
  auto family =
      std::unique_ptr<Family<Metric>>(new Family<Metric>(std::move(name), std::move(help), std::move(labels), bounds));
  Family<Metric>* added = family.get();
  auto& families = [this]() -> std::vector<std::unique_ptr<Family<Metric>>>& {
    if constexpr (std::is_same_v<Metric, Counter>) {
      return counters_;
    } else if constexpr (std::is_same_v<Metric, Gauge>) {
      return gauges_;
    } else {
      return histograms_;
    }
  }();
  order_.push_back(Entry{type, families.size()});
  families.push_back(std::move(family));
  return added;
}

absl::StatusOr<Family<Counter>*> Registry::AddCounter(std::string name, std::string help,
                                                      std::vector<LabelSpec> labels) {
  return Add<Counter>(MetricType::kCounter, std::move(name), std::move(help), std::move(labels), {});
}

absl::StatusOr<Family<Gauge>*> Registry::AddGauge(std::string name, std::string help, std::vector<LabelSpec> labels) {
  return Add<Gauge>(MetricType::kGauge, std::move(name), std::move(help), std::move(labels), {});
}

absl::StatusOr<Family<Histogram>*> Registry::AddHistogram(std::string name, std::string help,
                                                          std::vector<double> bounds, std::vector<LabelSpec> labels) {
  return Add<Histogram>(MetricType::kHistogram, std::move(name), std::move(help), std::move(labels), std::move(bounds));
}

std::string Registry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const Entry& entry : order_) {
    switch (entry.type) {
      case MetricType::kCounter:
        counters_[entry.index]->Render(entry.type, out);
        break;
      case MetricType::kGauge:
        gauges_[entry.index]->Render(entry.type, out);
        break;
      case MetricType::kHistogram:
        histograms_[entry.index]->Render(entry.type, out);
        break;
    }
  }
  return out;
}

}  // namespace pcusage::metrics
