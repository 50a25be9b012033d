// Engine: the storage, the services on it, and the one path of a tool call.
#include "eryxon/engine.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

#include "eryxon/error.hpp"

namespace eryxon {
namespace {

bool environment_allowed(std::string_view env, std::string_view allowed) {
  while (!allowed.empty()) {
    const auto comma = allowed.find(',');
    if (allowed.substr(0, comma) == env) return true;
    if (comma == std::string_view::npos) break;
    allowed.remove_prefix(comma + 1);
  }
  return false;
}

CallResult failure(const Error& e) {
  return {CallStatus::tool_error, {{"success", false}, {"error", e.to_json()}}};
}

CallResult unauthenticated() {
  return {CallStatus::unauthenticated,
          {{"message", "Invalid or disabled MCP key"},
           {"data", {{"type", "authentication_error"}}}}};
}

std::int64_t ceil_seconds(std::int64_t ms) { return (ms + 999) / 1000; }

CallResult rate_refusal(const char* scope, const RateLimit& limit, const RateDecision& r) {
  CallResult out;
  out.status = CallStatus::rate_limited;
  out.limit = limit;
  out.rate = r;
  out.body = {{"message", "Rate limit exceeded"},
              {"data",
               {{"type", "rate_limit_error"},
                {"scope", scope},
                {"limit", r.limit},
                {"requests_per_minute", limit.requests_per_minute},
                {"remaining", r.remaining},
                {"reset_ms", r.reset_ms},
                {"retry_after_ms", r.retry_after_ms},
                {"retry_after_seconds", ceil_seconds(r.retry_after_ms)}}}};
  return out;
}

// The wire error code and message a call is logged with; an empty code
// means success.
std::pair<std::string, std::string> audit_error(const CallResult& r) {
  const std::string message = r.body.is_object() ? r.body.value("message", "") : "";
  switch (r.status) {
    case CallStatus::ok: return {};
    case CallStatus::tool_error: {
      const auto& e = r.body["error"];
      return {e.value("code", "INTERNAL_ERROR"), e.value("message", "")};
    }
    case CallStatus::unknown_tool: return {"NOT_FOUND", message};
    case CallStatus::unauthenticated: return {"AUTHENTICATION_ERROR", message};
    case CallStatus::forbidden: return {"INSUFFICIENT_PERMISSIONS", message};
    case CallStatus::rate_limited: return {"RATE_LIMITED", message};
    case CallStatus::quota_exceeded: return {"QUOTA_EXCEEDED", message};
  }
  return {"INTERNAL_ERROR", message};
}

}  // namespace

RateLimit rate_limit_for(const KeyIdentity& key) noexcept {
  const std::int64_t rpm = key.rate_limit.value_or(kDefaultKeyRequestsPerMinute);
  return {rpm, rpm};
}

std::optional<RateLimit> tenant_rate_limit_for(Plan plan) noexcept {
  switch (plan) {
    case Plan::free: return RateLimit{60, 60};
    case Plan::pro: return RateLimit{1000, 1000};
    case Plan::premium: return RateLimit{10000, 10000};
    case Plan::enterprise: return std::nullopt;
  }
  return RateLimit{60, 60};
}

namespace {
// Where the pepper lives when ERYXON_PEPPER is not set: beside a SQLite
// file; for a PostgreSQL URL (shared by many processes and hosts) only where
// ERYXON_PEPPER_FILE says.
std::string pepper_path(const std::string& db) {
  if (!is_postgres_url(db)) return db + ".pepper";
  if (const char* file = std::getenv("ERYXON_PEPPER_FILE"); file && *file) return file;
  if (const char* env = std::getenv("ERYXON_PEPPER"); env && *env) return {};
  throw Error(ErrorCode::validation_error,
              "A PostgreSQL database needs the key pepper every process shares: set "
              "ERYXON_PEPPER (64 hex characters) or ERYXON_PEPPER_FILE",
              {{"field", "ERYXON_PEPPER"}});
}
}  // namespace

std::unique_ptr<Engine> Engine::open(const std::string& db_path, EngineOptions options) {
  auto storage = open_storage(db_path, options.postgres);
  PepperSet pepper = options.pepper ? *options.pepper
                     : db_path == ":memory:"
                         ? PepperSet(Pepper::generate())
                         : PepperSet::from_env_or_file(pepper_path(db_path));
  auto engine = std::make_unique<Engine>(std::move(storage), std::move(pepper), options.clock,
                                         options.audit);
  engine->set_check_output_schemas(options.check_output_schemas);
  return engine;
}

std::unique_ptr<Engine> Engine::in_memory(EngineOptions options) {
  PepperSet pepper = options.pepper ? *options.pepper : PepperSet(Pepper::generate());
  auto engine = std::make_unique<Engine>(make_memory_storage(), std::move(pepper),
                                         options.clock, options.audit);
  engine->set_check_output_schemas(options.check_output_schemas);
  return engine;
}

Engine::Engine(std::unique_ptr<Storage> storage, PepperSet pepper, Clock clock,
               std::optional<AuditOptions> audit)
    : storage_(std::move(storage)),
      shop_(*storage_, clock),
      keys_(*storage_, std::move(pepper), clock),
      limiter_(clock),
      quota_(*storage_, clock) {
  register_shop_tools(tools_);
  register_host_actions(host_actions_);
  if (audit) audit_ = std::make_unique<AuditLog>(*storage_, clock, *audit);
}

Engine::~Engine() = default;

CallResult Engine::call_tool(std::string_view api_key, std::string_view tool,
                             const nlohmann::json& arguments, std::string_view environments,
                             const CallOrigin& origin, const CallControl* control) {
  std::optional<KeyIdentity> identity;
  try {
    KeyRejection why{};
    identity = keys_.check_mcp_key(api_key, &why);
  } catch (const Error& e) {
    return failure(e);  // storage failed: the key was neither accepted nor refused
  }
  if (!identity || !environment_allowed(identity->environment, environments)) return unauthenticated();
  return call_tool_as(*identity, tool, arguments, origin, control);
}

CallResult Engine::call_tool_as(const KeyIdentity& identity, std::string_view tool,
                                const nlohmann::json& arguments, const CallOrigin& origin,
                                const CallControl* control) {
  const auto started = std::chrono::steady_clock::now();
  CallResult result = gate_and_run(identity, tool, arguments, control);
  if (audit_) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    const auto [code, message] = audit_error(result);
    audit_use(identity, origin, tool, arguments, code, message, ms);
  }
  return result;
}

