// capi/common.cpp - the exception firewall, the thread-local last error,
// owned strings and the version/status functions of the C ABI.
#include "common.hpp"

#include <sodium.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

namespace eryxon::capi {
namespace {

// The last failure of this thread (libgit2 git_error_last style). When the
// message cannot be stored (out of memory) `fallback` points at a literal.
thread_local std::string last_message;
thread_local const char* last_fallback = nullptr;

// The memory of the last kSlots freed handles, kept allocated (with their
// tag poisoned) so that a use after free of one of them reads live memory
// and is reported rather than being undefined (eryxon.h convention 5). The
// oldest shell is deleted when a new one arrives. Made once and never
// destroyed, so a handle freed during static destruction still finds it
// (the shells stay reachable: not a leak for LeakSanitizer).
class Quarantine {
 public:
  static constexpr std::size_t kSlots = ERYXON_HANDLE_QUARANTINE;

  static Quarantine& instance() {
    static Quarantine* q = new Quarantine();
    return *q;
  }

  // Takes ownership of `shell`; `destroy` deletes it with its real type.
  void add(void* shell, void (*destroy)(void*)) noexcept {
    Slot old;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      old = slots_[next_];
      slots_[next_] = Slot{shell, destroy};
      next_ = (next_ + 1) % kSlots;
    }
    if (old.shell != nullptr) old.destroy(old.shell);
  }

 private:
  struct Slot {
    void* shell = nullptr;
    void (*destroy)(void*) = nullptr;
  };
  std::mutex mutex_;
  std::array<Slot, kSlots> slots_{};
  std::size_t next_ = 0;
};

std::uint64_t tag_of(const void* handle) noexcept {
  std::uint64_t tag = 0;
  std::memcpy(&tag, handle, sizeof tag);
  return tag;
}

eryxon_status check_tag(const void* handle, std::uint64_t live, std::uint64_t freed,
                        const char* name, const char* type, const char* free_fn) noexcept {
  if (handle == nullptr) return null_argument(name);
  const std::uint64_t tag = tag_of(handle);
  if (tag == live) return ERYXON_OK;
  try {
    if (tag == freed)
      set_error(std::string(name) + " was freed (a use after " + free_fn + ")");
    else
      set_error(std::string(name) + " is not a live " + type +
                " (another kind of handle, freed memory, or not a handle)");
  } catch (...) {
    set_error("a handle argument is not a live eryxon handle");
  }
  return ERYXON_EINVALID;
}

}  // namespace

eryxon_status status_of(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::validation_error: return ERYXON_EINVALID;
    case ErrorCode::not_found: return ERYXON_ENOTFOUND;
    case ErrorCode::duplicate_entry: return ERYXON_EDUPLICATE;
    case ErrorCode::invalid_state_transition: return ERYXON_ESTATE;
    case ErrorCode::insufficient_permissions: return ERYXON_EPERMISSION;
    case ErrorCode::authentication_error: return ERYXON_EAUTH;
    case ErrorCode::rate_limited: return ERYXON_ERATE_LIMITED;
    case ErrorCode::quota_exceeded: return ERYXON_EQUOTA;
    case ErrorCode::conflict: return ERYXON_ECONFLICT;
    case ErrorCode::database_error: return ERYXON_EDATABASE;
    case ErrorCode::internal_error: return ERYXON_EINTERNAL;
  }
  return ERYXON_EINTERNAL;
}

eryxon_status status_of_wire(std::string_view code) noexcept {
  struct Entry {
    std::string_view wire;
    eryxon_status status;
  };
  // The wire names of error.hpp, plus the aliases the original Eryxon Flow
  // REST side uses for the same conditions.
  static constexpr Entry table[] = {
      {"VALIDATION_ERROR", ERYXON_EINVALID},
      {"NOT_FOUND", ERYXON_ENOTFOUND},
      {"DUPLICATE_ENTRY", ERYXON_EDUPLICATE},
      {"INVALID_STATE_TRANSITION", ERYXON_ESTATE},
      {"INSUFFICIENT_PERMISSIONS", ERYXON_EPERMISSION},
      {"AUTHENTICATION_ERROR", ERYXON_EAUTH},
      {"RATE_LIMITED", ERYXON_ERATE_LIMITED},
      {"RATE_LIMIT_EXCEEDED", ERYXON_ERATE_LIMITED},
      {"QUOTA_EXCEEDED", ERYXON_EQUOTA},
      {"CONFLICT", ERYXON_ECONFLICT},
      {"DATABASE_ERROR", ERYXON_EDATABASE},
      {"INTERNAL_ERROR", ERYXON_EINTERNAL},
  };
  for (const auto& e : table)
    if (e.wire == code) return e.status;
  return ERYXON_EINTERNAL;
}

