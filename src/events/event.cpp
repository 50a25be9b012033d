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

}  // namespace eryxon