void Engine::audit_use(const KeyIdentity& identity, const CallOrigin& origin,
                       std::string_view name, const nlohmann::json& arguments,
                       std::string_view error_code, std::string_view error_message,
                       double response_time_ms) noexcept {
  if (!audit_) return;
  try {
    UsageEvent e;
    e.tenant_id = identity.tenant_id;
    e.key_row_id = identity.key_row_id;
    e.key_family = origin.family;
    e.tool = origin.operation.empty() ? name : origin.operation;
    e.arguments = arguments;
    e.success = error_code.empty();
    e.error_code = error_code;
    e.error_message = error_message;
    e.response_time_ms = response_time_ms;
    e.client_name = origin.client_name;
    e.client_version = origin.client_version;
    e.ip = origin.ip;
    e.user_agent = origin.user_agent;
    audit_->record(std::move(e));
  } catch (...) {
    // Logging never fails the call it logs (bad family, out of memory).
  }
}

CallResult Engine::apply_rate_limits(const KeyIdentity& identity) {
  // The key's limit first, then the tenant's (all its keys together).
  CallResult gate;
  gate.limit = rate_limit_for(identity);
  // The same buckets as the text keys "key:<row id>" / "tenant:<id>".
  const RateKey key = identity.key_rate_key.digest != 0 ? identity.key_rate_key
                                                         : rate_key("key:" + identity.key_row_id);
  const std::int64_t now = shop_.now_ms();  // one clock read for both checks
  gate.rate = limiter_.check_at(key, *gate.limit, now);
  if (!gate.rate->allowed) return rate_refusal("key", *gate.limit, *gate.rate);
  try {
    if (const auto tenant_limit = tenant_rate_limit_for(quota_.plan(identity.tenant_id))) {
      const RateKey tenant = identity.tenant_rate_key.digest != 0
                                 ? identity.tenant_rate_key
                                 : rate_key("tenant:" + identity.tenant_id);
      const RateDecision t = limiter_.check_at(tenant, *tenant_limit, now);
      if (!t.allowed) return rate_refusal("tenant", *tenant_limit, t);
    }
  } catch (const Error& e) {
    CallResult failed = failure(e);
    failed.limit = gate.limit;
    failed.rate = gate.rate;
    return failed;
  }
  return gate;
}

