// eryxon/rest.hpp - a REST request handler the host mounts in its own HTTP
// server.
//
// The host parses HTTP and hands eryxon one request (method, path with query
// string, headers, body); RestHandler authenticates the REST key from
// `Authorization: Bearer ery_live_...`, applies the key's rate limit and the
// tenant's daily quota, runs the matching tool through Engine::call_tool_as
// (so REST and MCP share one set of rules, schemas and allow-lists), and
// returns status, headers and a JSON body for the host to send.
//
// Routes (base path "/api/v1" by default; ids are UUIDs):
//   GET    /jobs                   fetch_jobs      (query: status, customer, limit, offset)
//   POST   /jobs                   create_job      (201)
//   PATCH  /jobs/{id}              update_job
//   POST   /jobs/{id}/start|stop|resume|complete      start_job ...
//   GET    /parts                  fetch_parts     (query: job_id, status, limit, offset)
//   PATCH  /parts/{id}             update_part
//   GET    /operations             fetch_operations (query: part_id, status, cell_id, ...)
//   POST   /operations/{id}/start|pause|complete      start_operation ...
//   GET    /dashboard              get_dashboard_stats
//   POST   /tools/{name}           any tool the key allows; body = arguments
// Query values are converted to the type the tool's inputSchema declares
// (integer, number, boolean) before validation.
//
// Statuses (SPEC.md "REST side and limits"): 200/201 success; 400 body is not
// JSON; 401 missing or invalid key (with `WWW-Authenticate: Bearer`); 402
// daily plan quota exhausted (QUOTA_EXCEEDED); 403 tool not in the key's
// allow-list (INSUFFICIENT_PERMISSIONS); 404 unknown route or NOT_FOUND; 405
// known path, wrong method (with `Allow`); 409 DUPLICATE_ENTRY,
// INVALID_STATE_TRANSITION or CONFLICT; 413 body over max_body_bytes; 422
// VALIDATION_ERROR; 429 rate limit (RATE_LIMIT_EXCEEDED, with Retry-After);
// 500 INTERNAL_ERROR or DATABASE_ERROR. Every response that passed
// authentication carries `RateLimit-Policy`, `RateLimit`, `X-RateLimit-Limit`,
// `X-RateLimit-Remaining`, `X-RateLimit-Reset` (epoch seconds) for the key's
// limit; 402 and 429 carry `Retry-After` (seconds).
//
// Bodies: `{"success":true,"data":...,"pagination":{...}}` or
// `{"success":false,"error":{"code":"...","message":"...","context":{...}}}`,
// with `Content-Type: application/json`.
//
// Thread safety: handle() may be called from many threads at once.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "eryxon/engine.hpp"
#include "eryxon/export.h"

namespace eryxon {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct RestRequest {
  std::string method;       ///< "GET", "POST", "PATCH", ... (case-sensitive, RFC 9110)
  std::string target;       ///< path and optional query, e.g. "/api/v1/jobs?status=on_hold"
  HttpHeaders headers;      ///< names matched case-insensitively
  std::string body;         ///< request content (JSON for POST/PATCH)
  std::string remote_addr;  ///< client address, for the audit log
};

struct RestResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;
};

struct RestOptions {
  std::string base_path = "/api/v1";
  std::string environments = "live,test";  ///< key environments accepted
  std::size_t max_body_bytes = 1024 * 1024;
};

class ERYXON_EXPORT RestHandler {
 public:
  /// `engine` is not owned and must outlive the handler.
  explicit RestHandler(Engine& engine, RestOptions options = {});

  /// Answers one request. Never throws: every failure is a response.
  RestResponse handle(const RestRequest& request) const noexcept;

 private:
  RestResponse dispatch(const RestRequest& request) const;

  Engine& engine_;
  RestOptions options_;
};

}  // namespace eryxon
