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
  if (tools_.count(tool.name))
    throw Error(ErrorCode::duplicate_entry, fmt::format("Tool {} is already registered", tool.name));
  std::string name = tool.name;
  tools_.emplace(name, std::make_unique<ToolDefinition>(std::move(tool)));
  order_.push_back(std::move(name));
}

bool ToolRegistry::remove(std::string_view name) {
  auto it = tools_.find(name);
  if (it == tools_.end()) return false;
  tools_.erase(it);
  std::erase(order_, name);
  return true;
}

const ToolDefinition* ToolRegistry::find(std::string_view name) const {
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second.get();
}

std::vector<const ToolDefinition*> ToolRegistry::list() const {
  std::vector<const ToolDefinition*> out;
  out.reserve(order_.size());
  for (const auto& n : order_) out.push_back(tools_.find(n)->second.get());
  return out;
}

nlohmann::json ToolRegistry::describe(const ToolDefinition& tool) {
  nlohmann::json t = {{"name", tool.name},
                      {"description", tool.description},
                      {"inputSchema", tool.input_schema}};
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
