// Quality analytics of the Shop: issue and NCR analyses, scrap, yield, the
// Pareto chart, the quality score and rule-based suggestions (rules in
// eryxon/shop.hpp above IssueGroupBy and in docs/quality.md). Everything
// here reads one snapshot through a tenant read transaction and writes
// nothing, except report_scrap, which is record_quantity.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "domain/batch_tx.hpp"
#include "eryxon/error.hpp"
#include "eryxon/shop.hpp"

namespace eryxon {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;
const PageRequest kAll{INT64_MAX / 2, 0};

[[noreturn]] void invalid(std::string message, std::string_view field) {
  throw Error(ErrorCode::validation_error, std::move(message), {{"field", field}});
}

void check_range(std::int64_t value, std::int64_t min, std::int64_t max, std::string_view field) {
  if (value < min || value > max)
    invalid(fmt::format("{} must be {}..{}, got {}", field, min, max, value), field);
}

double round_to(double value, int decimals) {
  const double f = std::pow(10.0, decimals);
  return std::round(value * f) / f;
}

std::optional<double> percent_of(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return std::nullopt;
  return round_to(100.0 * static_cast<double>(part) / static_cast<double>(whole), 2);
}

std::optional<double> yield_of(std::int64_t good, std::int64_t scrap) {
  if (good + scrap <= 0) return std::nullopt;
  return round_to(static_cast<double>(good) / static_cast<double>(good + scrap), 4);
}

nlohmann::json nullable(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}
nlohmann::json nullable(const std::optional<std::string>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::string date_of(std::int64_t ms) { return format_timestamp(ms).substr(0, 10); }

// --- the period and its buckets ---------------------------------------------

struct Window {
  QualityPeriod period;
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;       // now, inclusive
  std::string to_exclusive;     // now + 1 ms, for [from, to) filters
};

Window window_of(std::int64_t now_ms, std::int64_t days) {
  check_range(days, 1, 365, "days");
  Window w;
  const std::int64_t today = floor_div(now_ms, kDayMs);
  w.from_ms = (today - (days - 1)) * kDayMs;
  w.to_ms = now_ms;
  w.period.from = format_timestamp(w.from_ms);
  w.period.to = format_timestamp(now_ms);
  w.period.days = days;
  w.to_exclusive = format_timestamp(now_ms + 1);
  return w;
}

bool in_window(const Window& w, const std::string& ts) {
  return ts >= w.period.from && ts < w.to_exclusive;
}

struct Bucket {
  std::int64_t start_ms;  // midnight UTC of the day or of the week's Monday
  std::string start;
  std::string label;
};

// ISO 8601 week label of the week starting on Monday `monday_day` (days
// since the epoch): the week belongs to the year of its Thursday.
std::string iso_week_label(std::int64_t monday_day) {
  const std::int64_t thursday_ms = (monday_day + 3) * kDayMs;
  const std::string date = date_of(thursday_ms);
  const int year = std::stoi(date.substr(0, 4));
  const std::int64_t jan1 = *parse_timestamp(fmt::format("{:04}-01-01", year));
  const std::int64_t day_of_year = (thursday_ms - jan1) / kDayMs;  // 0-based
  return fmt::format("{:04}-W{:02}", year, day_of_year / 7 + 1);
}

std::vector<Bucket> buckets_of(const Window& w, TrendInterval interval) {
  std::vector<Bucket> out;
  const std::int64_t first_day = floor_div(w.from_ms, kDayMs);
  const std::int64_t last_day = floor_div(w.to_ms, kDayMs);
  if (interval == TrendInterval::daily) {
    for (std::int64_t d = first_day; d <= last_day; ++d) {
      const std::string date = date_of(d * kDayMs);
      out.push_back({d * kDayMs, date, date});
    }
    return out;
  }
  // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
  auto monday_of = [](std::int64_t day) { return day - ((day % 7 + 7 + 3) % 7); };
  for (std::int64_t m = monday_of(first_day); m <= last_day; m += 7)
    out.push_back({m * kDayMs, date_of(m * kDayMs), iso_week_label(m)});
  return out;
}

// Index of the bucket holding `ts` (inside the window), by start time.
std::size_t bucket_index(const std::vector<Bucket>& buckets, const std::string& ts) {
  const std::int64_t ms = *parse_timestamp(ts);
  auto it = std::upper_bound(buckets.begin(), buckets.end(), ms,
                             [](std::int64_t v, const Bucket& b) { return v < b.start_ms; });
  return static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, (it - buckets.begin()) - 1));
}

// --- one snapshot of what the analyses need -----------------------------------

class Snapshot {
 public:
  Snapshot(Storage& storage, std::string_view tenant) {
    tx_ = detail::batch_transaction(storage, tenant);
    if (tx_ == nullptr) {
      owned_ = storage.begin_read(tenant);
      tx_ = owned_.get();
    }
    for (Cell& c : tx_->list_cells()) cells_.emplace(c.id, std::move(c));
  }
  // The read transaction ends (rolls back) with the snapshot.
  ~Snapshot() = default;
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  TenantTx& tx() { return *tx_; }

