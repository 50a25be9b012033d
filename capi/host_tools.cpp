// capi/host_tools.cpp - C glue for host tools: tools a host registers at
// run time with a C handler (eryxon.h "Host tools").
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common.hpp"

using eryxon::capi::fail;
using eryxon::capi::guard;
using eryxon::capi::null_argument;
using nlohmann::json;

/// The C view of one running call: the handler's ToolContext.
struct eryxon_tool_run_t {
  const eryxon::ToolContext* ctx;
};

namespace {

// A registered C handler, shared by the ToolDefinition's handler (one copy
// per std::function copy) and eryxon_tool_unregister, which waits on it.
struct HostTool {
  eryxon_tool_handler handler = nullptr;
  void* payload = nullptr;
  std::mutex m;
  std::condition_variable idle;
  int running = 0;       // calls inside the handler now
  bool removed = false;  // unregistered: no new calls start
};

// The host tools whose handler runs on this thread (innermost last), so an
// unregister from inside a handler does not wait for itself.
thread_local std::vector<const HostTool*> running_here;

eryxon::ErrorCode code_of_status(int status) {
  switch (status) {
    case ERYXON_EINVALID: return eryxon::ErrorCode::validation_error;
    case ERYXON_ENOTFOUND: return eryxon::ErrorCode::not_found;
    case ERYXON_EDUPLICATE: return eryxon::ErrorCode::duplicate_entry;
    case ERYXON_ESTATE: return eryxon::ErrorCode::invalid_state_transition;
    case ERYXON_EPERMISSION: return eryxon::ErrorCode::insufficient_permissions;
    case ERYXON_ECONFLICT: return eryxon::ErrorCode::conflict;
    case ERYXON_EDATABASE: return eryxon::ErrorCode::database_error;
    default: return eryxon::ErrorCode::internal_error;
  }
}

// The ToolHandler of a host tool. A named type, so eryxon_tool_unregister
// can find the HostTool again through std::function::target.
struct HostToolHandler {
  std::shared_ptr<HostTool> tool;
  std::string name;

  eryxon::ToolOutput operator()(eryxon::ToolContext& ctx, const json& args) const {
    HostTool& t = *tool;
    running_here.push_back(&t);  // the only step that may throw before entry
    {
      std::lock_guard lock(t.m);
      if (t.removed) {
        running_here.pop_back();
        throw eryxon::Error(eryxon::ErrorCode::not_found, "Tool " + name + " was unregistered");
      }
      ++t.running;
    }
    struct Leave {
      HostTool& t;
      ~Leave() {
        running_here.pop_back();
        std::lock_guard lock(t.m);
        --t.running;
        t.idle.notify_all();
      }
    };
    Leave leave{t};

    const std::string arguments = eryxon::capi::dump(args);
    const std::string context = eryxon::capi::dump(
        {{"tenant_id", ctx.tenant_id},
         {"key_id", ctx.key != nullptr ? ctx.key->key_row_id : std::string()},
         {"tool", name}});
    eryxon_tool_run_t run{&ctx};
    char* out = nullptr;
    const int status = t.handler(&out, &run, arguments.c_str(), context.c_str(), t.payload);
    std::string text;
    if (out != nullptr) {
      try {
        text = out;
      } catch (...) {
        std::free(out);
        throw;
      }
      std::free(out);
    }
    if (status != ERYXON_OK) {
      if (text.empty()) text = "Tool " + name + " failed (" + eryxon_status_str(status) + ")";
      throw eryxon::Error(code_of_status(status), text);
    }
    if (text.empty()) return eryxon::ToolOutput{nullptr};
    json data = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (data.is_discarded())
      throw eryxon::Error(eryxon::ErrorCode::internal_error,
                          "Tool " + name + " returned a result that is not valid JSON");
    return eryxon::ToolOutput{std::move(data)};
  }
};

eryxon::ToolAnnotations parse_annotations(const char* text) {
  eryxon::ToolAnnotations a;
  if (text == nullptr) return a;
  const json j = eryxon::capi::parse_json(text, "annotations_json");
  if (j.is_null()) return a;
  if (!j.is_object())
    throw eryxon::Error(eryxon::ErrorCode::validation_error, "annotations_json must be an object");
  for (const auto& [member, value] : j.items()) {
    auto flag = [&](bool& field) {
      if (!value.is_boolean())
        throw eryxon::Error(eryxon::ErrorCode::validation_error,
                            "annotations_json." + member + " must be a boolean");
      field = value.get<bool>();
    };
    if (member == "title") {
      if (!value.is_string())
        throw eryxon::Error(eryxon::ErrorCode::validation_error,
                            "annotations_json.title must be a string");
      a.title = value.get<std::string>();
    } else if (member == "readOnlyHint") {
      flag(a.read_only);
    } else if (member == "destructiveHint") {
      flag(a.destructive);
    } else if (member == "idempotentHint") {
      flag(a.idempotent);
    } else if (member == "openWorldHint") {
      flag(a.open_world);
    } else {
      throw eryxon::Error(eryxon::ErrorCode::validation_error,
                          "annotations_json has an unknown member: " + member);
    }
  }
  return a;
}

}  // namespace

