// The audit module (contract in eryxon/audit.hpp).
//
// Hot path: record() validates, stamps, takes the mutex, appends to a deque
// and updates the health window. Everything else - redaction, ids, JSON,
// storage - happens on the writer thread.
//
// Writer: waits up to flush_interval_ms (or until max_batch are queued, a
// flush() waits, or the destructor stops it), then drains the queue in rounds
// of at most max_batch events. A round groups its events by tenant and writes
// each group in one TenantTx: one usage_logs row per event (the activity
// log's mirror of it is built when read, by activity_of()). Groups that fail
// on a storage outage go back to the front of the queue in their original
// order; the next attempt comes one interval later.
// Progress is tracked by sequence numbers: every event has one, the queue
// stays sorted by it, and done_through_ is the highest seq below which
// nothing is pending - which is what flush() waits for.
#include "eryxon/audit.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_map>

#include "core/sodium_init.hpp"
#include "eryxon/error.hpp"

namespace eryxon {
namespace {

constexpr int kMaxDepth = 64;
constexpr std::int64_t kDayMs = 24 * 60 * 60 * 1000;

bool is_secret_name(std::string_view name) {
  static constexpr std::string_view kNeedles[] = {
      "key",           "secret", "token",   "password",   "authorization",
      "apikey",        "api_key", "pepper", "credential"};
  std::string lower(name);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (auto needle : kNeedles)
    if (lower.find(needle) != std::string::npos) return true;
  return false;
}

// Strict UTF-8 check (no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += n + 1;
  }
  return true;
}

// A copy of `s` that JSON can serialise: invalid UTF-8 becomes U+FFFD.
std::string utf8_safe(std::string s) {
  if (valid_utf8(s)) return s;
  const std::string quoted =
      nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(quoted).get<std::string>();
}

std::string clean_string(const std::string& s) {
  if (s.size() <= kAuditMaxStringBytes) return utf8_safe(s);
  std::size_t cut = kAuditMaxStringBytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return utf8_safe(s.substr(0, cut)) + fmt::format("...[truncated, {} bytes]", s.size());
}

nlohmann::json redact(const nlohmann::json& v, int depth) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      if (depth >= kMaxDepth) return "[TRUNCATED: too deep]";
      nlohmann::json out = nlohmann::json::object();
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (is_secret_name(it.key()))
          out[utf8_safe(it.key())] = kRedacted;
        else
          out[utf8_safe(it.key())] = redact(it.value(), depth + 1);
      }
      return out;
    }
    case nlohmann::json::value_t::array: {
      if (depth >= kMaxDepth) return "[TRUNCATED: too deep]";
      nlohmann::json out = nlohmann::json::array();
      for (const auto& e : v) out.push_back(redact(e, depth + 1));
      return out;
    }
    case nlohmann::json::value_t::string:
      return clean_string(v.get_ref<const std::string&>());
    default:
      return v;
  }
}

// RFC 9562 UUID version 7: 48-bit Unix ms, then random bits. Ids of one
// batch therefore land at the end of the primary-key index.
std::string uuid_v7(std::int64_t ms) {
  unsigned char b[16];
  randombytes_buf(b + 6, 10);
  const auto t = static_cast<std::uint64_t>(std::max<std::int64_t>(ms, 0));
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(t >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x70);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t at = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;  // keep the '-'
    out[at++] = kHex[b[i] >> 4];
    out[at++] = kHex[b[i] & 0x0F];
  }
  return out;
}

std::optional<std::string> opt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

nlohmann::json opt_json(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return utf8_safe(*s);
}