  // The operation, or null when it is deleted (or never existed).
  const Operation* operation(const std::string& id) {
    auto it = operations_.find(id);
    if (it == operations_.end()) it = operations_.emplace(id, tx_->find_operation(id)).first;
    return it->second ? &*it->second : nullptr;
  }
  const Cell* cell(const std::string& id) const {
    auto it = cells_.find(id);
    return it == cells_.end() ? nullptr : &it->second;
  }
  const Part* part(const std::string& id) {
    auto it = parts_.find(id);
    if (it == parts_.end()) it = parts_.emplace(id, tx_->find_part(id)).first;
    return it->second ? &*it->second : nullptr;
  }
  const ScrapReason* reason(const std::string& id) {
    auto it = reasons_.find(id);
    if (it == reasons_.end()) it = reasons_.emplace(id, tx_->find_scrap_reason(id)).first;
    return it->second ? &*it->second : nullptr;
  }

  // Non-deleted issues of live operations, newest first; only those
  // created in `w` when given.
  std::vector<Issue> issues(const Window* w) {
    std::vector<Issue> out;
    for (Issue& i : tx_->list_issues({}, kAll).items) {
      if (w && !in_window(*w, i.created_at)) continue;
      if (!operation(i.operation_id)) continue;
      out.push_back(std::move(i));
    }
    return out;
  }

  // Production of live operations recorded in `w`.
  std::vector<OperationQuantity> quantities(const Window& w) {
    QuantityFilter f;
    f.recorded_from = w.period.from;
    f.recorded_to = w.to_exclusive;
    std::vector<OperationQuantity> out;
    for (OperationQuantity& q : tx_->list_quantities(f))
      if (operation(q.operation_id)) out.push_back(std::move(q));
    return out;
  }

  std::vector<Cell> cells_in_order() { return tx_->list_cells(); }

 private:
  std::unique_ptr<TenantTx> owned_;
  TenantTx* tx_ = nullptr;
  std::map<std::string, Cell, std::less<>> cells_;
  std::map<std::string, std::optional<Operation>, std::less<>> operations_;
  std::map<std::string, std::optional<Part>, std::less<>> parts_;
  std::map<std::string, std::optional<ScrapReason>, std::less<>> reasons_;
};

struct Totals {
  std::int64_t produced = 0, good = 0, scrap = 0, rework = 0;
  void add(const OperationQuantity& q) {
    produced += q.quantity_produced;
    good += q.quantity_good;
    scrap += q.quantity_scrap;
    rework += q.quantity_rework;
  }
};

// Root-cause matching key: trimmed, white space collapsed, ASCII lowercase.
std::string normalized(const std::string& text) {
  std::string out;
  bool space = false;
  for (unsigned char c : text) {
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

// Sorts groups by a count descending, then label, then key (null first).
template <class G, class Count>
void sort_groups(std::vector<G>& groups, Count count) {
  std::sort(groups.begin(), groups.end(), [&](const G& a, const G& b) {
    if (count(a) != count(b)) return count(a) > count(b);
    if (a.label != b.label) return a.label < b.label;
    return a.key < b.key;
  });
}

}  // namespace

// --- issues ---------------------------------------------------------------------

IssueAnalytics Shop::issue_analytics(std::string_view tenant, std::int64_t days,
                                     IssueGroupBy group_by) {
  const Window w = window_of(clock_(), days);
  Snapshot s(storage_, tenant);
  IssueAnalytics out;
  out.period = w.period;
  out.group_by = group_by;
  std::vector<IssueGroup> groups;
  std::map<std::optional<std::string>, std::size_t> index;
  auto group = [&](std::optional<std::string> key, std::string label) -> IssueGroup& {
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, groups.size()).first;
      groups.push_back({std::move(key), std::move(label)});
    }
    return groups[it->second];
  };
  auto seed = [&](const auto& names) {
    for (auto n : names) group(std::string(n), std::string(n));
  };
  if (group_by == IssueGroupBy::severity) seed(enum_traits<IssueSeverity>::names);
  if (group_by == IssueGroupBy::status) seed(enum_traits<IssueStatus>::names);
  if (group_by == IssueGroupBy::ncr_category) {
    seed(enum_traits<NcrCategory>::names);
    group(std::nullopt, "none");
  }
  for (const Issue& i : s.issues(&w)) {
    const Operation& op = *s.operation(i.operation_id);
    IssueGroup* g = nullptr;
    switch (group_by) {
      case IssueGroupBy::severity: g = &group(std::string(to_string(i.severity)), ""); break;
      case IssueGroupBy::status: g = &group(std::string(to_string(i.status)), ""); break;
      case IssueGroupBy::ncr_category:
        g = i.ncr_category ? &group(std::string(to_string(*i.ncr_category)), "")
                           : &group(std::nullopt, "none");
        break;
      case IssueGroupBy::cell: {
        const Cell* c = s.cell(op.cell_id);
        g = c ? &group(c->id, c->name) : &group(std::nullopt, "unknown cell");
        break;
      }
      case IssueGroupBy::operation: g = &group(op.id, op.operation_name); break;
    }
    ++g->issues;
    if (i.status == IssueStatus::pending) ++g->pending;
    if (i.issue_type == IssueType::ncr) ++g->ncrs;
    g->affected_quantity += i.affected_quantity.value_or(0);
    ++out.total_issues;
    if (i.status == IssueStatus::pending) ++out.pending;
    if (i.issue_type == IssueType::ncr) ++out.ncrs;
  }
  if (group_by == IssueGroupBy::cell || group_by == IssueGroupBy::operation)
    sort_groups(groups, [](const IssueGroup& g) { return g.issues; });
  out.groups = std::move(groups);
  return out;
}

