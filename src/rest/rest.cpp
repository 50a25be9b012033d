// The REST request handler (eryxon/rest.hpp): routing, Bearer
// authentication, status mapping and rate-limit headers on top of the
// engine's single tool-call path.
#include "eryxon/rest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include "eryxon/error.hpp"

namespace eryxon {
namespace {

using nlohmann::json;

struct Route {
  const char* method;
  const char* pattern;  // segments after the base path; "{id}" matches one segment
  const char* tool;
  int success_status;
  bool body_is_arguments;  // POST/PATCH body merged into the arguments
};

// Longest patterns first is not needed: segments must match exactly.
constexpr Route kRoutes[] = {
    {"GET", "jobs", "fetch_jobs", 200, false},
    {"POST", "jobs", "create_job", 201, true},
    {"PATCH", "jobs/{id}", "update_job", 200, true},
    {"POST", "jobs/{id}/start", "start_job", 200, false},
    {"POST", "jobs/{id}/stop", "stop_job", 200, false},
    {"POST", "jobs/{id}/resume", "resume_job", 200, false},
    {"POST", "jobs/{id}/complete", "complete_job", 200, false},
    {"GET", "parts", "fetch_parts", 200, false},
    {"PATCH", "parts/{id}", "update_part", 200, true},
    {"GET", "operations", "fetch_operations", 200, false},
    {"POST", "operations/{id}/start", "start_operation", 200, false},
    {"POST", "operations/{id}/pause", "pause_operation", 200, false},
    {"POST", "operations/{id}/complete", "complete_operation", 200, false},
    {"GET", "dashboard", "get_dashboard_stats", 200, false},
    {"POST", "tools/{name}", nullptr, 200, true},
};

// The argument an {id} segment fills, per tool.
const char* id_argument(std::string_view tool) {
  if (tool.find("job") != std::string_view::npos) return "job_id";
  if (tool.find("part") != std::string_view::npos) return "part_id";
  return "operation_id";
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding for query components ('+' is a space there).
std::optional<std::string> url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i] == '+' ? ' ' : in[i]);
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

const std::string* header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (lower(k) == lower(name)) return &v;
  return nullptr;
}

// A query value as the type the tool's schema declares for it.
json coerce(const json& schema, const std::string& name, const std::string& value) {
  const auto props = schema.find("properties");
  if (props == schema.end() || !props->contains(name)) return value;
  const std::string type = (*props)[name].value("type", "");
  if (type == "integer") {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(value.c_str(), &end, 10);
    if (!value.empty() && *end == '\0' && errno == 0) return v;
  } else if (type == "number") {
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (!value.empty() && *end == '\0') return v;
  } else if (type == "boolean") {
    if (value == "true") return true;
    if (value == "false") return false;
  }
  return value;  // left as text: schema validation names the problem
}