// The event stays intact: a failed write puts it back on the queue.
UsageLogRow make_usage_row(const UsageEvent& e) {
  UsageLogRow u;
  u.id = uuid_v7(e.at_ms);
  u.key_row_id = opt(e.key_row_id);
  u.key_family = e.key_family;
  u.tool = e.tool;
  if (!e.arguments.is_null()) u.arguments = redact_secrets(e.arguments);
  u.success = e.success;
  if (!e.success) {
    u.error_code = opt(e.error_code);
    u.error_message = opt(e.error_message);
  }
  u.response_time_ms = e.response_time_ms;
  u.client_name = opt(e.client_name);
  u.client_version = opt(e.client_version);
  u.ip_address = opt(e.ip);
  u.user_agent = opt(e.user_agent);
  u.created_at = format_timestamp(e.at_ms);
  return u;
}

// Newest first by created_at. Used with a stable sort over lists that
// Storage already returns newest first, so rows of one millisecond keep
// their storage order (most recently appended first).
bool newer(const ActivityRow& a, const ActivityRow& b) { return a.created_at > b.created_at; }

// Rejections of the rows themselves: retrying cannot help.
bool rejects_rows(ErrorCode c) {
  return c == ErrorCode::validation_error || c == ErrorCode::duplicate_entry;
}

}  // namespace

nlohmann::json redact_secrets(const nlohmann::json& value) { return redact(value, 0); }

ActivityRow activity_of(const UsageLogRow& u) {
  ActivityRow a;
  const bool mcp = u.key_family == "mcp";
  a.id = u.id;
  a.tenant_id = u.tenant_id;
  a.action = mcp ? (u.success ? "mcp_execute" : "mcp_error")
                 : (u.success ? "rest_request" : "rest_error");
  a.entity_type = mcp ? "mcp_tool" : "rest_endpoint";
  a.entity_id = u.tool;
  if (u.key_row_id) {
    a.actor_type = "api_key";
    a.actor_id = u.key_row_id;
  }
  const std::string what = mcp ? fmt::format("MCP tool {}", u.tool) : fmt::format("REST {}", u.tool);
  a.description = u.success ? fmt::format("{} succeeded in {:.1f} ms", what, u.response_time_ms)
                            : fmt::format("{} failed: {}", what, u.error_code.value_or("error"));
  a.details = {
      {"key_row_id", opt_json(u.key_row_id)},
      {"key_family", u.key_family},
      {"success", u.success},
      {"error_code", u.success ? nlohmann::json() : opt_json(u.error_code)},
      {"error_message", u.success ? nlohmann::json() : opt_json(u.error_message)},
      {"response_time_ms", u.response_time_ms},
      {"arguments", u.arguments},
      {"client_name", opt_json(u.client_name)},
      {"client_version", opt_json(u.client_version)},
  };
  a.ip_address = u.ip_address;
  a.user_agent = u.user_agent;
  a.created_at = u.created_at;
  return a;
}

nlohmann::json to_json(const KeyStats& s) {
  nlohmann::json top = nlohmann::json::array();
  for (const auto& t : s.top_tools) top.push_back({{"tool", t.tool}, {"count", t.count}});
  return {{"total", s.total},
          {"successful", s.successful},
          {"failed", s.failed},
          {"avg_response_time_ms", s.avg_response_time_ms},
          {"last_24h_requests", s.last_24h_requests},
          {"top_tools", std::move(top)},
          {"last_used_at", s.last_used_at ? nlohmann::json(*s.last_used_at) : nlohmann::json()}};
}

nlohmann::json to_json(const ServerHealth& h) {
  auto o = [](const std::optional<std::string>& v) {
    return v ? nlohmann::json(utf8_safe(*v)) : nlohmann::json();
  };
  return {{"status", h.status},
          {"avg_response_time_ms", h.avg_response_time_ms},
          {"error_rate", h.error_rate},
          {"window", h.window},
          {"last_event_at", o(h.last_event_at)},
          {"last_error", o(h.last_error)},
          {"storage_error", o(h.storage_error)},
          {"checked_at", h.checked_at},
          {"queued", h.queued},
          {"write_failures", h.write_failures}};
}

// ---------------------------------------------------------------------------

