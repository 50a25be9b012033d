// eryxon/error.hpp - the one exception type of the C++ API and its codes.
//
// Every C++ entry point of eryxon reports an expected failure by throwing
// eryxon::Error. The codes are the MCP/REST error codes of the Eryxon Flow
// connectivity core (SPEC.md, "Error codes"), so a tool result, an HTTP body
// and a C status can all be derived from one value. The C ABI turns each code
// into a negative eryxon_status (see eryxon.h); exceptions never cross it.
//
// Thread safety: Error is an immutable value; copies may be used from any
// thread.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

#include "eryxon/export.h"

namespace eryxon {

/// Why an operation failed. The wire name (to_string) is what agents see in
/// `{"success":false,"error":{"code":...}}`.
enum class ErrorCode {
  validation_error,          ///< "VALIDATION_ERROR": input breaks a schema or rule.
  not_found,                 ///< "NOT_FOUND": no such row in the caller's tenant.
  duplicate_entry,           ///< "DUPLICATE_ENTRY": a unique key (e.g. job_number) is taken.
  invalid_state_transition,  ///< "INVALID_STATE_TRANSITION": status machine refuses the action.
  insufficient_permissions,  ///< "INSUFFICIENT_PERMISSIONS": key lacks the tool or role.
  authentication_error,      ///< "AUTHENTICATION_ERROR": key missing, malformed, wrong or disabled.
  rate_limited,              ///< "RATE_LIMITED": per-key requests per minute exceeded (HTTP 429).
  quota_exceeded,            ///< "QUOTA_EXCEEDED": tenant plan quota exhausted (HTTP 402).
  conflict,                  ///< "CONFLICT": the row changed under us (optimistic concurrency).
  database_error,            ///< "DATABASE_ERROR": the storage engine failed.
  internal_error,            ///< "INTERNAL_ERROR": a bug; never used for bad input.
};

/// Wire name of a code, e.g. "NOT_FOUND". Never NULL; static storage.
ERYXON_EXPORT const char* to_string(ErrorCode code) noexcept;

/// An expected failure: a code, a human-readable message and a JSON object of
/// context (for INVALID_STATE_TRANSITION: `current_status`,
/// `attempted_status`, `action`; for VALIDATION_ERROR: `path` and more).
class ERYXON_EXPORT Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message,
        nlohmann::json context = nlohmann::json::object());

  ErrorCode code() const noexcept { return code_; }
  const nlohmann::json& context() const noexcept { return context_; }

  /// `{"code":"NOT_FOUND","message":"...","context":{...}}`.
  nlohmann::json to_json() const;

 private:
  ErrorCode code_;
  nlohmann::json context_;
};

}  // namespace eryxon