IssueTrends Shop::issue_trends(std::string_view tenant, std::int64_t days,
                               TrendInterval interval) {
  const Window w = window_of(clock_(), days);
  const std::vector<Bucket> buckets = buckets_of(w, interval);
  Snapshot s(storage_, tenant);
  IssueTrends out;
  out.period = w.period;
  out.interval = interval;
  for (const Bucket& b : buckets) out.buckets.push_back({b.start, b.label});
  for (const Issue& i : s.issues(nullptr)) {
    if (in_window(w, i.created_at)) {
      IssueTrendBucket& b = out.buckets[bucket_index(buckets, i.created_at)];
      ++b.created;
      if (i.issue_type == IssueType::ncr) ++b.ncrs;
      if (i.severity == IssueSeverity::critical) ++b.critical;
      ++out.total_created;
    }
    if (i.resolved_at && in_window(w, *i.resolved_at)) {
      ++out.buckets[bucket_index(buckets, *i.resolved_at)].resolved;
      ++out.total_resolved;
    }
  }
  return out;
}

RootCauseAnalysis Shop::root_cause_analysis(std::string_view tenant, std::int64_t days,
                                            std::int64_t min_occurrences) {
  if (min_occurrences < 1)
    invalid(fmt::format("min_occurrences must be >= 1, got {}", min_occurrences),
            "min_occurrences");
  const Window w = window_of(clock_(), days);
  Snapshot s(storage_, tenant);
  RootCauseAnalysis out;
  out.period = w.period;
  out.min_occurrences = min_occurrences;
  std::map<std::string, RootCause> by_key;
  std::map<std::string, std::set<NcrCategory>> categories;
  for (const Issue& i : s.issues(&w)) {  // newest first
    ++out.issues_analyzed;
    const std::string key = i.root_cause ? normalized(*i.root_cause) : std::string();
    if (key.empty()) {
      ++out.without_root_cause;
      continue;
    }
    RootCause& rc = by_key[key];
    if (rc.occurrences == 0) {
      rc.root_cause = *i.root_cause;
      rc.last_seen = i.created_at;
    }
    ++rc.occurrences;
    if (i.issue_type == IssueType::ncr) ++rc.ncrs;
    rc.affected_quantity += i.affected_quantity.value_or(0);
    if (i.ncr_category) categories[key].insert(*i.ncr_category);
    rc.issue_ids.push_back(i.id);
  }
  for (auto& [key, rc] : by_key) {
    if (rc.occurrences < min_occurrences) continue;
    for (NcrCategory c : categories[key]) rc.ncr_categories.push_back(c);
    out.root_causes.push_back(std::move(rc));
  }
  std::sort(out.root_causes.begin(), out.root_causes.end(),
            [](const RootCause& a, const RootCause& b) {
              if (a.occurrences != b.occurrences) return a.occurrences > b.occurrences;
              return a.root_cause < b.root_cause;
            });
  return out;
}

// --- scrap and yield -----------------------------------------------------------

