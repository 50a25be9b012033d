// ToolRegistry: names, schemas, MCP Tool descriptions.
#include <fmt/format.h>

#include "eryxon/error.hpp"
#include "eryxon/tools.hpp"

namespace eryxon {
namespace {

bool valid_tool_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

ToolRegistry::ToolRegistry() = default;
ToolRegistry::~ToolRegistry() = default;

void ToolRegistry::add(ToolDefinition tool) {
  if (!valid_tool_name(tool.name))
    throw Error(ErrorCode::validation_error,
                fmt::format("Tool name '{}' must be 1-128 of [A-Za-z0-9_.-]", tool.name));
  if (!tool.handler)
    throw Error(ErrorCode::validation_error, fmt::format("Tool {} has no handler", tool.name));
  if (!tool.input_schema.is_object() || tool.input_schema.value("type", "") != "object")
    throw Error(ErrorCode::validation_error,
                fmt::format("Tool {} needs an inputSchema with \"type\":\"object\"", tool.name));
  if (auto props = tool.input_schema.find("properties");
      props != tool.input_schema.end() && !props->is_object())
    throw Error(ErrorCode::validation_error,
                fmt::format("Tool {}: inputSchema.properties must be an object", tool.name));
  std::string name = tool.name;
  auto def = std::make_shared<const ToolDefinition>(std::move(tool));
  {
    std::lock_guard lock(mutex_);
    if (tools_.count(name))
      throw Error(ErrorCode::duplicate_entry, fmt::format("Tool {} is already registered", name));
    tools_.emplace(name, std::move(def));
    order_.push_back(std::move(name));
    version_.fetch_add(1, std::memory_order_acq_rel);
  }
  notify();
}

bool ToolRegistry::remove(std::string_view name) { return take(name) != nullptr; }

ToolPtr ToolRegistry::take(std::string_view name) {
  ToolPtr removed;
  {
    std::lock_guard lock(mutex_);
    auto it = tools_.find(name);
    if (it == tools_.end()) return nullptr;
    removed = std::move(it->second);
    tools_.erase(it);
    std::erase(order_, name);
    version_.fetch_add(1, std::memory_order_acq_rel);
  }
  notify();
  return removed;
}

ToolPtr ToolRegistry::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second;
}

std::vector<ToolPtr> ToolRegistry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<ToolPtr> out;
  out.reserve(order_.size());
  for (const auto& n : order_) out.push_back(tools_.find(n)->second);
  return out;
}

std::size_t ToolRegistry::size() const {
  std::lock_guard lock(mutex_);
  return order_.size();
}

std::uint64_t ToolRegistry::subscribe(Listener listener) {
  std::lock_guard lock(listeners_mutex_);
  const std::uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void ToolRegistry::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(listeners_mutex_);  // waits for a running notify()
  listeners_.erase(id);
}

void ToolRegistry::notify() {
  std::lock_guard lock(listeners_mutex_);
  const std::uint64_t v = version();
  for (auto& [id, listener] : listeners_) {
    try {
      if (listener) listener(v);
    } catch (...) {
      // A listener's failure is its own; the change stands.
    }
  }
}

nlohmann::json tool_result_schema(const nlohmann::json& data_schema) {
  using nlohmann::json;
  json codes = json::array();
  for (const auto name : {"VALIDATION_ERROR", "NOT_FOUND", "DUPLICATE_ENTRY",
                          "INVALID_STATE_TRANSITION", "INSUFFICIENT_PERMISSIONS",
                          "AUTHENTICATION_ERROR", "RATE_LIMITED",
                          "QUOTA_EXCEEDED", "CONFLICT", "DATABASE_ERROR", "INTERNAL_ERROR"})
    codes.push_back(name);
  const json count = {{"type", "integer"}, {"minimum", 0}};
  return {
      {"type", "object"},
      {"properties",
       {{"success", {{"type", "boolean"}}},
        {"data", data_schema},
        {"pagination",
         {{"type", "object"},
          {"properties",
           {{"offset", count}, {"limit", count}, {"total", count}, {"has_more", {{"type", "boolean"}}}}},
          {"required", {"offset", "limit", "total", "has_more"}}}},
        {"error",
         {{"type", "object"},
          {"properties",
           {{"code", {{"type", "string"}, {"enum", codes}}},
            {"message", {{"type", "string"}}},
            {"context", json::object()}}},
          {"required", {"code", "message"}}}}}},
      {"required", {"success"}}};
}

nlohmann::json ToolRegistry::describe(const ToolDefinition& tool) {
  nlohmann::json t = {{"name", tool.name},
                      {"description", tool.description},
                      {"inputSchema", tool.input_schema}};
  if (!tool.output_schema.is_null()) t["outputSchema"] = tool_result_schema(tool.output_schema);
  nlohmann::json ann = {{"readOnlyHint", tool.annotations.read_only},
                        {"idempotentHint", tool.annotations.idempotent},
                        {"openWorldHint", tool.annotations.open_world}};
  if (!tool.annotations.read_only) ann["destructiveHint"] = tool.annotations.destructive;
  if (!tool.annotations.title.empty()) {
    t["title"] = tool.annotations.title;
    ann["title"] = tool.annotations.title;
  }
  t["annotations"] = std::move(ann);
  return t;
}

}  // namespace eryxon