RestResponse json_response(int status, const json& body) {
  RestResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

RestResponse error_response(int status, std::string_view code, std::string_view message,
                            json context = json::object()) {
  return json_response(status, {{"success", false},
                                {"error", {{"code", code}, {"message", message}, {"context", context}}}});
}

int status_for(std::string_view code) {
  if (code == "VALIDATION_ERROR") return 422;
  if (code == "NOT_FOUND") return 404;
  if (code == "DUPLICATE_ENTRY" || code == "INVALID_STATE_TRANSITION" || code == "CONFLICT")
    return 409;
  if (code == "INSUFFICIENT_PERMISSIONS") return 403;
  if (code == "AUTHENTICATION_ERROR") return 401;
  if (code == "RATE_LIMITED") return 429;
  if (code == "QUOTA_EXCEEDED") return 402;
  return 500;
}

RestResponse unauthorized_response(bool presented) {
  RestResponse r = error_response(401, "AUTHENTICATION_ERROR", "Invalid or disabled API key");
  r.headers.emplace_back("WWW-Authenticate", presented
                                                 ? R"(Bearer realm="eryxon", error="invalid_token")"
                                                 : R"(Bearer realm="eryxon")");
  return r;
}

// The response for an engine outcome, with RateLimit headers when the
// request reached the limiter.
RestResponse response_for(const CallResult& result, int success_status, const std::string& tool,
                          std::int64_t now_ms) {
  RestResponse response;
  switch (result.status) {
    case CallStatus::ok:
      response = json_response(success_status, result.body);
      break;
    case CallStatus::tool_error: {
      const std::string code = result.body["error"].value("code", "INTERNAL_ERROR");
      response = json_response(status_for(code), result.body);
      break;
    }
    case CallStatus::forbidden:
      response = error_response(403, "INSUFFICIENT_PERMISSIONS", "Tool not allowed for this key",
                                {{"tool", tool}});
      break;
    case CallStatus::unknown_tool:
      response = error_response(404, "NOT_FOUND", fmt::format("Unknown tool: {}", tool));
      break;
    case CallStatus::unauthenticated:
      return unauthorized_response(true);
    case CallStatus::rate_limited:
      response = error_response(429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded",
                                result.body.value("data", json::object()));
      break;
    case CallStatus::quota_exceeded:
      response = error_response(402, "QUOTA_EXCEEDED", "Daily request quota exceeded",
                                result.body.value("data", json::object()));
      response.headers.emplace_back(
          "Retry-After", std::to_string(result.body["data"].value("retry_after_seconds", 1)));
      break;
  }
  if (result.rate && result.limit)
    for (auto& h : rate_limit_headers(*result.rate, *result.limit, now_ms))
      response.headers.push_back(std::move(h));
  return response;
}

}  // namespace

RestHandler::RestHandler(Engine& engine, RestOptions options)
    : engine_(engine), options_(std::move(options)) {}

RestResponse RestHandler::handle(const RestRequest& request) const noexcept {
  try {
    return dispatch(request);
  } catch (const Error& e) {
    return error_response(status_for(to_string(e.code())), to_string(e.code()), e.what(),
                          e.context());
  } catch (const std::exception& e) {
    return error_response(500, "INTERNAL_ERROR", "Internal error", {{"detail", e.what()}});
  } catch (...) {
    return error_response(500, "INTERNAL_ERROR", "Internal error");
  }
}

