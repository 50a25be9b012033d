// Internal: what the built-in tool modules (src/tools/*_tools.cpp) share:
// JSON Schema builders for inputs, row schemas for outputs (derived from
// each row's describe()), argument readers for arguments that already
// passed their inputSchema, and result shapes (listings with pagination).
// Not installed; not part of the public surface.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "eryxon/error.hpp"
#include "eryxon/model.hpp"
#include "eryxon/storage.hpp"
#include "eryxon/tools.hpp"

namespace eryxon::tools {

using nlohmann::json;

// --- input schema builders ---------------------------------------------------

/// {"type":"object", properties, required, additionalProperties:false}.
json object_schema(json properties, std::vector<std::string> required = {});
/// A row id: string, format uuid.
json id_prop(const char* what);
/// A non-empty list of 1..max_items distinct row ids.
json id_list_prop(const char* what, int max_items = 500);
/// A string of at most max_length characters.
json text_prop(const char* what, int max_length = 1000);
/// A non-empty string of at most max_length characters.
json required_text_prop(const char* what, int max_length = 200);
/// A date "YYYY-MM-DD" / an RFC 3339 date-time.
json date_prop(const char* what);
json datetime_prop(const char* what);
/// An integer / number in [min, max] (max unset: unbounded above).
json int_prop(const char* what, std::int64_t min, std::optional<std::int64_t> max = std::nullopt);
json number_prop(const char* what, double min, std::optional<double> max = std::nullopt);
json bool_prop(const char* what);
/// limit 1..1000 default 50, offset >= 0 default 0 (SPEC.md "MCP tools").
json limit_prop();
json offset_prop();
/// A string restricted to the wire names of enum E.
template <class E>
json enum_prop(const char* what) {
  return {{"type", "string"}, {"enum", enum_names_json<E>()}, {"description", what}};
}
/// A string restricted to `names`.
json choice_prop(const char* what, std::vector<std::string> names);

// --- output schema builders ---------------------------------------------------

/// The JSON Schema of Row's public JSON (to_json of the row): title the row
/// type ("Job"), one property per column of Row::describe, all required,
/// nullable where the column is optional, enums by wire name,
/// additionalProperties false.
template <class Row>
json row_schema();
/// {"type":"array","items":item}.
json array_of(json item);
/// An object schema for outputs: every listed property required,
/// additionalProperties false.
json output_object(json properties);
/// {"type":"integer"} / {"type":"number"} / nullable variants, for outputs.
json out_int();
json out_number();
json out_nullable_number();
json out_string();
json out_nullable_string();
json out_bool();

// --- argument readers (arguments already match the inputSchema) ---------------

std::optional<std::string> opt_text(const json& args, const char* key);
std::string text(const json& args, const char* key);
std::optional<std::int64_t> opt_int(const json& args, const char* key);
std::optional<double> opt_number(const json& args, const char* key);
std::optional<bool> opt_bool(const json& args, const char* key);
std::vector<std::string> text_list(const json& args, const char* key);
template <class E>
std::optional<E> opt_enum(const json& args, const char* key) {
  auto value = opt_text(args, key);
  if (!value) return std::nullopt;
  return parse_enum<E>(*value);
}
PageRequest page_of(const json& args);

// --- results ---------------------------------------------------------------------

/// A page of rows as data (an array) plus pagination {offset, limit, total,
/// has_more}.
template <class Row>
ToolOutput listing(const Page<Row>& page) {
  return {json(page.items), json{{"offset", page.offset},
                                 {"limit", page.limit},
                                 {"total", page.total},
                                 {"has_more", page.has_more()}}};
}
/// A page cut from a complete vector by limit/offset.
template <class Row>
ToolOutput listing_of(const std::vector<Row>& rows, const PageRequest& page) {
  const auto total = static_cast<std::int64_t>(rows.size());
  const auto begin = std::min(page.offset, total);
  const auto end = std::min(total, begin + page.limit);
  json items = json::array();
  for (auto i = begin; i < end; ++i) items.push_back(rows[static_cast<std::size_t>(i)]);
  return {std::move(items),
          json{{"offset", page.offset}, {"limit", page.limit}, {"total", total},
               {"has_more", end < total}}};
}

/// Annotations of a read-only tool, and of a tool that changes rows.
ToolAnnotations reader(const char* title);
ToolAnnotations writer(const char* title, bool idempotent, bool destructive = false);

// --- row_schema --------------------------------------------------------------------

namespace detail {
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {
  using value_type = T;
};

template <class T>
json scalar_schema(bool nullable) {
  json s;
  const char* type = nullptr;
  if constexpr (std::is_same_v<T, std::string>) type = "string";
  else if constexpr (std::is_same_v<T, bool>) type = "boolean";
  else if constexpr (std::is_integral_v<T>) type = "integer";
  else if constexpr (std::is_floating_point_v<T>) type = "number";
  else if constexpr (std::is_enum_v<T>) {
    type = "string";
    json names = enum_names_json<T>();
    if (nullable) names.push_back(nullptr);
    s["enum"] = std::move(names);
  } else {
    return json::object();  // free-form JSON (metadata, pauses)
  }
  s["type"] = nullable ? json::array({type, "null"}) : json(type);
  return s;
}

struct SchemaVisitor {
  json& properties;
  json& required;
  template <class T>
  void operator()(const char* key, const T&) {
    if constexpr (is_optional<T>::value)
      properties[key] = scalar_schema<typename is_optional<T>::value_type>(true);
    else
      properties[key] = scalar_schema<T>(false);
    required.push_back(key);
  }
};
}  // namespace detail

template <class Row>
constexpr const char* row_title() {
  if constexpr (std::is_same_v<Row, Job>) return "Job";
  else if constexpr (std::is_same_v<Row, Part>) return "Part";
  else if constexpr (std::is_same_v<Row, Operation>) return "Operation";
  else if constexpr (std::is_same_v<Row, Cell>) return "Cell";
  else if constexpr (std::is_same_v<Row, Resource>) return "Resource";
  else if constexpr (std::is_same_v<Row, OperationResource>) return "OperationResource";
  else if constexpr (std::is_same_v<Row, Issue>) return "Issue";
  else if constexpr (std::is_same_v<Row, Substep>) return "Substep";
  else if constexpr (std::is_same_v<Row, ScrapReason>) return "ScrapReason";
  else if constexpr (std::is_same_v<Row, OperationQuantity>) return "OperationQuantity";
  else if constexpr (std::is_same_v<Row, TimeEntry>) return "TimeEntry";
  else if constexpr (std::is_same_v<Row, Assignment>) return "Assignment";
  else if constexpr (std::is_same_v<Row, Tenant>) return "Tenant";
  else return "Row";
}

template <class Row>
json row_schema() {
  json properties = json::object();
  json required = json::array();
  const Row row{};
  Row::describe(row, detail::SchemaVisitor{properties, required});
  return {{"title", row_title<Row>()},
          {"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

}  // namespace eryxon::tools