extern "C" {

eryxon_status eryxon_tool_register(eryxon_store_t* store, const char* name,
                                   const char* description, const char* input_schema_json,
                                   const char* annotations_json, eryxon_tool_handler handler,
                                   void* payload) {
  if (auto st = eryxon::capi::check(store, "store")) return st;
  if (auto st = eryxon::capi::check_text(name, "name")) return st;
  if (auto st = eryxon::capi::check_optional_text(description, "description")) return st;
  if (auto st = eryxon::capi::check_optional_text(annotations_json, "annotations_json")) return st;
  if (handler == nullptr) return null_argument("handler");
  return guard([&]() -> eryxon_status {
    eryxon::ToolDefinition def;
    def.name = name;
    def.description = description != nullptr ? description : "";
    def.input_schema = input_schema_json != nullptr
                           ? eryxon::capi::parse_json(input_schema_json, "input_schema_json")
                           : json{{"type", "object"}};
    def.annotations = parse_annotations(annotations_json);
    auto tool = std::make_shared<HostTool>();
    tool->handler = handler;
    tool->payload = payload;
    def.handler = HostToolHandler{std::move(tool), def.name};
    store->rep->tools().add(std::move(def));
    return ERYXON_OK;
  });
}

eryxon_status eryxon_tool_unregister(eryxon_store_t* store, const char* name) {
  if (auto st = eryxon::capi::check(store, "store")) return st;
  if (auto st = eryxon::capi::check_text(name, "name")) return st;
  return guard([&]() -> eryxon_status {
    const eryxon::ToolPtr def = store->rep->tools().take(name);
    if (!def) return fail(ERYXON_ENOTFOUND, std::string("No tool named ") + name);
    if (const auto* h = def->handler.target<HostToolHandler>()) {
      HostTool& t = *h->tool;
      const int self = static_cast<int>(std::count(running_here.begin(), running_here.end(), &t));
      std::unique_lock lock(t.m);
      t.removed = true;
      t.idle.wait(lock, [&] { return t.running <= self; });
    }
    return ERYXON_OK;
  });
}

int eryxon_tool_run_cancelled(const eryxon_tool_run_t* run) {
  return run != nullptr && run->ctx != nullptr && run->ctx->cancelled() ? 1 : 0;
}

eryxon_status eryxon_tool_run_progress(eryxon_tool_run_t* run, double progress, double total,
                                       const char* message) {
  if (run == nullptr || run->ctx == nullptr) return null_argument("run");
  if (auto st = eryxon::capi::check_optional_text(message, "message")) return st;
  if (!std::isfinite(progress)) return fail(ERYXON_EINVALID, "progress must be a finite number");
  return guard([&] {
    std::optional<double> t;
    if (std::isfinite(total) && total > 0) t = total;
    run->ctx->progress(progress, t, message != nullptr ? message : "");
  });
}

}  // extern "C"