RestResponse RestHandler::dispatch(const RestRequest& request) const {
  // --- route -----------------------------------------------------------------
  const std::string_view target = request.target;
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  if (path.substr(0, options_.base_path.size()) != options_.base_path ||
      (path.size() > options_.base_path.size() && path[options_.base_path.size()] != '/'))
    return error_response(404, "NOT_FOUND", "No such endpoint");
  const auto segments = split_path(path.substr(options_.base_path.size()));

  const Route* route = nullptr;
  std::string captured;
  std::vector<std::string> allowed_methods;
  for (const Route& r : kRoutes) {
    const auto pattern = split_path(r.pattern);
    if (pattern.size() != segments.size()) continue;
    std::string cap;
    bool match = true;
    for (std::size_t i = 0; i < pattern.size() && match; ++i) {
      if (pattern[i].front() == '{')
        cap = segments[i];
      else
        match = pattern[i] == segments[i];
    }
    if (!match) continue;
    allowed_methods.emplace_back(r.method);
    if (request.method == r.method) {
      route = &r;
      captured = cap;
    }
  }
  if (allowed_methods.empty()) return error_response(404, "NOT_FOUND", "No such endpoint");
  if (!route) {
    RestResponse r = error_response(405, "METHOD_NOT_ALLOWED",
                                    fmt::format("{} is not allowed here", request.method));
    r.headers.emplace_back("Allow", fmt::format("{}", fmt::join(allowed_methods, ", ")));
    return r;
  }

  // --- authenticate ------------------------------------------------------------
  const std::string* auth = header(request.headers, "Authorization");
  if (!auth) return unauthorized_response(false);
  if (auth->size() < 7 || lower(auth->substr(0, 7)) != "bearer ") return unauthorized_response(true);
  std::string_view token = std::string_view(*auth).substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  KeyRejection why{};
  const auto identity = engine_.keys().check_key(KeyFamily::rest, token, &why);
  if (!identity) return unauthorized_response(true);
  {
    bool env_ok = false;
    for (std::string_view rest = options_.environments; !rest.empty();) {
      const auto comma = rest.find(',');
      env_ok = env_ok || rest.substr(0, comma) == identity->environment;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    if (!env_ok) return unauthorized_response(true);
  }

  // --- audit: from here on every answer is a logged use of the key ---------------
  const auto started = std::chrono::steady_clock::now();
  const std::string tool = route->tool ? route->tool : captured;
  // The route, not the path: ids would make every request its own "tool".
  const std::string operation =
      route->tool ? fmt::format("{} {}/{}", request.method, options_.base_path, route->pattern)
                  : fmt::format("{} {}/tools/{}", request.method, options_.base_path, tool);
  const std::string* user_agent = header(request.headers, "User-Agent");
  CallOrigin origin;
  origin.family = "rest";
  origin.operation = operation;
  origin.ip = request.remote_addr;
  origin.user_agent = user_agent ? std::string_view(*user_agent) : std::string_view();
  // An answer given before the tool path runs: it still counts against the
  // key's and the tenant's rate limits (a 429 wins) and is logged.
  auto refuse = [&](int status, std::string_view code, std::string message,
                    const json& logged_args = json()) {
    const CallResult gate = engine_.apply_rate_limits(*identity);
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - started)
                          .count();
    if (gate.status != CallStatus::ok) {
      const bool limited = gate.status == CallStatus::rate_limited;
      const json& error = limited ? gate.body : gate.body["error"];
      engine_.audit_use(*identity, origin, tool, logged_args,
                        limited ? "RATE_LIMITED" : error.value("code", "INTERNAL_ERROR"),
                        error.value("message", ""), ms);
      return response_for(gate, 200, tool, engine_.shop().now_ms());
    }
    engine_.audit_use(*identity, origin, tool, logged_args, code, message, ms);
    CallResult refused{CallStatus::tool_error, {{"success", false},
                                                {"error", {{"code", code},
                                                           {"message", message},
                                                           {"context", json::object()}}}}};
    refused.limit = gate.limit;
    refused.rate = gate.rate;
    RestResponse r = response_for(refused, 200, tool, engine_.shop().now_ms());
    r.status = status;
    return r;
  };

  // --- arguments -----------------------------------------------------------------
  const ToolPtr def = engine_.tools().find(tool);
  if (!def) return refuse(404, "NOT_FOUND", fmt::format("Unknown tool: {}", tool));
  json args = json::object();
  if (route->body_is_arguments && !request.body.empty()) {
    if (request.body.size() > options_.max_body_bytes)
      return refuse(413, "VALIDATION_ERROR",
                    fmt::format("Body larger than {} bytes", options_.max_body_bytes));
    args = json::parse(request.body, nullptr, false);
    if (args.is_discarded()) return refuse(400, "VALIDATION_ERROR", "Body is not valid JSON");
    if (!args.is_object()) return refuse(400, "VALIDATION_ERROR", "Body must be a JSON object", args);
  }
  for (std::string_view rest = query; !rest.empty();) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const auto name = url_decode(pair.substr(0, eq));
    const auto value = url_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!name || !value)
      return refuse(400, "VALIDATION_ERROR", "Malformed percent-encoding in the query", args);
    args[*name] = coerce(def->input_schema, *name, *value);
  }
  if (route->tool && !captured.empty()) args[id_argument(tool)] = captured;

  // --- run --------------------------------------------------------------------------
  const CallResult result = engine_.call_tool_as(*identity, tool, args, origin);
  return response_for(result, route->success_status, tool, engine_.shop().now_ms());
}

}  // namespace eryxon
