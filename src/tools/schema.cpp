// A JSON Schema validator for the keyword subset listed in eryxon/tools.hpp.
//
// Semantics follow JSON Schema 2020-12 ("Validation" vocabulary): "integer"
// accepts any number with a zero fractional part; "number" accepts integers;
// a schema without "type" accepts every type.
#include <fmt/format.h>

#include <cctype>
#include <cmath>

#include "eryxon/clock.hpp"
#include "eryxon/tools.hpp"

namespace eryxon {
namespace {

using nlohmann::json;

bool has_type(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (!v.is_number_float()) return false;
    const double d = v.get<double>();
    return std::isfinite(d) && std::floor(d) == d;
  }
  return false;
}

// Length in Unicode code points, as JSON Schema counts it (UTF-8 input).
std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

bool is_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::string escape_pointer(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

class Validator {
 public:
  std::vector<SchemaViolation> violations;

  void check(const json& schema, const json& v, const std::string& path) {
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) add(path, "no value is allowed here");
      return;
    }
    if (!schema.is_object()) return;

    if (auto t = schema.find("type"); t != schema.end()) {
      bool ok = false;
      std::string names;
      if (t->is_string()) {
        ok = has_type(v, t->get<std::string>());
        names = t->get<std::string>();
      } else if (t->is_array()) {
        for (const auto& one : *t) {
          if (!one.is_string()) continue;
          ok = ok || has_type(v, one.get<std::string>());
          names += (names.empty() ? "" : " or ") + one.get<std::string>();
        }
      } else {
        ok = true;
      }
      if (!ok) {
        add(path, fmt::format("must be of type {}, got {}", names, v.type_name()));
        return;  // the other keywords would only repeat the complaint
      }
    }
    if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
      bool found = false;
      for (const auto& option : *e) found = found || option == v;
      if (!found) add(path, fmt::format("must be one of {}", e->dump()));
    }
    if (auto c = schema.find("const"); c != schema.end() && *c != v)
      add(path, fmt::format("must equal {}", c->dump()));

    if (v.is_number()) check_number(schema, v.get<double>(), path);
    if (v.is_string()) check_string(schema, v.get_ref<const std::string&>(), path);
    if (v.is_array()) check_array(schema, v, path);
    if (v.is_object()) check_object(schema, v, path);
  }

 private:
  void add(const std::string& path, std::string message) {
    violations.push_back({path, std::move(message)});
  }

  static std::optional<double> number(const json& schema, const char* key) {
    auto it = schema.find(key);
    if (it == schema.end() || !it->is_number()) return std::nullopt;
    return it->get<double>();
  }

  void check_number(const json& schema, double d, const std::string& path) {
    if (auto m = number(schema, "minimum"); m && d < *m) add(path, fmt::format("must be >= {}", *m));
    if (auto m = number(schema, "maximum"); m && d > *m) add(path, fmt::format("must be <= {}", *m));
    if (auto m = number(schema, "exclusiveMinimum"); m && d <= *m)
      add(path, fmt::format("must be > {}", *m));
    if (auto m = number(schema, "exclusiveMaximum"); m && d >= *m)
      add(path, fmt::format("must be < {}", *m));
  }

  void check_string(const json& schema, const std::string& s, const std::string& path) {
    const std::size_t len = code_points(s);
    if (auto m = number(schema, "minLength"); m && static_cast<double>(len) < *m)
      add(path, fmt::format("must be at least {} characters long", *m));
    if (auto m = number(schema, "maxLength"); m && static_cast<double>(len) > *m)
      add(path, fmt::format("must be at most {} characters long", *m));
    if (auto f = schema.find("format"); f != schema.end() && f->is_string()) {
      const std::string& format = f->get_ref<const std::string&>();
      if (format == "date" && !is_valid_date(s)) add(path, "must be a date YYYY-MM-DD");
      if (format == "date-time" && (s.size() <= 10 || !parse_timestamp(s)))
        add(path, "must be an RFC 3339 date-time");
      if (format == "uuid" && !is_uuid(s)) add(path, "must be a UUID");
    }
  }

  void check_array(const json& schema, const json& v, const std::string& path) {
    if (auto m = number(schema, "minItems"); m && static_cast<double>(v.size()) < *m)
      add(path, fmt::format("must have at least {} items", *m));
    if (auto m = number(schema, "maxItems"); m && static_cast<double>(v.size()) > *m)
      add(path, fmt::format("must have at most {} items", *m));
    if (auto u = schema.find("uniqueItems"); u != schema.end() && u->is_boolean() && u->get<bool>())
      for (std::size_t i = 0; i < v.size(); ++i)
        for (std::size_t j = i + 1; j < v.size(); ++j)
          if (v[i] == v[j]) {
            add(path, "items must be unique");
            i = v.size();
            break;
          }
    if (auto items = schema.find("items"); items != schema.end())
      for (std::size_t i = 0; i < v.size(); ++i)
        check(*items, v[i], fmt::format("{}/{}", path, i));
  }

  void check_object(const json& schema, const json& v, const std::string& path) {
    if (auto req = schema.find("required"); req != schema.end() && req->is_array())
      for (const auto& name : *req)
        if (name.is_string() && !v.contains(name.get<std::string>()))
          add(path, fmt::format("missing required property '{}'", name.get<std::string>()));
    const json* props = nullptr;
    if (auto p = schema.find("properties"); p != schema.end() && p->is_object()) props = &*p;
    const auto extra = schema.find("additionalProperties");
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string child = path + "/" + escape_pointer(it.key());
      if (props && props->contains(it.key())) {
        check((*props)[it.key()], it.value(), child);
      } else if (extra != schema.end()) {
        if (extra->is_boolean() && !extra->get<bool>())
          add(child, fmt::format("unknown property '{}'", it.key()));
        else
          check(*extra, it.value(), child);
      }
    }
  }
};

}  // namespace

std::vector<SchemaViolation> validate_against_schema(const nlohmann::json& schema,
                                                     const nlohmann::json& instance) {
  Validator v;
  v.check(schema, instance, "");
  return std::move(v.violations);
}

}  // namespace eryxon