CallResult Engine::gate_and_run(const KeyIdentity& identity, std::string_view tool,
                                const nlohmann::json& arguments, const CallControl* control) {
  // Every authenticated request counts against the rate limits, even one
  // for an unknown or forbidden tool: each is logged, and a key must not be
  // able to flood the audit log faster than its limit.
  CallResult gate = apply_rate_limits(identity);
  if (gate.status != CallStatus::ok) return gate;
  auto refused = [&](CallStatus status, nlohmann::json body) {
    CallResult r{status, std::move(body)};
    r.limit = gate.limit;
    r.rate = gate.rate;
    return r;
  };
  // Held for the whole call: a concurrent remove() cannot free it.
  const ToolPtr def = tools_.find(tool);
  if (!def)
    return refused(CallStatus::unknown_tool, {{"message", fmt::format("Unknown tool: {}", tool)},
                                              {"data", {{"tool", tool}}}});
  if (!identity.allows(tool))
    return refused(CallStatus::forbidden, {{"message", "Tool not allowed for this key"},
                                           {"data", {{"type", "permission_error"}, {"tool", tool}}}});

  // Rate before quota: a request refused for speed spends no daily quota.
  try {
    gate.quota = quota_.consume(identity.tenant_id);
  } catch (const Error& e) {
    return refused(CallStatus::tool_error, failure(e).body);
  }
  if (!gate.quota->allowed) {
    const QuotaDecision& q = *gate.quota;
    gate.status = CallStatus::quota_exceeded;
    gate.body = {{"message", "Daily request quota exceeded"},
                 {"data",
                  {{"type", "quota_error"},
                   {"limit", q.limit ? nlohmann::json(*q.limit) : nlohmann::json()},
                   {"used", q.used},
                   {"day", q.day},
                   {"reset_ms", q.reset_ms},
                   {"retry_after_seconds", ceil_seconds(q.reset_ms)}}}};
    return gate;
  }
  CallResult result = run_tool(*def, identity, arguments, control);
  result.limit = gate.limit;
  result.rate = gate.rate;
  result.quota = gate.quota;
  return result;
}

CallResult Engine::run_action(std::string_view tenant_id, std::string_view action,
                              const nlohmann::json& arguments, const CallControl* control) {
  ToolPtr def = host_actions_.find(action);
  if (!def) def = tools_.find(action);
  if (!def)
    return {CallStatus::unknown_tool, {{"message", fmt::format("Unknown action: {}", action)}}};
  try {
    shop_.get_tenant(tenant_id);  // NOT_FOUND for a tenant that does not exist
  } catch (const Error& e) {
    return failure(e);
  } catch (const std::exception& e) {
    return failure(Error(ErrorCode::internal_error, "Internal error", {{"detail", e.what()}}));
  }
  KeyIdentity host;
  host.key_row_id = "host";
  host.tenant_id = std::string(tenant_id);
  host.name = "host";
  host.environment = "live";
  host.allowed_tools = {"*"};
  return run_tool(*def, host, arguments, control);
}

CallResult Engine::run_tool(const ToolDefinition& def, const KeyIdentity& identity,
                            const nlohmann::json& arguments, const CallControl* control) {
  const std::string& tool = def.name;
  static const nlohmann::json kNoArguments = nlohmann::json::object();
  const nlohmann::json& args = arguments.is_null() ? kNoArguments : arguments;
  if (!args.is_object())
    return failure(Error(ErrorCode::validation_error, "Tool arguments must be a JSON object"));
  const auto violations = validate_against_schema(def.input_schema, args);
  if (!violations.empty()) {
    nlohmann::json list = nlohmann::json::array();
    std::string first;
    for (const auto& v : violations) {
      list.push_back({{"path", v.path}, {"message", v.message}});
      if (first.empty()) first = fmt::format("{} {}", v.path.empty() ? "arguments" : v.path, v.message);
    }
    return failure(Error(ErrorCode::validation_error,
                         fmt::format("Invalid arguments for {}: {}", tool, first),
                         {{"violations", std::move(list)}}));
  }

  ToolContext ctx{identity.tenant_id, &identity, shop_, control};
  try {
    ToolOutput out = def.handler(ctx, args);
    if (check_output_schemas_.load(std::memory_order_relaxed) && !def.output_schema.is_null()) {
      const auto wrong = validate_against_schema(def.output_schema, out.data);
      if (!wrong.empty()) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& v : wrong) list.push_back({{"path", v.path}, {"message", v.message}});
        return failure(Error(ErrorCode::internal_error,
                             fmt::format("{} returned data that breaks its outputSchema", tool),
                             {{"violations", std::move(list)}}));
      }
    }
    if (out.content) {
      bool ok = out.content->is_array();
      if (ok)
        for (const auto& block : *out.content)
          ok = ok && block.is_object() && block.contains("type") && block["type"].is_string();
      if (!ok)
        return failure(Error(ErrorCode::internal_error,
                             "The tool's content is not an array of MCP content blocks"));
    }
    nlohmann::json body = {{"success", true}, {"data", std::move(out.data)}};
    if (out.pagination) body["pagination"] = std::move(*out.pagination);
    CallResult result{CallStatus::ok, std::move(body)};
    result.content = std::move(out.content);
    return result;
  } catch (const Error& e) {
    return failure(e);
  } catch (const std::exception& e) {
    return failure(Error(ErrorCode::internal_error, "Internal error while running the tool",
                         {{"detail", e.what()}}));
  }
}

}  // namespace eryxon
