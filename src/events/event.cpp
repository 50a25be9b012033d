// Event payload shapes (eryxon/events.hpp).
#include "eryxon/events.hpp"

namespace eryxon {

EventSink::~EventSink() = default;

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