void set_error(std::string_view message) noexcept {
  try {
    last_message.assign(message.data(), message.size());
    last_fallback = nullptr;
  } catch (...) {
    last_fallback = "out of memory (while recording an error message)";
  }
}

void clear_error() noexcept {
  last_message.clear();  // keeps capacity: never allocates, never throws
  last_fallback = nullptr;
}

eryxon_status fail(eryxon_status status, std::string_view message) noexcept {
  set_error(message);
  return status;
}

eryxon_status null_argument(const char* name) noexcept {
  try {
    set_error(std::string(name) + " must not be NULL");
  } catch (...) {
    set_error("a required argument is NULL");
  }
  return ERYXON_EINVALID;
}

eryxon_status check(const eryxon_store_t* store, const char* name) noexcept {
  return check_tag(store, kStoreLive, kStoreFreed, name, "eryxon_store_t", "eryxon_store_free");
}

eryxon_status check(const eryxon_dispatcher_t* dispatcher, const char* name) noexcept {
  const eryxon_status status = check_tag(dispatcher, kDispatcherLive, kDispatcherFreed, name,
                                         "eryxon_dispatcher_t", "eryxon_dispatcher_free");
  if (status != ERYXON_OK) return status;
  if (tag_of(dispatcher->store) != kStoreLive)
    return fail(ERYXON_EINVALID,
                "the store of this dispatcher was freed (free every dispatcher of a store "
                "before the store)");
  return ERYXON_OK;
}

eryxon_status check(const eryxon_mcp_session_t* session, const char* name) noexcept {
  const eryxon_status status = check_tag(session, kSessionLive, kSessionFreed, name,
                                         "eryxon_mcp_session_t", "eryxon_mcp_session_free");
  if (status != ERYXON_OK) return status;
  if (tag_of(session->store) != kStoreLive)
    return fail(ERYXON_EINVALID,
                "the store of this session was freed (free every session of a store before "
                "the store)");
  return ERYXON_OK;
}

bool is_live(const eryxon_store_t* handle) noexcept { return tag_of(handle) == kStoreLive; }

bool is_live(const eryxon_mcp_session_t* handle) noexcept {
  return tag_of(handle) == kSessionLive;
}

void retire(eryxon_mcp_session_t* session) noexcept {
  session->tag = kSessionFreed;
  if (is_live(session->store)) {
    std::lock_guard lock(session->store->sessions_mutex);
    session->store->sessions.erase(session);
  }
  session->rep.reset();
  session->store = nullptr;
  Quarantine::instance().add(session,
                             [](void* p) { delete static_cast<eryxon_mcp_session_t*>(p); });
}

bool is_live(const eryxon_dispatcher_t* handle) noexcept {
  return tag_of(handle) == kDispatcherLive;
}

void retire(eryxon_store_t* store) noexcept {
  store->tag = kStoreFreed;
  {
    // Sessions first: each McpSession listens to the engine's registry.
    std::lock_guard lock(store->sessions_mutex);
    for (eryxon_mcp_session_t* session : store->sessions) session->rep.reset();
    store->sessions.clear();
  }
  store->rep.reset();
  Quarantine::instance().add(store, [](void* p) { delete static_cast<eryxon_store_t*>(p); });
}

void retire(eryxon_dispatcher_t* dispatcher) noexcept {
  dispatcher->tag = kDispatcherFreed;
  dispatcher->rep.reset();
  dispatcher->store = nullptr;
  Quarantine::instance().add(dispatcher,
                             [](void* p) { delete static_cast<eryxon_dispatcher_t*>(p); });
}