ScrapAnalytics Shop::scrap_analytics(std::string_view tenant, std::int64_t days,
                                     ScrapGroupBy group_by) {
  const Window w = window_of(clock_(), days);
  Snapshot s(storage_, tenant);
  ScrapAnalytics out;
  out.period = w.period;
  out.group_by = group_by;
  Totals t;
  std::map<std::optional<std::string>, ScrapGroup> groups;
  for (const OperationQuantity& q : s.quantities(w)) {
    t.add(q);
    if (q.quantity_scrap == 0) continue;
    const Operation& op = *s.operation(q.operation_id);
    std::optional<std::string> key;
    std::string label = "unspecified";
    switch (group_by) {
      case ScrapGroupBy::reason:
        if (q.scrap_reason_id) {
          key = *q.scrap_reason_id;
          const ScrapReason* r = s.reason(*q.scrap_reason_id);
          label = r ? r->code : *q.scrap_reason_id;
        }
        break;
      case ScrapGroupBy::cell:
        if (const Cell* c = s.cell(op.cell_id)) {
          key = c->id;
          label = c->name;
        }
        break;
      case ScrapGroupBy::operation:
        key = op.id;
        label = op.operation_name;
        break;
      case ScrapGroupBy::material:
        if (const Part* p = s.part(op.part_id); p && p->material && !p->material->empty()) {
          key = *p->material;
          label = *p->material;
        }
        break;
    }
    ScrapGroup& g = groups[key];
    g.key = key;
    g.label = label;
    g.quantity_scrap += q.quantity_scrap;
    ++g.reports;
  }
  out.quantity_produced = t.produced;
  out.quantity_good = t.good;
  out.quantity_scrap = t.scrap;
  out.quantity_rework = t.rework;
  out.scrap_rate = percent_of(t.scrap, t.good + t.scrap);
  for (auto& [key, g] : groups) {
    g.percent_of_scrap = percent_of(g.quantity_scrap, t.scrap).value_or(0);
    out.groups.push_back(std::move(g));
  }
  sort_groups(out.groups, [](const ScrapGroup& g) { return g.quantity_scrap; });
  return out;
}

ScrapTrends Shop::scrap_trends(std::string_view tenant, std::int64_t days,
                               TrendInterval interval) {
  const Window w = window_of(clock_(), days);
  const std::vector<Bucket> buckets = buckets_of(w, interval);
  Snapshot s(storage_, tenant);
  ScrapTrends out;
  out.period = w.period;
  out.interval = interval;
  for (const Bucket& b : buckets) {
    ScrapTrendBucket empty;
    empty.start = b.start;
    empty.label = b.label;
    out.buckets.push_back(std::move(empty));
  }
  for (const OperationQuantity& q : s.quantities(w)) {
    ScrapTrendBucket& b = out.buckets[bucket_index(buckets, q.recorded_at)];
    b.quantity_produced += q.quantity_produced;
    b.quantity_good += q.quantity_good;
    b.quantity_scrap += q.quantity_scrap;
    b.quantity_rework += q.quantity_rework;
  }
  for (ScrapTrendBucket& b : out.buckets)
    b.scrap_rate = percent_of(b.quantity_scrap, b.quantity_good + b.quantity_scrap);
  return out;
}

YieldMetrics Shop::yield_metrics(std::string_view tenant, std::int64_t days) {
  const Window w = window_of(clock_(), days);
  Snapshot s(storage_, tenant);
  YieldMetrics out;
  out.period = w.period;
  std::map<std::string, Totals, std::less<>> per_cell;
  Totals all;
  for (const OperationQuantity& q : s.quantities(w)) {
    all.add(q);
    per_cell[s.operation(q.operation_id)->cell_id].add(q);
  }
  out.quantity_produced = all.produced;
  out.quantity_good = all.good;
  out.quantity_scrap = all.scrap;
  out.quantity_rework = all.rework;
  out.yield = yield_of(all.good, all.scrap);
  for (const Cell& c : s.cells_in_order()) {
    const Totals t = per_cell.count(c.id) ? per_cell[c.id] : Totals{};
    out.cells.push_back({c.id, c.name, t.produced, t.good, t.scrap, t.rework,
                         yield_of(t.good, t.scrap)});
  }
  return out;
}

ScrapPareto Shop::scrap_pareto(std::string_view tenant, std::int64_t days, std::int64_t top_n) {
  check_range(top_n, 1, 50, "top_n");
  const Window w = window_of(clock_(), days);
  Snapshot s(storage_, tenant);
  ScrapPareto out;
  out.period = w.period;
  out.top_n = top_n;
  std::map<std::optional<std::string>, ParetoEntry> by_reason;
  for (const OperationQuantity& q : s.quantities(w)) {
    if (q.quantity_scrap == 0) continue;
    out.total_scrap += q.quantity_scrap;
    ParetoEntry& e = by_reason[q.scrap_reason_id];
    if (q.scrap_reason_id && !e.scrap_reason_id) {
      e.scrap_reason_id = q.scrap_reason_id;
      if (const ScrapReason* r = s.reason(*q.scrap_reason_id)) {
        e.code = r->code;
        e.description = r->description;
        e.category = r->category;
      }
    }
    e.quantity_scrap += q.quantity_scrap;
  }
  std::vector<ParetoEntry> entries;
  for (auto& [key, e] : by_reason) entries.push_back(std::move(e));
  std::sort(entries.begin(), entries.end(), [](const ParetoEntry& a, const ParetoEntry& b) {
    if (a.quantity_scrap != b.quantity_scrap) return a.quantity_scrap > b.quantity_scrap;
    if (a.scrap_reason_id.has_value() != b.scrap_reason_id.has_value())
      return a.scrap_reason_id.has_value();  // unspecified last among equals
    return std::tie(a.code, a.scrap_reason_id) < std::tie(b.code, b.scrap_reason_id);
  });
  out.reasons = static_cast<std::int64_t>(entries.size());
  std::int64_t running = 0;
  for (ParetoEntry& e : entries) {
    if (static_cast<std::int64_t>(out.entries.size()) == top_n) {
      out.other_quantity += e.quantity_scrap;
      continue;
    }
    running += e.quantity_scrap;
    e.percent = percent_of(e.quantity_scrap, out.total_scrap).value_or(0);
    e.cumulative_percent = percent_of(running, out.total_scrap).value_or(0);
    out.entries.push_back(std::move(e));
  }
  out.other_percent = percent_of(out.other_quantity, out.total_scrap).value_or(0);
  return out;
}

