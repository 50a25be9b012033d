// Internal to the CLI: `eryxon tools catalog`, the tool catalog rendered
// from the registries' own schemas (docs/tools.md is its output).
#pragma once

#include <string>

#include "eryxon/engine.hpp"

namespace eryxon::cli {

/// Markdown of every tool (engine.tools()) and host action
/// (engine.host_actions()): per entry its title, description, annotations,
/// a table of inputSchema properties and a summary of its outputSchema.
/// Deterministic for a given registry (registration order).
std::string tool_catalog_markdown(Engine& engine);

/// {"tools":[MCP Tool...],"host_actions":[MCP Tool...]} as pretty JSON.
std::string tool_catalog_json(Engine& engine);

}  // namespace eryxon::cli
