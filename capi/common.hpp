// capi/common.hpp - the exception firewall and helpers shared by the C ABI
// glue files (capi/*.cpp). Internal: not installed, not part of the API.
//
// Every extern "C" entry point follows the same shape (leveldb c.cc glue,
// DuckDB's firewall, libgit2's thread-local error):
//
//   eryxon_status eryxon_x_do(char** out, eryxon_store_t* store, const char* a) {
//     if (out) *out = nullptr;                       // 1. out is NULL on failure
//     if (!out) return capi::null_argument("out");   // 2. arguments, in order:
//     if (auto s = capi::check(store, "store")) return s;  // live handle
//     if (auto s = capi::check_text(a, "a")) return s;     // non-NULL UTF-8
//     return capi::guard([&] { ...; return ERYXON_OK; });  // 3. the firewall
//   }
//
// guard() clears the thread's last error, runs the body and turns every
// exception into a status plus a message; nothing ever unwinds into C.
// JSON text goes through parse_json(), which enforces ERYXON_MAX_JSON_BYTES,
// ERYXON_MAX_JSON_DEPTH and UTF-8 before parsing.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <set>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "eryxon/dispatcher.hpp"
#include "eryxon/engine.hpp"
#include "eryxon/mcp.hpp"
#include "eryxon/mcp_resources.hpp"
#include "eryxon/error.hpp"
#include "eryxon/eryxon.h"

namespace eryxon::capi {

/// Handle type tags (eryxon.h convention 5). Every handle struct starts with
/// a std::uint64_t tag: the "live" value from construction until its *_free
/// function runs, then the "freed" value. Distinct per type, so a handle of
/// one type passed as another is recognised. Arbitrary 64-bit constants
/// (ASCII "ERYXSTOR", "ERYXDISP" and their freed twins), unlikely to be
/// found at the start of unrelated memory.
inline constexpr std::uint64_t kStoreLive = 0x45525958'53544f52ULL;
inline constexpr std::uint64_t kStoreFreed = 0x45525958'53544f21ULL;
inline constexpr std::uint64_t kDispatcherLive = 0x45525958'44495350ULL;
inline constexpr std::uint64_t kDispatcherFreed = 0x45525958'44495321ULL;
inline constexpr std::uint64_t kSessionLive = 0x45525958'4d435053ULL;   // "ERYXMCPS"
inline constexpr std::uint64_t kSessionFreed = 0x45525958'4d435021ULL;

}  // namespace eryxon::capi

/// The C handle: a type tag, then the C++ object it wraps.
struct eryxon_mcp_session_t;

struct eryxon_store_t {
  std::uint64_t tag = eryxon::capi::kStoreLive;  // first member: see check()
  std::unique_ptr<eryxon::Engine> rep;
  /// The live MCP sessions on this store: retire() closes their C++
  /// sessions before the engine goes, so none outlives what it refers to.
  std::mutex sessions_mutex;
  std::set<eryxon_mcp_session_t*> sessions;
  /// Resources and prompts added through the C ABI; every session created
  /// by eryxon_mcp_session_create serves it. Null until the first add.
  std::shared_ptr<eryxon::McpCatalog> catalog;
};

/// The C handle of a dispatcher, on the storage of the store it was made
/// from (which must outlive it). Defined here so check() knows its tags.
struct eryxon_dispatcher_t {
  std::uint64_t tag = eryxon::capi::kDispatcherLive;  // first member: see check()
  eryxon_store_t* store = nullptr;
  std::unique_ptr<eryxon::Dispatcher> rep;
};