namespace {

// NCRs pending now on live operations, any age, by severity.
std::array<std::int64_t, 4> open_ncrs(Snapshot& s) {
  std::array<std::int64_t, 4> by_severity{};
  for (const Issue& i : s.issues(nullptr))
    if (i.issue_type == IssueType::ncr && i.status == IssueStatus::pending)
      ++by_severity[static_cast<std::size_t>(i.severity)];
  return by_severity;
}

constexpr std::array<double, 4> kNcrWeight{2, 5, 10, 20};  // low, medium, high, critical

}  // namespace

QualityScore Shop::quality_score(std::string_view tenant, std::int64_t days) {
  const Window w = window_of(clock_(), days);
  Snapshot s(storage_, tenant);
  QualityScore out;
  out.period = w.period;
  Totals t;
  for (const OperationQuantity& q : s.quantities(w)) t.add(q);
  out.yield = yield_of(t.good, t.scrap);
  if (t.good + t.scrap > 0)
    out.yield_score =
        round_to(100.0 * static_cast<double>(t.good) / static_cast<double>(t.good + t.scrap), 2);
  out.open_ncrs_by_severity = open_ncrs(s);
  for (std::size_t i = 0; i < 4; ++i) {
    out.open_ncrs += out.open_ncrs_by_severity[i];
    out.ncr_penalty += kNcrWeight[i] * static_cast<double>(out.open_ncrs_by_severity[i]);
  }
  out.ncr_score = std::max(0.0, 100.0 - out.ncr_penalty);
  const double raw = out.yield_score ? 0.7 * *out.yield_score + 0.3 * out.ncr_score : out.ncr_score;
  out.score = round_to(raw, 1);
  out.grade = out.score >= 90 ? "A" : out.score >= 80 ? "B" : out.score >= 70 ? "C"
            : out.score >= 60 ? "D" : "F";
  return out;
}

// --- suggestions -------------------------------------------------------------------

