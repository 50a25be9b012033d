// capi/common.hpp - the exception firewall and helpers shared by the C ABI
// glue files (capi/*.cpp). Internal: not installed, not part of the API.
//
// Every extern "C" entry point follows the same shape (leveldb c.cc glue,
// DuckDB's firewall, libgit2's thread-local error):
//
//   eryxon_status eryxon_x_do(char** out, eryxon_store_t* store, const char* a) {
//     if (out) *out = nullptr;                       // 1. out is NULL on failure
//     if (!out) return capi::null_argument("out");   // 2. NULL checks, by name
//     if (!store) return capi::null_argument("store");
//     return capi::guard([&] { ...; return ERYXON_OK; });  // 3. the firewall
//   }
//
// guard() clears the thread's last error, runs the body and turns every
// exception into a status plus a message; nothing ever unwinds into C.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "eryxon/engine.hpp"
#include "eryxon/error.hpp"
#include "eryxon/eryxon.h"

/// The C handle: the glue's only state is the C++ object it wraps.
struct eryxon_store_t {
  std::unique_ptr<eryxon::Engine> rep;
};

namespace eryxon::capi {

/// The C status of a C++ error code.
eryxon_status status_of(ErrorCode code) noexcept;

/// The C status of a wire error code ("NOT_FOUND" -> ERYXON_ENOTFOUND, ...);
/// ERYXON_EINTERNAL for names it does not know.
eryxon_status status_of_wire(std::string_view code) noexcept;

/// Sets this thread's last error message. Never throws: when the message
/// cannot be copied (out of memory) a static fallback is used.
void set_error(std::string_view message) noexcept;

/// Clears this thread's last error message ("").
void clear_error() noexcept;

/// set_error(message) and returns `status`.
eryxon_status fail(eryxon_status status, std::string_view message) noexcept;

/// ERYXON_EINVALID with the message "<name> must not be NULL".
eryxon_status null_argument(const char* name) noexcept;

/// A malloc'ed NUL-terminated copy of `text`, for a char** out parameter
/// (released by eryxon_free). Throws std::bad_alloc.
char* owned_copy(std::string_view text);

/// Compact JSON text of `value`. Invalid UTF-8 in strings is replaced
/// (U+FFFD) rather than thrown about: output must never fail on content.
std::string dump(const nlohmann::json& value);

/// Parses `text` as JSON. Throws Error(VALIDATION_ERROR) naming `what`
/// (e.g. "arguments_json") and the parser's complaint when it is malformed.
nlohmann::json parse_json(const char* text, std::string_view what);

namespace detail {
eryxon_status on_exception() noexcept;  // maps std::current_exception()
}

/// Runs `body` (returning eryxon_status or void, which counts as
/// ERYXON_OK) behind the exception firewall:
///   eryxon::Error             -> status_of(code), message what()
///   nlohmann::json::exception -> ERYXON_EINVALID
///   std::bad_alloc            -> ERYXON_EINTERNAL ("out of memory")
///   std::exception, ...       -> ERYXON_EINTERNAL
/// The last error is cleared first; a body that returns a failure status
/// sets its own message (use fail()); on ERYXON_OK it stays cleared.
template <class F>
eryxon_status guard(F&& body) noexcept {
  clear_error();
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      body();
      return ERYXON_OK;
    } else {
      eryxon_status status = body();
      if (status == ERYXON_OK) clear_error();
      return status;
    }
  } catch (...) {
    return detail::on_exception();
  }
}

}  // namespace eryxon::capi
