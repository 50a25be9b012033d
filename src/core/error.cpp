// eryxon::Error and the wire names of error codes.
#include "eryxon/error.hpp"

namespace eryxon {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::validation_error: return "VALIDATION_ERROR";
    case ErrorCode::not_found: return "NOT_FOUND";
    case ErrorCode::duplicate_entry: return "DUPLICATE_ENTRY";
    case ErrorCode::invalid_state_transition: return "INVALID_STATE_TRANSITION";
    case ErrorCode::insufficient_permissions: return "INSUFFICIENT_PERMISSIONS";
    case ErrorCode::authentication_error: return "AUTHENTICATION_ERROR";
    case ErrorCode::rate_limited: return "RATE_LIMITED";
    case ErrorCode::quota_exceeded: return "QUOTA_EXCEEDED";
    case ErrorCode::conflict: return "CONFLICT";
    case ErrorCode::database_error: return "DATABASE_ERROR";
    case ErrorCode::internal_error: return "INTERNAL_ERROR";
  }
  return "INTERNAL_ERROR";
}

Error::Error(ErrorCode code, std::string message, nlohmann::json context)
    : std::runtime_error(std::move(message)), code_(code), context_(std::move(context)) {
  if (!context_.is_object()) context_ = nlohmann::json::object();
}

nlohmann::json Error::to_json() const {
  return {{"code", eryxon::to_string(code_)}, {"message", what()}, {"context", context_}};
}

}  // namespace eryxon