/// The C handle of an MCP session on a store (which must outlive it).
struct eryxon_mcp_session_t {
  std::uint64_t tag = eryxon::capi::kSessionLive;  // first member: see check()
  eryxon_store_t* store = nullptr;
  std::unique_ptr<eryxon::McpSession> rep;
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

/// ERYXON_OK when `store` is a live eryxon_store_t. Otherwise sets the
/// message and returns ERYXON_EINVALID: "<name> must not be NULL", "<name>
/// was freed (a use after eryxon_store_free)" or "<name> is not a live
/// eryxon_store_t (...)". The tag is read with memcpy, so a live object of
/// another type (at least 8 bytes) is read without aliasing trouble.
eryxon_status check(const eryxon_store_t* store, const char* name) noexcept;

/// The same for a dispatcher; a dispatcher whose store is known to be
/// freed is ERYXON_EINVALID too.
eryxon_status check(const eryxon_dispatcher_t* dispatcher, const char* name) noexcept;

/// The same for an MCP session (its store freed: ERYXON_EINVALID too).
eryxon_status check(const eryxon_mcp_session_t* session, const char* name) noexcept;
/// Whether `handle` (not NULL) carries its type's live tag. Sets no
/// message: for the *_free functions, which report nothing.
bool is_live(const eryxon_store_t* handle) noexcept;
bool is_live(const eryxon_dispatcher_t* handle) noexcept;
bool is_live(const eryxon_mcp_session_t* handle) noexcept;

/// Marks `store` freed, destroys what it wraps and hands its memory to the
/// quarantine of the last ERYXON_HANDLE_QUARANTINE freed handles (eryxon.h
/// convention 5). Call only on a live handle (check() == ERYXON_OK).
void retire(eryxon_store_t* store) noexcept;

/// The same for a dispatcher.
void retire(eryxon_dispatcher_t* dispatcher) noexcept;
/// The same for an MCP session.
void retire(eryxon_mcp_session_t* session) noexcept;

/// Where the first byte of a malformed UTF-8 sequence in `text` is (RFC
/// 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or
/// std::string_view::npos when it is well formed.
std::size_t utf8_error_offset(std::string_view text) noexcept;

/// ERYXON_OK when `text` is non-NULL, well-formed UTF-8. Otherwise sets the
/// message ("<name> must not be NULL" / "<name> is not valid UTF-8 (at byte
/// offset N)"; the text itself is never quoted) and returns ERYXON_EINVALID.
eryxon_status check_text(const char* text, const char* name) noexcept;

/// check_text() for an argument that may be NULL (NULL is ERYXON_OK).
eryxon_status check_optional_text(const char* text, const char* name) noexcept;

/// A malloc'ed NUL-terminated copy of `text`, for a char** out parameter
/// (released by eryxon_free). Throws std::bad_alloc.
char* owned_copy(std::string_view text);

/// Compact JSON text of `value`. Invalid UTF-8 in strings is replaced
/// (U+FFFD) rather than thrown about: output must never fail on content.
std::string dump(const nlohmann::json& value);

/// Checks JSON text before it is parsed: at most ERYXON_MAX_JSON_BYTES
/// bytes, well-formed UTF-8, arrays and objects nested at most
/// ERYXON_MAX_JSON_DEPTH deep (counted outside strings). Returns its length.
/// Throws Error(VALIDATION_ERROR) naming `what`; the message never quotes
/// the text.
std::size_t check_json_text(const char* text, std::string_view what);

/// Parses `text` as JSON after check_json_text(). Throws
/// Error(VALIDATION_ERROR) naming `what` (e.g. "arguments_json") and the
/// parser's complaint when it is malformed.
nlohmann::json parse_json(const char* text, std::string_view what);

/// The string member `key` of the JSON object `in` (an argument named
/// `what`, e.g. "options_json"): std::nullopt when absent or null. Throws
/// Error(VALIDATION_ERROR) "<what>.<key> must be a string" for another type.
std::optional<std::string> string_member(const nlohmann::json& in, const char* key,
                                         std::string_view what);
/// string_member() for a member that must be there: Error(VALIDATION_ERROR)
/// "<what>.<key> is required" when absent or null.
std::string required_string(const nlohmann::json& in, const char* key, std::string_view what);
/// Error(VALIDATION_ERROR) "<what> has an unknown member <name>" for a
/// member of `in` not listed in `known`.
void reject_unknown_members(const nlohmann::json& in, std::initializer_list<const char*> known,
                            std::string_view what);
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