QualitySuggestions Shop::suggest_quality_improvements(std::string_view tenant,
                                                      QualityFocus focus, std::int64_t days) {
  const std::int64_t now_ms = clock_();
  const Window w = window_of(now_ms, days);
  Snapshot s(storage_, tenant);
  QualitySuggestions out;
  out.period = w.period;
  out.focus_area = focus;
  auto wanted = [&](QualityFocus area) { return focus == QualityFocus::all || focus == area; };
  auto suggest = [&](std::string rule, QualityFocus area, std::string priority, std::string title,
                     std::string detail, std::string metric, double value, double threshold,
                     std::optional<std::string> id = std::nullopt,
                     std::optional<std::string> label = std::nullopt) {
    out.suggestions.push_back({std::move(rule), area, std::move(priority), std::move(title),
                               std::move(detail), std::move(metric), value, threshold,
                               std::move(id), std::move(label)});
  };

  const std::vector<OperationQuantity> quantities = s.quantities(w);
  Totals all;
  for (const OperationQuantity& q : quantities) all.add(q);

  if (wanted(QualityFocus::scrap)) {
    // scrap_rate_high: scrap / (good + scrap) above 5 % (high above 10 %).
    if (auto rate = percent_of(all.scrap, all.good + all.scrap); rate && *rate > 5)
      suggest("scrap_rate_high", QualityFocus::scrap, *rate > 10 ? "high" : "medium",
              "Reduce the overall scrap rate",
              fmt::format("{} of {} good and scrapped pieces were scrapped ({}%).", all.scrap,
                          all.good + all.scrap, *rate),
              "scrap_rate_percent", *rate, 5);
    // scrap_reason_dominant: one reason holds at least 30 % of the scrap.
    const ScrapPareto pareto = [&] {
      ScrapPareto p;
      std::map<std::string, std::int64_t> by_reason;
      std::int64_t unspecified = 0;
      for (const OperationQuantity& q : quantities) {
        if (q.quantity_scrap == 0) continue;
        p.total_scrap += q.quantity_scrap;
        if (q.scrap_reason_id)
          by_reason[*q.scrap_reason_id] += q.quantity_scrap;
        else
          unspecified += q.quantity_scrap;
      }
      for (const auto& [id, qty] : by_reason) {
        ParetoEntry e;
        e.scrap_reason_id = id;
        if (const ScrapReason* r = s.reason(id)) e.code = r->code;
        e.quantity_scrap = qty;
        e.percent = percent_of(qty, p.total_scrap).value_or(0);
        p.entries.push_back(std::move(e));
      }
      p.other_quantity = unspecified;
      p.other_percent = percent_of(unspecified, p.total_scrap).value_or(0);
      return p;
    }();
    for (const ParetoEntry& e : pareto.entries)
      if (e.percent >= 30)
        suggest("scrap_reason_dominant", QualityFocus::scrap, "medium",
                fmt::format("Attack scrap reason {}", e.code.value_or(*e.scrap_reason_id)),
                fmt::format("Reason {} caused {} of {} scrapped pieces ({}%).",
                            e.code.value_or(*e.scrap_reason_id), e.quantity_scrap,
                            pareto.total_scrap, e.percent),
                "percent_of_scrap", e.percent, 30, e.scrap_reason_id, e.code);
    // scrap_without_reason: at least 10 % of the scrap has no reason.
    if (pareto.other_quantity > 0 && pareto.other_percent >= 10)
      suggest("scrap_without_reason", QualityFocus::scrap, "low",
              "Record a reason with every scrap report",
              fmt::format("{} of {} scrapped pieces ({}%) have no scrap reason.",
                          pareto.other_quantity, pareto.total_scrap, pareto.other_percent),
              "percent_of_scrap", pareto.other_percent, 10);
    // cell_yield_low: a cell with at least 10 good or scrapped pieces and a
    // yield below 90 %.
    std::map<std::string, Totals> per_cell;
    for (const OperationQuantity& q : quantities) per_cell[s.operation(q.operation_id)->cell_id].add(q);
    for (const auto& [cell_id, t] : per_cell) {
      const Cell* c = s.cell(cell_id);
      if (!c || t.good + t.scrap < 10) continue;
      const double y = *percent_of(t.good, t.good + t.scrap);
      if (y < 90)
        suggest("cell_yield_low", QualityFocus::scrap, "high",
                fmt::format("Improve the yield of cell {}", c->name),
                fmt::format("Cell {} made {} good of {} pieces ({}% yield).", c->name, t.good,
                            t.good + t.scrap, y),
                "yield_percent", y, 90, c->id, c->name);
    }
  }

  if (wanted(QualityFocus::ncr)) {
    const std::vector<Issue> recent = s.issues(&w);
    // ncr_category_recurring: 3 or more NCRs of one category (high from 5).
    std::array<std::int64_t, 5> per_category{};
    std::int64_t missing_root_cause = 0;
    for (const Issue& i : recent) {
      if (i.issue_type != IssueType::ncr) continue;
      if (i.ncr_category) ++per_category[static_cast<std::size_t>(*i.ncr_category)];
      const bool resolved = i.status == IssueStatus::approved || i.status == IssueStatus::closed;
      if (resolved && (!i.root_cause || normalized(*i.root_cause).empty())) ++missing_root_cause;
    }
    for (std::size_t c = 0; c < per_category.size(); ++c) {
      if (per_category[c] < 3) continue;
      const std::string name(enum_traits<NcrCategory>::names[c]);
      suggest("ncr_category_recurring", QualityFocus::ncr, per_category[c] >= 5 ? "high" : "medium",
              fmt::format("Find the common cause of {} NCRs", name),
              fmt::format("{} NCRs of category {} were raised in the last {} days.",
                          per_category[c], name, days),
              "ncr_count", static_cast<double>(per_category[c]), 3, name, name);
    }
    // ncr_missing_root_cause: approved or closed NCRs without a root cause.
    if (missing_root_cause > 0)
      suggest("ncr_missing_root_cause", QualityFocus::ncr, "low",
              "Record root causes on resolved NCRs",
              fmt::format("{} approved or closed NCRs of the period have no root cause.",
                          missing_root_cause),
              "ncr_count", static_cast<double>(missing_root_cause), 1);
    // ncr_pending_old / standstill_open: over all pending issues, any age.
    std::int64_t old_pending = 0, standstills = 0;
    const std::string week_ago = format_timestamp(now_ms - 7 * kDayMs);
    for (const Issue& i : s.issues(nullptr)) {
      if (i.status != IssueStatus::pending) continue;
      if (i.issue_type == IssueType::ncr && i.created_at < week_ago) ++old_pending;
      if (i.causes_standstill) ++standstills;
    }
    if (old_pending > 0)
      suggest("ncr_pending_old", QualityFocus::ncr, "medium", "Review NCRs pending for over a week",
              fmt::format("{} NCRs have been pending for more than 7 days.", old_pending),
              "ncr_count", static_cast<double>(old_pending), 1);
    if (standstills > 0)
      suggest("standstill_open", QualityFocus::ncr, "high",
              "Clear the issues that stop operations",
              fmt::format("{} pending issues hold their operations at a standstill.", standstills),
              "issue_count", static_cast<double>(standstills), 1);
  }

  if (wanted(QualityFocus::rework)) {
    // rework_rate_high: rework / produced above 5 % (high above 10 %).
    if (auto rate = percent_of(all.rework, all.produced); rate && *rate > 5)
      suggest("rework_rate_high", QualityFocus::rework, *rate > 10 ? "high" : "medium",
              "Reduce rework",
              fmt::format("{} of {} produced pieces needed rework ({}%).", all.rework,
                          all.produced, *rate),
              "rework_rate_percent", *rate, 5);
    // operation_rework_concentrated: one operation holds at least half of
    // the rework, and at least 5 pieces.
    std::map<std::string, std::int64_t> per_op;
    for (const OperationQuantity& q : quantities) per_op[q.operation_id] += q.quantity_rework;
    for (const auto& [op_id, qty] : per_op) {
      if (qty < 5) continue;
      const double share = *percent_of(qty, all.rework);
      if (share < 50) continue;
      const Operation& op = *s.operation(op_id);
      suggest("operation_rework_concentrated", QualityFocus::rework, "medium",
              fmt::format("Look into rework at operation {}", op.operation_name),
              fmt::format("Operation {} caused {} of {} reworked pieces ({}%).",
                          op.operation_name, qty, all.rework, share),
              "percent_of_rework", share, 50, op.id, op.operation_name);
    }
  }

  auto rank = [](const std::string& p) { return p == "high" ? 0 : p == "medium" ? 1 : 2; };
  std::stable_sort(out.suggestions.begin(), out.suggestions.end(),
                   [&](const QualitySuggestion& a, const QualitySuggestion& b) {
                     const int ra = rank(a.priority), rb = rank(b.priority);
                     return std::tie(ra, a.rule, a.subject_label, a.subject_id) <
                            std::tie(rb, b.rule, b.subject_label, b.subject_id);
                   });
  return out;
}

