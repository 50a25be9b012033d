// Event payload shapes (eryxon/events.hpp).
#include "eryxon/events.hpp"

#include <sodium.h>

#include "core/sodium_init.hpp"
#include "eryxon/clock.hpp"

namespace eryxon {

EventSink::~EventSink() = default;

bool event_matches(const std::vector<std::string>& patterns, std::string_view name) {
  for (const std::string& p : patterns) {
    const std::string_view type = p;
    if (type == "*" || type == name) return true;
    if (type.size() > 2 && type.ends_with(".*")) {
      const std::string_view prefix = type.substr(0, type.size() - 1);  // keeps the '.'
      if (name.size() > prefix.size() && name.starts_with(prefix)) return true;
    }
  }
  return false;
}

std::string new_event_id(std::int64_t now_ms) {
  static constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  ensure_sodium();
  unsigned char bytes[16];
  const auto t = static_cast<std::uint64_t>(now_ms < 0 ? 0 : now_ms);
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<unsigned char>(t >> (8 * (5 - i)));
  randombytes_buf(bytes + 6, 10);
  // 128 bits as 26 base32 digits, most significant first (the first digit
  // carries the top 3 bits).
  std::string out = "evt_";
  out.resize(4 + 26);
  unsigned __int128 v = 0;
  for (unsigned char b : bytes) v = (v << 8) | b;
  for (int i = 25; i >= 0; --i) {
    out[4 + static_cast<std::size_t>(i)] = kCrockford[static_cast<unsigned>(v & 31u)];
    v >>= 5;
  }
  return out;
}

Event make_event(std::string_view tenant_id, std::string_view name, std::string_view entity_type,
                 std::string_view entity_id, nlohmann::json previous, nlohmann::json current,
                 std::int64_t now_ms, std::string_view cell_name, const nlohmann::json& extra) {
  Event e;
  e.id = new_event_id(now_ms);
  e.tenant_id = std::string(tenant_id);
  e.name = std::string(name);
  e.entity_type = std::string(entity_type);
  e.entity_id = std::string(entity_id);
  e.cell_name = std::string(cell_name);
  e.occurred_at_ms = now_ms;
  e.occurred_at = format_timestamp(now_ms);
  e.data = {{"previous", std::move(previous)}, {"current", std::move(current)}};
  if (extra.is_object())
    for (auto it = extra.begin(); it != extra.end(); ++it) e.data[it.key()] = it.value();
  return e;
}

nlohmann::json webhook_body(const Event& event) {
  return {{"event", event.name}, {"timestamp", event.occurred_at}, {"data", event.data}};
}

nlohmann::json mqtt_payload(const Event& event) {
  return {{"id", event.id},
          {"event", event.name},
          {"timestamp", event.occurred_at},
          {"tenant_id", event.tenant_id},
          {"data", event.data}};
}

namespace {
nlohmann::json or_null(const auto& optional) {
  return optional ? nlohmann::json(*optional) : nlohmann::json(nullptr);
}
}  // namespace

void to_json(nlohmann::json& out, const Event& e) {
  out = {{"id", e.id},
         {"seq", e.seq},
         {"tenant_id", e.tenant_id},
         {"name", e.name},
         {"entity_type", e.entity_type},
         {"entity_id", e.entity_id},
         {"cell_name", e.cell_name},
         {"occurred_at", e.occurred_at},
         {"occurred_at_ms", e.occurred_at_ms},
         {"data", e.data}};
}

void to_json(nlohmann::json& out, const Delivery& d) {
  out = {{"endpoint_id", d.endpoint_id},
         {"seq", d.seq},
         {"event_id", d.event_id},
         {"event_name", d.event_name},
         {"entity_key", d.entity_key},
         {"status", d.status},
         {"attempts", d.attempts},
         {"next_attempt_ms", d.next_attempt_ms},
         {"last_http_status", or_null(d.last_http_status)},
         {"last_error", or_null(d.last_error)},
         {"created_at", d.created_at},
         {"updated_at", d.updated_at}};
}

void to_json(nlohmann::json& out, const DeliveryAttempt& a) {
  out = {{"id", a.id},
         {"endpoint_id", a.endpoint_id},
         {"seq", a.seq},
         {"event_id", a.event_id},
         {"attempt", a.attempt},
         {"outcome", a.outcome},
         {"http_status", or_null(a.http_status)},
         {"detail", a.detail},
         {"duration_ms", a.duration_ms},
         {"created_at", a.created_at}};
}

void to_json(nlohmann::json& out, const EndpointState& s) {
  out = {{"endpoint_id", s.endpoint_id},
         {"cursor_seq", s.cursor_seq},
         {"disabled", s.disabled},
         {"disabled_reason", or_null(s.disabled_reason)},
         {"updated_at", s.updated_at}};
}

}  // namespace eryxon