AuditLog::AuditLog(Storage& storage, Clock clock, AuditOptions options)
    : storage_(storage), clock_(std::move(clock)), options_(options) {
  if (options_.flush_interval_ms < 1 || options_.max_batch < 1 || options_.max_queue < 1)
    throw Error(ErrorCode::validation_error,
                "AuditOptions: flush_interval_ms, max_batch and max_queue must be >= 1");
  ensure_sodium();
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "eryxon-audit");  // for top -H, perf, gdb
    run();
  });
}

AuditLog::~AuditLog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_writer_.notify_one();
  try {
    if (writer_.joinable()) writer_.join();
  } catch (...) {
  }
}

void AuditLog::record(UsageEvent event) {
  if (event.tenant_id.empty() || event.tool.empty())
    throw Error(ErrorCode::validation_error, "Usage event needs a tenant_id and a tool");
  if (event.key_family != "mcp" && event.key_family != "rest")
    throw Error(ErrorCode::validation_error,
                fmt::format("Usage event key_family must be \"mcp\" or \"rest\", not \"{}\"",
                            event.key_family),
                {{"path", "key_family"}});
  if (event.at_ms == 0) event.at_ms = clock_();
  if (!(event.response_time_ms >= 0) || !std::isfinite(event.response_time_ms))
    event.response_time_ms = 0;
  std::optional<std::string> error;
  if (!event.success)
    error = event.error_message.empty() ? event.error_code : event.error_message;

  const auto max_batch = static_cast<std::size_t>(options_.max_batch);
  const auto max_queue = static_cast<std::size_t>(options_.max_queue);
  bool wake = false;
  {
    std::unique_lock lock(mutex_);
    if (queue_.size() >= max_queue) {
      wake_writer_.notify_one();
      progress_.wait(lock, [&] { return queue_.size() < max_queue; });
    }
    samples_[sample_next_] = {event.success, event.response_time_ms};
    sample_next_ = (sample_next_ + 1) % samples_.size();
    sample_count_ = std::min(sample_count_ + 1, samples_.size());
    last_event_ms_ = std::max(last_event_ms_, event.at_ms);
    if (error) last_error_ = std::move(error);
    queue_.push_back({next_seq_++, std::move(event)});
    wake = queue_.size() == max_batch;
  }
  if (wake) wake_writer_.notify_one();
}

void AuditLog::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = next_seq_ - 1;
  if (done_through_ >= target) return;
  const std::int64_t failures_before = write_failures_;
  ++flush_waiters_;
  wake_writer_.notify_one();
  progress_.wait(lock,
                 [&] { return done_through_ >= target || write_failures_ != failures_before; });
  --flush_waiters_;
  if (done_through_ < target)
    throw Error(ErrorCode::database_error,
                fmt::format("Audit log write failed: {}", storage_error_),
                {{"queued", static_cast<std::int64_t>(queue_.size())}});
}

