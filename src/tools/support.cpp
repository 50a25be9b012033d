// Shared builders and readers of the built-in tool modules (support.hpp).
#include "tools/support.hpp"

namespace eryxon::tools {

json object_schema(json properties, std::vector<std::string> required) {
  if (properties.is_null()) properties = json::object();  // object_schema({})
  json s = {{"type", "object"}, {"properties", std::move(properties)},
            {"additionalProperties", false}};
  if (!required.empty()) s["required"] = required;
  return s;
}

json id_prop(const char* what) {
  return {{"type", "string"}, {"format", "uuid"}, {"description", what}};
}

json id_list_prop(const char* what, int max_items) {
  return {{"type", "array"},
          {"items", {{"type", "string"}, {"format", "uuid"}}},
          {"minItems", 1},
          {"maxItems", max_items},
          {"uniqueItems", true},
          {"description", what}};
}

json text_prop(const char* what, int max_length) {
  return {{"type", "string"}, {"maxLength", max_length}, {"description", what}};
}

json required_text_prop(const char* what, int max_length) {
  return {{"type", "string"}, {"minLength", 1}, {"maxLength", max_length}, {"description", what}};
}

json date_prop(const char* what) {
  return {{"type", "string"}, {"format", "date"}, {"description", what}};
}

json datetime_prop(const char* what) {
  return {{"type", "string"}, {"format", "date-time"}, {"description", what}};
}

json int_prop(const char* what, std::int64_t min, std::optional<std::int64_t> max) {
  json s = {{"type", "integer"}, {"minimum", min}, {"description", what}};
  if (max) s["maximum"] = *max;
  return s;
}

json number_prop(const char* what, double min, std::optional<double> max) {
  json s = {{"type", "number"}, {"minimum", min}, {"description", what}};
  if (max) s["maximum"] = *max;
  return s;
}

json bool_prop(const char* what) { return {{"type", "boolean"}, {"description", what}}; }

json limit_prop() {
  return {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 50},
          {"description", "Maximum rows to return (1-1000, default 50)"}};
}

json offset_prop() {
  return {{"type", "integer"}, {"minimum", 0}, {"default", 0},
          {"description", "Rows to skip (default 0)"}};
}

json choice_prop(const char* what, std::vector<std::string> names) {
  return {{"type", "string"}, {"enum", std::move(names)}, {"description", what}};
}

json array_of(json item) { return {{"type", "array"}, {"items", std::move(item)}}; }

json output_object(json properties) {
  json required = json::array();
  for (const auto& [name, _] : properties.items()) required.push_back(name);
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

json out_int() { return {{"type", "integer"}}; }
json out_number() { return {{"type", "number"}}; }
json out_nullable_number() { return {{"type", {"number", "null"}}}; }
json out_string() { return {{"type", "string"}}; }
json out_nullable_string() { return {{"type", {"string", "null"}}}; }
json out_bool() { return {{"type", "boolean"}}; }

std::optional<std::string> opt_text(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

std::string text(const json& args, const char* key) { return args.at(key).get<std::string>(); }

std::optional<std::int64_t> opt_int(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::nullopt;
  return it->get<std::int64_t>();
}

std::optional<double> opt_number(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::nullopt;
  return it->get<double>();
}

std::optional<bool> opt_bool(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::nullopt;
  return it->get<bool>();
}

std::vector<std::string> text_list(const json& args, const char* key) {
  std::vector<std::string> out;
  auto it = args.find(key);
  if (it == args.end() || !it->is_array()) return out;
  for (const auto& v : *it) out.push_back(v.get<std::string>());
  return out;
}

PageRequest page_of(const json& args) {
  PageRequest p;
  if (auto v = opt_int(args, "limit")) p.limit = *v;
  if (auto v = opt_int(args, "offset")) p.offset = *v;
  return p;
}

ToolAnnotations reader(const char* title) { return {title, true, false, true, false}; }

ToolAnnotations writer(const char* title, bool idempotent, bool destructive) {
  return {title, false, destructive, idempotent, false};
}

}  // namespace eryxon::tools