OperationQuantity Shop::report_scrap(std::string_view tenant, std::string_view operation_id,
                                     std::int64_t quantity_scrap,
                                     const std::optional<std::string>& scrap_reason_id,
                                     const std::optional<std::string>& notes) {
  if (quantity_scrap < 1)
    invalid(fmt::format("quantity_scrap must be >= 1, got {}", quantity_scrap), "quantity_scrap");
  NewQuantity q;
  q.operation_id = std::string(operation_id);
  q.quantity_scrap = quantity_scrap;
  q.scrap_reason_id = scrap_reason_id;
  q.notes = notes;
  return record_quantity(tenant, q);
}

// --- JSON -------------------------------------------------------------------------

void to_json(nlohmann::json& out, const QualityPeriod& p) {
  out = {{"from", p.from}, {"to", p.to}, {"days", p.days}};
}

void to_json(nlohmann::json& out, const IssueAnalytics& a) {
  nlohmann::json groups = nlohmann::json::array();
  for (const IssueGroup& g : a.groups)
    groups.push_back({{"key", nullable(g.key)},
                      {"label", g.label},
                      {"issues", g.issues},
                      {"pending", g.pending},
                      {"ncrs", g.ncrs},
                      {"affected_quantity", g.affected_quantity}});
  out = {{"period", a.period},
         {"group_by", std::string(to_string(a.group_by))},
         {"total_issues", a.total_issues},
         {"pending", a.pending},
         {"ncrs", a.ncrs},
         {"groups", std::move(groups)}};
}

void to_json(nlohmann::json& out, const IssueTrends& t) {
  nlohmann::json buckets = nlohmann::json::array();
  for (const IssueTrendBucket& b : t.buckets)
    buckets.push_back({{"start", b.start},
                       {"label", b.label},
                       {"created", b.created},
                       {"ncrs", b.ncrs},
                       {"critical", b.critical},
                       {"resolved", b.resolved}});
  out = {{"period", t.period},
         {"interval", std::string(to_string(t.interval))},
         {"total_created", t.total_created},
         {"total_resolved", t.total_resolved},
         {"buckets", std::move(buckets)}};
}

void to_json(nlohmann::json& out, const RootCauseAnalysis& a) {
  nlohmann::json causes = nlohmann::json::array();
  for (const RootCause& c : a.root_causes) {
    nlohmann::json categories = nlohmann::json::array();
    for (NcrCategory n : c.ncr_categories) categories.push_back(std::string(to_string(n)));
    causes.push_back({{"root_cause", c.root_cause},
                      {"occurrences", c.occurrences},
                      {"ncrs", c.ncrs},
                      {"affected_quantity", c.affected_quantity},
                      {"ncr_categories", std::move(categories)},
                      {"last_seen", c.last_seen},
                      {"issue_ids", c.issue_ids}});
  }
  out = {{"period", a.period},
         {"min_occurrences", a.min_occurrences},
         {"issues_analyzed", a.issues_analyzed},
         {"without_root_cause", a.without_root_cause},
         {"root_causes", std::move(causes)}};
}