std::vector<AuditLog::Queued> AuditLog::write_batch(std::vector<Queued>& batch,
                                                   std::string& error, std::int64_t& written,
                                                   std::int64_t& dropped) {
  // Group by tenant, keeping each tenant's events in record order.
  std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
  {
    std::unordered_map<std::string_view, std::size_t> index;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const std::string& t = batch[i].event.tenant_id;
      auto [it, fresh] = index.try_emplace(t, groups.size());
      if (fresh) groups.emplace_back(t, std::vector<std::size_t>{});
      groups[it->second].second.push_back(i);
    }
  }

  std::vector<std::size_t> to_retry;
  auto write = [&](const std::string& tenant, const std::vector<UsageLogRow>& rows) {
    auto tx = storage_.begin(tenant);
    for (const auto& r : rows) tx->append_usage(r);
    tx->commit();
  };

  for (const auto& [tenant, members] : groups) {
    // Built before begin(): the storage lock is held only for the inserts.
    std::vector<UsageLogRow> rows;
    rows.reserve(members.size());
    for (std::size_t i : members) rows.push_back(make_usage_row(batch[i].event));

    enum class Outcome { ok, retry, gone, rejected } outcome = Outcome::ok;
    try {
      write(tenant, rows);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::not_found) {
        outcome = Outcome::gone;  // no such tenant: can never be written
      } else if (rejects_rows(e.code())) {
        outcome = Outcome::rejected;
      } else {
        outcome = Outcome::retry;
        error = e.what();
      }
    } catch (const nlohmann::json::exception&) {
      outcome = Outcome::rejected;
    } catch (const std::exception& e) {
      outcome = Outcome::retry;
      error = e.what();
    }

    switch (outcome) {
      case Outcome::ok: written += static_cast<std::int64_t>(members.size()); break;
      case Outcome::gone: dropped += static_cast<std::int64_t>(members.size()); break;
      case Outcome::retry: to_retry.insert(to_retry.end(), members.begin(), members.end()); break;
      case Outcome::rejected:
        // One bad row must not take its neighbours down: one event per
        // transaction, discarding only the rows storage refuses.
        for (std::size_t k = 0; k < members.size(); ++k) {
          try {
            write(tenant, {rows[k]});
            ++written;
          } catch (const Error& e) {
            if (e.code() == ErrorCode::not_found || rejects_rows(e.code())) {
              ++dropped;
            } else {
              error = e.what();
              to_retry.push_back(members[k]);
            }
          } catch (const nlohmann::json::exception&) {
            ++dropped;
          } catch (const std::exception& e) {
            error = e.what();
            to_retry.push_back(members[k]);
          }
        }
        break;
    }
  }

  std::sort(to_retry.begin(), to_retry.end());  // record order (seq) within the batch
  std::vector<Queued> out;
  out.reserve(to_retry.size());
  for (std::size_t i : to_retry) out.push_back(std::move(batch[i]));
  return out;
}

void AuditLog::run() {
  const auto interval = std::chrono::milliseconds(options_.flush_interval_ms);
  const auto max_batch = static_cast<std::size_t>(options_.max_batch);
  bool backoff = false;  // after a failed round: wait a full interval before retrying
  std::int64_t failed_at_shutdown = 0;

  std::unique_lock lock(mutex_);
  for (;;) {
    if (backoff)
      wake_writer_.wait_for(lock, interval, [] { return false; });
    else
      wake_writer_.wait_for(lock, interval, [&] {
        // A flush waiter wakes the writer only while there is work: with an
        // empty queue a true predicate would spin here holding the mutex and
        // starve the waiter it is meant to release.
        return stop_ || queue_.size() >= max_batch || (flush_waiters_ > 0 && !queue_.empty());
      });
    backoff = false;

    bool failed = false;
    while (!queue_.empty() && !failed) {
      std::vector<Queued> batch;
      const std::size_t n = std::min(queue_.size(), max_batch);
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      progress_.notify_all();  // room for record() callers waiting on max_queue
      lock.unlock();

      std::string error;
      std::int64_t written = 0;
      std::int64_t dropped = 0;
      std::vector<Queued> retry;
      try {
        retry = write_batch(batch, error, written, dropped);
      } catch (const std::exception& e) {
        // bad_alloc outside a group's transaction: keep the whole batch (a
        // group already committed may then be written twice; nothing lost).
        error = e.what();
        retry = std::move(batch);
      }

      lock.lock();
      for (auto it = retry.rbegin(); it != retry.rend(); ++it) queue_.push_front(std::move(*it));
      written_ += written;
      dropped_ += dropped;
      if (!retry.empty()) {
        failed = true;
        ++write_failures_;
        last_write_failed_ = true;
        storage_error_ = error.empty() ? "unknown storage error" : error;
      } else if (written > 0) {
        last_write_failed_ = false;
        storage_error_.clear();
      }
      done_through_ = queue_.empty() ? next_seq_ - 1 : queue_.front().seq - 1;
      progress_.notify_all();
    }

    if (failed) {
      backoff = true;
      if (stop_ && ++failed_at_shutdown >= options_.shutdown_attempts) {
        dropped_ += static_cast<std::int64_t>(queue_.size());
        queue_.clear();
        done_through_ = next_seq_ - 1;
        progress_.notify_all();
        return;
      }
    } else {
      failed_at_shutdown = 0;
    }
    if (stop_ && queue_.empty()) return;
  }
}

