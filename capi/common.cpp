// capi/common.cpp - the exception firewall, the thread-local last error,
// owned strings and the version/status functions of the C ABI.
#include "common.hpp"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace eryxon::capi {
namespace {

// The last failure of this thread (libgit2 git_error_last style). When the
// message cannot be stored (out of memory) `fallback` points at a literal.
thread_local std::string last_message;
thread_local const char* last_fallback = nullptr;

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

nlohmann::json parse_json(const char* text, std::string_view what) {
  try {
    return nlohmann::json::parse(text);
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