std::size_t utf8_error_offset(std::string_view text) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates U+D800..U+DFFF
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // no overlong forms
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;  // a continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (n - i < len) return i;
    if (s[i + 1] < lo || s[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string_view::npos;
}

eryxon_status check_optional_text(const char* text, const char* name) noexcept {
  if (text == nullptr) return ERYXON_OK;
  const std::size_t at = utf8_error_offset(text);
  if (at == std::string_view::npos) return ERYXON_OK;
  try {
    set_error(std::string(name) + " is not valid UTF-8 (at byte offset " + std::to_string(at) +
              ")");
  } catch (...) {
    set_error("a string argument is not valid UTF-8");
  }
  return ERYXON_EINVALID;
}

eryxon_status check_text(const char* text, const char* name) noexcept {
  if (text == nullptr) return null_argument(name);
  return check_optional_text(text, name);
}

char* owned_copy(std::string_view text) {
  auto* p = static_cast<char*>(std::malloc(text.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  if (!text.empty()) std::memcpy(p, text.data(), text.size());
  p[text.size()] = '\0';
  return p;
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::size_t check_json_text(const char* text, std::string_view what) {
  const auto invalid = [&](const std::string& why) {
    throw Error(ErrorCode::validation_error, std::string(what) + " " + why,
                {{"path", std::string(what)}});
  };
  const std::size_t len = strnlen(text, ERYXON_MAX_JSON_BYTES + 1);
  if (len > ERYXON_MAX_JSON_BYTES)
    invalid("is larger than " + std::to_string(ERYXON_MAX_JSON_BYTES) +
            " bytes (ERYXON_MAX_JSON_BYTES)");
  const std::string_view view(text, len);
  if (const std::size_t at = utf8_error_offset(view); at != std::string_view::npos)
    invalid("is not valid UTF-8 (at byte offset " + std::to_string(at) + ")");
  // Nesting depth, counted outside strings. The parser itself is iterative,
  // but dumping, schema validation and redaction recurse on the value.
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < len; ++i) {
    const char c = view[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // skip the escaped character
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > ERYXON_MAX_JSON_DEPTH)
        invalid("nests arrays and objects deeper than " + std::to_string(ERYXON_MAX_JSON_DEPTH) +
                " levels (ERYXON_MAX_JSON_DEPTH)");
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return len;
}

nlohmann::json parse_json(const char* text, std::string_view what) {
  const std::size_t len = check_json_text(text, what);
  try {
    return nlohmann::json::parse(text, text + len);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCode::validation_error,
                std::string(what) + " is not valid JSON: " + e.what(),
                {{"path", std::string(what)}, {"byte", e.byte}});
  }
}

namespace detail {

eryxon_status on_exception() noexcept {
  try {
    throw;  // the exception being handled by guard()'s catch (...)
  } catch (const Error& e) {
    return fail(status_of(e.code()), e.what());
  } catch (const nlohmann::json::exception& e) {
    return fail(ERYXON_EINVALID, e.what());
  } catch (const std::bad_alloc&) {
    return fail(ERYXON_EINTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(ERYXON_EINTERNAL, e.what());
  } catch (...) {
    return fail(ERYXON_EINTERNAL, "unknown exception");
  }
}

}  // namespace detail
std::optional<std::string> string_member(const nlohmann::json& in, const char* key,
                                         std::string_view what) {
  auto it = in.find(key);
  if (it == in.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    throw Error(ErrorCode::validation_error,
                std::string(what) + "." + key + " must be a string");
  return it->get<std::string>();
}

std::string required_string(const nlohmann::json& in, const char* key, std::string_view what) {
  auto value = string_member(in, key, what);
  if (!value)
    throw Error(ErrorCode::validation_error, std::string(what) + "." + key + " is required");
  return std::move(*value);
}

void reject_unknown_members(const nlohmann::json& in, std::initializer_list<const char*> known,
                            std::string_view what) {
  for (const auto& [key, _] : in.items()) {
    bool listed = false;
    for (const char* k : known) listed = listed || key == k;
    if (!listed)
      throw Error(ErrorCode::validation_error,
                  std::string(what) + " has an unknown member " + key);
  }
}

}  // namespace eryxon::capi

extern "C" {

int eryxon_version_number(void) { return ERYXON_VERSION_NUMBER; }

const char* eryxon_version_string(void) { return ERYXON_VERSION_STRING; }

const char* eryxon_status_str(int status) {
  switch (status) {
    case ERYXON_OK: return "ERYXON_OK";
    case ERYXON_EINVALID: return "ERYXON_EINVALID";
    case ERYXON_ENOTFOUND: return "ERYXON_ENOTFOUND";
    case ERYXON_EDUPLICATE: return "ERYXON_EDUPLICATE";
    case ERYXON_ESTATE: return "ERYXON_ESTATE";
    case ERYXON_EPERMISSION: return "ERYXON_EPERMISSION";
    case ERYXON_EAUTH: return "ERYXON_EAUTH";
    case ERYXON_ERATE_LIMITED: return "ERYXON_ERATE_LIMITED";
    case ERYXON_EQUOTA: return "ERYXON_EQUOTA";
    case ERYXON_ECONFLICT: return "ERYXON_ECONFLICT";
    case ERYXON_EDATABASE: return "ERYXON_EDATABASE";
    case ERYXON_EINTERNAL: return "ERYXON_EINTERNAL";
    case ERYXON_EUNKNOWN_TOOL: return "ERYXON_EUNKNOWN_TOOL";
    default: return "ERYXON_E?";
  }
}

const char* eryxon_error_last(void) {
  using namespace eryxon::capi;
  return last_fallback != nullptr ? last_fallback : last_message.c_str();
}

void eryxon_free(void* ptr) {
  if (ptr == nullptr) return;
  // Every buffer handed out is a NUL-terminated string (owned_copy); it may
  // hold a plaintext key, so it is zeroed before it goes back to malloc.
  auto* text = static_cast<char*>(ptr);
  sodium_memzero(text, std::strlen(text) + 1);
  std::free(ptr);
}

}  // extern "C"