KeyStats AuditLog::key_stats(std::string_view tenant, std::string_view key_row_id) {
  flush();
  const std::string since = format_timestamp(clock_() - kDayMs);
  auto tx = storage_.begin(tenant);
  KeyUsageTotals t = tx->key_usage_totals(key_row_id, since, 5);
  KeyStats s;
  s.total = t.total;
  s.successful = t.successful;
  s.failed = t.failed;
  s.avg_response_time_ms = t.avg_response_time_ms;
  s.last_24h_requests = t.since_count;
  s.top_tools = std::move(t.top_tools);
  s.last_used_at = std::move(t.last_used_at);
  if (!s.last_used_at)
    if (auto key = tx->find_api_key(key_row_id)) s.last_used_at = key->last_used_at;
  return s;
}

ServerHealth AuditLog::health() const {
  ServerHealth h;
  h.checked_at = format_timestamp(clock_());
  std::lock_guard lock(mutex_);
  h.window = static_cast<std::int64_t>(sample_count_);
  std::int64_t failed = 0;
  double sum_ms = 0;
  for (std::size_t i = 0; i < sample_count_; ++i) {
    if (!samples_[i].success) ++failed;
    sum_ms += samples_[i].response_time_ms;
  }
  if (h.window > 0) {
    h.avg_response_time_ms = sum_ms / static_cast<double>(h.window);
    h.error_rate = static_cast<double>(failed) / static_cast<double>(h.window);
    h.last_event_at = format_timestamp(last_event_ms_);
  }
  h.last_error = last_error_;
  if (last_write_failed_) h.storage_error = storage_error_;
  h.queued = static_cast<std::int64_t>(queue_.size());
  h.write_failures = write_failures_;

  if (h.window == 0)
    h.status = "unknown";
  else if (last_write_failed_)
    h.status = "offline";
  else if (failed * 10 >= h.window || h.avg_response_time_ms > options_.degraded_ms)
    h.status = "degraded";
  else
    h.status = "online";
  return h;
}

std::vector<UsageLogRow> AuditLog::recent_usage(std::string_view tenant,
                                                std::optional<std::string> key_row_id,
                                                std::int64_t limit) {
  flush();
  auto tx = storage_.begin(tenant);
  return tx->list_usage(std::move(key_row_id), limit);
}

std::vector<ActivityRow> AuditLog::recent_activity(std::string_view tenant, std::int64_t limit) {
  flush();
  std::vector<ActivityRow> out;
  if (limit <= 0) return out;
  std::vector<UsageLogRow> uses;
  {
    auto tx = storage_.begin(tenant);
    out = tx->list_activity(limit);
    uses = tx->list_usage(std::nullopt, limit);
  }
  // Each list holds its newest `limit` rows, so together they hold the
  // newest `limit` entries of the whole log.
  out.reserve(out.size() + uses.size());
  for (const auto& u : uses) out.push_back(activity_of(u));
  std::stable_sort(out.begin(), out.end(), newer);
  if (out.size() > static_cast<std::size_t>(limit)) out.resize(static_cast<std::size_t>(limit));
  return out;
}

std::int64_t AuditLog::write_failures() const {
  std::lock_guard lock(mutex_);
  return write_failures_;
}

std::int64_t AuditLog::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

std::int64_t AuditLog::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

}  // namespace eryxon