void to_json(nlohmann::json& out, const QualitySuggestions& q) {
  nlohmann::json list = nlohmann::json::array();
  for (const QualitySuggestion& s : q.suggestions)
    list.push_back({{"rule", s.rule},
                    {"area", std::string(to_string(s.area))},
                    {"priority", s.priority},
                    {"title", s.title},
                    {"detail", s.detail},
                    {"metric", s.metric},
                    {"value", s.value},
                    {"threshold", s.threshold},
                    {"subject_id", nullable(s.subject_id)},
                    {"subject_label", nullable(s.subject_label)}});
  out = {{"period", q.period},
         {"focus_area", std::string(to_string(q.focus_area))},
         {"suggestions", std::move(list)}};
}

void to_json(nlohmann::json& out, const ScrapAnalytics& a) {
  nlohmann::json groups = nlohmann::json::array();
  for (const ScrapGroup& g : a.groups)
    groups.push_back({{"key", nullable(g.key)},
                      {"label", g.label},
                      {"quantity_scrap", g.quantity_scrap},
                      {"reports", g.reports},
                      {"percent_of_scrap", g.percent_of_scrap}});
  out = {{"period", a.period},
         {"group_by", std::string(to_string(a.group_by))},
         {"quantity_produced", a.quantity_produced},
         {"quantity_good", a.quantity_good},
         {"quantity_scrap", a.quantity_scrap},
         {"quantity_rework", a.quantity_rework},
         {"scrap_rate", nullable(a.scrap_rate)},
         {"groups", std::move(groups)}};
}

void to_json(nlohmann::json& out, const ScrapTrends& t) {
  nlohmann::json buckets = nlohmann::json::array();
  for (const ScrapTrendBucket& b : t.buckets)
    buckets.push_back({{"start", b.start},
                       {"label", b.label},
                       {"quantity_produced", b.quantity_produced},
                       {"quantity_good", b.quantity_good},
                       {"quantity_scrap", b.quantity_scrap},
                       {"quantity_rework", b.quantity_rework},
                       {"scrap_rate", nullable(b.scrap_rate)}});
  out = {{"period", t.period},
         {"interval", std::string(to_string(t.interval))},
         {"buckets", std::move(buckets)}};
}

void to_json(nlohmann::json& out, const YieldMetrics& y) {
  nlohmann::json cells = nlohmann::json::array();
  for (const CellYield& c : y.cells)
    cells.push_back({{"cell_id", c.cell_id},
                     {"cell_name", c.cell_name},
                     {"quantity_produced", c.quantity_produced},
                     {"quantity_good", c.quantity_good},
                     {"quantity_scrap", c.quantity_scrap},
                     {"quantity_rework", c.quantity_rework},
                     {"yield", nullable(c.yield)}});
  out = {{"period", y.period},
         {"quantity_produced", y.quantity_produced},
         {"quantity_good", y.quantity_good},
         {"quantity_scrap", y.quantity_scrap},
         {"quantity_rework", y.quantity_rework},
         {"yield", nullable(y.yield)},
         {"cells", std::move(cells)}};
}

void to_json(nlohmann::json& out, const ScrapPareto& p) {
  nlohmann::json entries = nlohmann::json::array();
  for (const ParetoEntry& e : p.entries)
    entries.push_back(
        {{"scrap_reason_id", nullable(e.scrap_reason_id)},
         {"code", nullable(e.code)},
         {"description", nullable(e.description)},
         {"category", e.category ? nlohmann::json(std::string(to_string(*e.category)))
                                 : nlohmann::json()},
         {"quantity_scrap", e.quantity_scrap},
         {"percent", e.percent},
         {"cumulative_percent", e.cumulative_percent}});
  out = {{"period", p.period},
         {"top_n", p.top_n},
         {"total_scrap", p.total_scrap},
         {"reasons", p.reasons},
         {"entries", std::move(entries)},
         {"other_quantity", p.other_quantity},
         {"other_percent", p.other_percent}};
}

void to_json(nlohmann::json& out, const QualityScore& q) {
  nlohmann::json by_severity = nlohmann::json::object();
  for (std::size_t i = 0; i < q.open_ncrs_by_severity.size(); ++i)
    by_severity[std::string(enum_traits<IssueSeverity>::names[i])] = q.open_ncrs_by_severity[i];
  out = {{"period", q.period},
         {"score", q.score},
         {"grade", q.grade},
         {"yield", nullable(q.yield)},
         {"yield_score", nullable(q.yield_score)},
         {"open_ncrs", q.open_ncrs},
         {"open_ncrs_by_severity", std::move(by_severity)},
         {"ncr_penalty", q.ncr_penalty},
         {"ncr_score", q.ncr_score}};
}

}  // namespace eryxon
