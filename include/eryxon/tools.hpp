// eryxon/tools.hpp - the tool registry: named operations with JSON Schemas.
//
// A tool is what an MCP client calls (MCP spec 2025-11-25, "Tools"): a name,
// a description, an `inputSchema` (JSON Schema, draft 2020-12 subset below),
// annotations, and a handler. The registry validates arguments against the
// schema before the handler runs, so handlers only see well-typed input.
//
// Supported JSON Schema keywords (anything else in a schema is ignored by the
// validator, so do not rely on it): type (string or array of strings),
// properties, required, additionalProperties (false or a schema), enum,
// const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
// maxLength, format ("date", "date-time", "uuid"), items, minItems,
// maxItems, uniqueItems. `pattern`, `$ref` and composition keywords are not
// supported.
//
// Thread safety: add() must not race with other calls; after setup, find()
// and list() may be called from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eryxon/export.h"
#include "eryxon/keys.hpp"
#include "eryxon/shop.hpp"

namespace eryxon {

/// MCP tool annotations (hints to clients, never trusted for security).
struct ToolAnnotations {
  std::string title;
  bool read_only = false;    ///< readOnlyHint
  bool destructive = false;  ///< destructiveHint (meaningful when !read_only)
  bool idempotent = false;   ///< idempotentHint
  bool open_world = false;   ///< openWorldHint
};

/// What a handler gets besides its arguments.
struct ToolContext {
  std::string tenant_id;    ///< the caller's tenant; handlers act only on it
  const KeyIdentity* key;   ///< the validated key (never null during a call)
  Shop& shop;
};

/// A handler's successful answer: `data` and, for listings, a pagination
/// object {offset, limit, total, has_more}.
struct ToolOutput {
  nlohmann::json data;
  std::optional<nlohmann::json> pagination = std::nullopt;
};

/// Runs a tool. Arguments have passed the inputSchema. Throw eryxon::Error
/// for expected failures; they become isError results with the error's code.
using ToolHandler = std::function<ToolOutput(ToolContext& ctx, const nlohmann::json& args)>;

struct ToolDefinition {
  std::string name;  ///< 1..128 of [A-Za-z0-9_.-], unique in the registry
  std::string description;
  nlohmann::json input_schema;  ///< JSON Schema object with "type":"object"
  ToolAnnotations annotations;
  ToolHandler handler;
};

/// One validation failure: a JSON Pointer into the instance and a message.
struct SchemaViolation {
  std::string path;  ///< "" for the root, e.g. "/limit"
  std::string message;
};

/// Validates `instance` against `schema` (keywords listed in the file
/// comment). Returns every violation found, empty when valid. Pure.
ERYXON_EXPORT std::vector<SchemaViolation> validate_against_schema(const nlohmann::json& schema,
                                                                   const nlohmann::json& instance);

class ERYXON_EXPORT ToolRegistry {
 public:
  /// Adds a tool. Throws VALIDATION_ERROR for a bad or duplicate name, a
  /// missing handler, or an inputSchema that is not an object schema.
  void add(ToolDefinition tool);
  /// Removes a tool; false when it was not registered.
  bool remove(std::string_view name);
  /// The tool or nullptr. The pointer stays valid until remove() of it.
  const ToolDefinition* find(std::string_view name) const;
  /// All tools in registration order.
  std::vector<const ToolDefinition*> list() const;
  std::size_t size() const { return order_.size(); }

  /// The MCP Tool object: {name, title, description, inputSchema,
  /// annotations}.
  static nlohmann::json describe(const ToolDefinition& tool);

 private:
  std::map<std::string, std::unique_ptr<ToolDefinition>, std::less<>> tools_;
  std::vector<std::string> order_;
};

/// Registers the built-in shop-floor tools: fetch_jobs, create_job,
/// update_job, start_job, stop_job, resume_job, complete_job, fetch_parts,
/// update_part, fetch_operations, start_operation, pause_operation,
/// complete_operation, get_dashboard_stats.
ERYXON_EXPORT void register_shop_tools(ToolRegistry& registry);

}  // namespace eryxon
