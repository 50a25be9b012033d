// The MCP Streamable HTTP transport (eryxon/mcp_http.hpp; MCP spec
// 2025-11-25 "Transports / Streamable HTTP"; RFC 6750 for the Bearer
// challenge), on cpp-httplib. Each HTTP session wraps one McpSession.
#include "eryxon/mcp_http.hpp"

#include <httplib.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "eryxon/error.hpp"

namespace eryxon {
namespace {

using nlohmann::json;

constexpr const char* kBearerChallenge = "Bearer realm=\"eryxon\"";
constexpr const char* kInvalidTokenChallenge = "Bearer realm=\"eryxon\", error=\"invalid_token\"";
constexpr std::size_t kMaxStreamBacklog = 1000;  // queued messages per GET stream

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string rpc_error(int code, std::string message, json data = nullptr) {
  json err = {{"code", code}, {"message", std::move(message)}};
  if (!data.is_null()) err["data"] = std::move(data);
  return dump({{"jsonrpc", "2.0"}, {"id", nullptr}, {"error", std::move(err)}});
}

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

void send_error(httplib::Response& res, int status, int code, std::string message,
                json data = nullptr) {
  send_json(res, status, rpc_error(code, std::move(message), std::move(data)));
}

void send_unauthorized(httplib::Response& res, bool token_given) {
  res.set_header("WWW-Authenticate", token_given ? kInvalidTokenChallenge : kBearerChallenge);
  send_error(res, 401, -32000, "Invalid or disabled MCP key", {{"type", "authentication_error"}});
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// True for http(s)://localhost, 127.0.0.1 or [::1], with or without a port.
bool loopback_origin(const std::string& origin) {
  const std::string o = lower(origin);
  std::string rest;
  if (o.rfind("http://", 0) == 0) rest = o.substr(7);
  else if (o.rfind("https://", 0) == 0) rest = o.substr(8);
  else return false;
  for (const char* host : {"localhost", "127.0.0.1", "[::1]"}) {
    const std::size_t n = std::strlen(host);
    if (rest.compare(0, n, host) != 0) continue;
    const std::string port = rest.substr(n);
    if (port.empty()) return true;
    if (port[0] != ':' || port.size() < 2 || port.size() > 6) return false;
    return std::all_of(port.begin() + 1, port.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  return false;
}

// A value of a comma-separated media-type list (Accept) that allows `type`.
bool accepts(const std::string& accept, const char* type) {
  if (accept.empty()) return true;
  const std::string a = lower(accept);
  if (a.find(type) != std::string::npos || a.find("*/*") != std::string::npos) return true;
  const std::string family = std::string(type).substr(0, std::strchr(type, '/') - type) + "/*";
  return a.find(family) != std::string::npos;
}

bool in_list(const std::string& list, const std::string& item) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string part = list.substr(start, end - start);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (part == item) return true;
    start = end + 1;
  }
  return false;
}

using KeyHash = std::array<unsigned char, crypto_generichash_BYTES>;

KeyHash hash_key(const std::string& key) {
  KeyHash h{};
  crypto_generichash(h.data(), h.size(), reinterpret_cast<const unsigned char*>(key.data()),
                     key.size(), nullptr, 0);
  return h;
}

std::string new_session_id() {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string out(sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string sse_event(std::string_view data) {
  std::string e = "event: message\ndata: ";
  e.append(data);
  e.append("\n\n");
  return e;
}

// The notifications one POST causes on its own thread; the session's sink
// puts them here instead of on the GET stream.
struct Collector {
  const void* owner = nullptr;
  std::vector<std::string> events;
};
thread_local Collector* tl_collector = nullptr;

// True for a JSON-RPC request the session sends (a server-to-client
// request): nlohmann::json writes keys in order, so a request reads
// {"id":...,"jsonrpc":"2.0","method":... while a reply has "result" or
// "error" there and a notification has no "id". Quotes inside strings are
// escaped, so the pattern cannot come from inside the id.
bool is_server_request(std::string_view m) {
  constexpr std::string_view head = "{\"id\":";
  constexpr std::string_view mid = ",\"jsonrpc\":\"2.0\",\"method\":";
  if (m.substr(0, head.size()) != head) return false;
  const std::size_t at = m.find(",\"jsonrpc\":\"2.0\",");
  return at != std::string_view::npos && m.substr(at, mid.size()) == mid;
}

struct HttpSession {
  std::string id;
  KeyHash key_hash{};
  std::atomic<std::int64_t> last_used_ms{0};
  std::atomic<int> active{0};  // requests being served

  std::mutex stream_m;
  std::condition_variable stream_cv;
  std::deque<std::string> stream_queue;
  // Server-to-client requests made while no GET stream was open: they wait
  // here for the next one (the client's answer is what the call waits for).
  std::deque<std::string> early_requests;
  bool stream_open = false;
  bool ended = false;

  std::unique_ptr<McpSession> mcp;  // last: destroyed first, so no sink call outlives the rest

  void push(std::string_view message) {
    std::lock_guard lock(stream_m);
    if (!stream_open || ended || stream_queue.size() >= kMaxStreamBacklog) return;
    stream_queue.emplace_back(message);
    stream_cv.notify_all();
  }

  // A request to the client (ToolContext::request_client): to the GET
  // stream, kept until one opens.
  void push_request(std::string_view message) {
    std::lock_guard lock(stream_m);
    if (ended) return;
    auto& q = stream_open ? stream_queue : early_requests;
    if (q.size() >= kMaxStreamBacklog) return;
    q.emplace_back(message);
    stream_cv.notify_all();
  }

  void end() {
    std::lock_guard lock(stream_m);
    ended = true;
    stream_cv.notify_all();
  }

  bool has_stream() {
    std::lock_guard lock(stream_m);
    return stream_open;
  }
};

// Counts a request as in progress on a session (no eviction meanwhile).
struct ActiveGuard {
  explicit ActiveGuard(HttpSession& s) : s_(s) {
    s_.active.fetch_add(1);
    s_.last_used_ms.store(now_ms());
  }
  ~ActiveGuard() {
    s_.last_used_ms.store(now_ms());
    s_.active.fetch_sub(1);
  }
  ActiveGuard(const ActiveGuard&) = delete;
  ActiveGuard& operator=(const ActiveGuard&) = delete;

 private:
  HttpSession& s_;
};

}  // namespace

struct McpHttpServer::Impl {
  Impl(Engine& e, McpHttpOptions o) : engine(e), options(std::move(o)) {}

  Engine& engine;
  const McpHttpOptions options;
  httplib::Server server;
  std::thread listener;
  std::atomic<bool> is_running{false};
  std::atomic<std::uint16_t> bound_port{0};
  std::atomic<bool> stopping{false};

  mutable std::mutex sessions_m;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions;
  std::atomic<unsigned> open_streams{0};

  std::thread janitor;
  std::mutex janitor_m;
  std::condition_variable janitor_cv;

  // --- checks -----------------------------------------------------------------
  bool origin_ok(const httplib::Request& req) const {
    if (!req.has_header("Origin")) return true;
    const std::string origin = req.get_header_value("Origin");
    if (options.allowed_origins.empty()) return loopback_origin(origin);
    return std::find(options.allowed_origins.begin(), options.allowed_origins.end(), origin) !=
           options.allowed_origins.end();
  }

  // Origin, Authorization syntax and MCP-Protocol-Version. Returns the
  // bearer token, or std::nullopt with `res` filled.
  std::optional<std::string> common_checks(const httplib::Request& req, httplib::Response& res) {
    if (!origin_ok(req)) {
      send_error(res, 403, -32600, "Forbidden: Origin not allowed");
      return std::nullopt;
    }
    const std::string auth = req.get_header_value("Authorization");
    if (auth.empty() && !req.has_header("Authorization") && !options.unauthenticated_key.empty()) {
      // The host's fixed identity (McpHttpOptions::unauthenticated_key);
      // the key is still validated like a bearer key.
      if (!version_ok(req, res)) return std::nullopt;
      return options.unauthenticated_key;
    }
    if (auth.empty()) {
      send_unauthorized(res, false);
      return std::nullopt;
    }
    if (auth.size() < 8 || lower(auth.substr(0, 7)) != "bearer ") {
      send_unauthorized(res, true);
      return std::nullopt;
    }
    std::string token = auth.substr(7);
    token.erase(0, token.find_first_not_of(' '));
    token.erase(token.find_last_not_of(' ') + 1);
    if (token.empty()) {
      send_unauthorized(res, true);
      return std::nullopt;
    }
    if (!version_ok(req, res)) return std::nullopt;
    return token;
  }

  // MCP-Protocol-Version, when present, must be one we speak (else 400).
  static bool version_ok(const httplib::Request& req, httplib::Response& res) {
    if (!req.has_header("MCP-Protocol-Version")) return true;
    const std::string v = req.get_header_value("MCP-Protocol-Version");
    for (const char* const* p = mcp_supported_protocol_versions(); *p; ++p)
      if (v == *p) return true;
    send_error(res, 400, -32600, "Bad Request: unsupported MCP-Protocol-Version " + v);
    return false;
  }

  // Validates the key (counts one use). False with 401 in `res` when refused.
  bool authenticate(const std::string& key, httplib::Response& res) {
    KeyRejection why{};
    std::optional<KeyIdentity> identity;
    try {
      identity = engine.keys().check_mcp_key(key, &why);
    } catch (const std::exception& e) {
      send_error(res, 500, -32603, std::string("Internal error: ") + e.what());
      return false;
    }
    if (!identity || !in_list(options.session.environments, identity->environment)) {
      send_unauthorized(res, true);
      return false;
    }
    return true;
  }

  // The session named by Mcp-Session-Id, for a request presenting `key`.
  // `check_key`: validate the key even when it is the session's own (false
  // only for tools/call, which the Engine validates). std::nullptr with
  // `res` filled when refused.
  std::shared_ptr<HttpSession> session_for(const httplib::Request& req, httplib::Response& res,
                                           const std::string& key, bool check_key) {
    const std::string id = req.get_header_value("Mcp-Session-Id");
    std::shared_ptr<HttpSession> s;
    if (!id.empty()) {
      std::lock_guard lock(sessions_m);
      if (auto it = sessions.find(id); it != sessions.end()) s = it->second;
    }
    const KeyHash h = hash_key(key);
    const bool own = s && sodium_memcmp(h.data(), s->key_hash.data(), h.size()) == 0;
    if ((!own || check_key) && !authenticate(key, res)) return nullptr;
    if (id.empty()) {
      send_error(res, 400, -32600, "Bad Request: Mcp-Session-Id header is required");
      return nullptr;
    }
    if (!own) {  // unknown, ended, evicted, or another key's
      send_error(res, 404, -32001, "Session not found");
      return nullptr;
    }
    return s;
  }

  // --- POST -------------------------------------------------------------------
  void post(const httplib::Request& req, httplib::Response& res) {
    auto token = common_checks(req, res);
    if (!token) return;
    const std::string& key = *token;
    if (req.has_header("Content-Type") &&
        lower(req.get_header_value("Content-Type")).rfind("application/json", 0) != 0) {
      if (authenticate(key, res))
        send_error(res, 415, -32600, "Unsupported Media Type: send application/json");
      return;
    }
    const std::string accept = req.get_header_value("Accept");
    if (!accepts(accept, "application/json") && !accepts(accept, "text/event-stream")) {
      if (authenticate(key, res))
        send_error(res, 406, -32600,
                   "Not Acceptable: accept application/json and text/event-stream");
      return;
    }
    json msg = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (msg.is_discarded()) {
      if (authenticate(key, res)) send_error(res, 400, -32700, "Parse error: not valid JSON");
      return;
    }
    if (!msg.is_object()) {
      if (authenticate(key, res))
        send_error(res, 400, -32600,
                   "Invalid Request: expected one JSON-RPC 2.0 object (batches are not "
                   "supported)");
      return;
    }
    const bool has_method = msg.contains("method") && msg["method"].is_string();
    const bool has_id = msg.contains("id");
    const std::string method = has_method ? msg["method"].get<std::string>() : "";
    if (method == "initialize" && has_id) return initialize(req, res, key, msg);

    const bool is_call = method == "tools/call" && has_id;
    auto s = session_for(req, res, key, /*check_key=*/!is_call);
    if (!s) return;
    ActiveGuard guard(*s);

    // The bearer key is the key of the session's calls.
    if ((method == "tools/call" || method == "tools/list") && msg.contains("params") &&
        msg["params"].is_object())
      msg["params"]["_meta"]["apiKey"] = key;
    else if (method == "tools/call" || method == "tools/list")
      msg["params"] = {{"_meta", {{"apiKey", key}}}};
    const std::string body = dump(msg);

    if (!has_method || !has_id) {  // a notification, a response, or junk the session answers
      Collector c{s.get(), {}};
      tl_collector = &c;
      auto reply = s->mcp->handle_message(body);
      tl_collector = nullptr;
      for (auto& e : c.events) s->push(e);
      if (reply) {
        send_json(res, 400, *reply);
        return;
      }
      res.status = 202;
      return;
    }

    Collector c{s.get(), {}};
    tl_collector = &c;
    std::optional<std::string> reply;
    try {
      reply = s->mcp->handle_message(body);
    } catch (...) {
      tl_collector = nullptr;
      throw;
    }
    tl_collector = nullptr;
    const bool sse = !accept.empty() && accepts(accept, "text/event-stream") &&
                     lower(accept).find("text/event-stream") != std::string::npos;
    if (!reply) {  // cancelled: no JSON-RPC response (MCP "Cancellation")
      if (sse) {
        std::string out;
        for (auto& e : c.events) out += sse_event(e);
        res.status = 200;
        res.set_content(out, "text/event-stream");
      } else {
        for (auto& e : c.events) s->push(e);
        res.status = 204;
      }
      return;
    }
    int status = 200;
    json parsed = json::parse(*reply, nullptr, false);
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object()) {
      const json& data = parsed["error"].value("data", json());
      const std::string type = data.is_object() ? data.value("type", "") : "";
      if (type == "authentication_error") {
        res.set_header("WWW-Authenticate", kInvalidTokenChallenge);
        status = 401;
      } else if (type == "permission_error") {
        status = 403;
      } else if (type == "rate_limit_error" || type == "quota_error") {
        status = type == "rate_limit_error" ? 429 : 402;
        res.set_header("Retry-After", std::to_string(std::max<std::int64_t>(
                                          1, data.value("retry_after_seconds", std::int64_t{1}))));
      }
    }
    if (status != 200 || !sse || c.events.empty()) {
      for (auto& e : c.events) s->push(e);
      send_json(res, status, *reply);
      return;
    }
    std::string out;
    for (auto& e : c.events) out += sse_event(e);
    out += sse_event(*reply);
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_content(out, "text/event-stream");
  }

  void initialize(const httplib::Request& req, httplib::Response& res, const std::string& key,
                  const json& msg) {
    if (!authenticate(key, res)) return;
    if (req.has_header("Mcp-Session-Id")) {
      send_error(res, 400, -32600,
                 "Bad Request: initialize starts a session; send it without Mcp-Session-Id");
      return;
    }
    {
      std::lock_guard lock(sessions_m);
      if (sessions.size() >= std::max<std::size_t>(1, options.max_sessions)) {
        res.set_header("Retry-After", "5");
        send_error(res, 503, -32000, "Too many sessions");
        return;
      }
    }
    auto s = std::make_shared<HttpSession>();
    s->id = new_session_id();
    s->key_hash = hash_key(key);
    s->last_used_ms.store(now_ms());
    McpServerOptions so = options.session;
    so.default_api_key = key;
    so.max_message_bytes = std::max(so.max_message_bytes, options.max_body_bytes);
    HttpSession* raw = s.get();
    s->mcp = std::make_unique<McpSession>(engine, std::move(so), [raw](std::string_view m) {
      // A request to the client must reach it while the call waits for the
      // answer, so it cannot wait in the POST's collected stream.
      if (is_server_request(m)) raw->push_request(m);
      else if (tl_collector && tl_collector->owner == raw) tl_collector->events.emplace_back(m);
      else raw->push(m);
    });
    Collector c{raw, {}};
    tl_collector = &c;
    auto reply = s->mcp->handle_message(dump(msg));
    tl_collector = nullptr;
    if (!reply) {
      send_error(res, 500, -32603, "Internal error: initialize was not answered");
      return;
    }
    json parsed = json::parse(*reply, nullptr, false);
    if (parsed.is_object() && parsed.contains("result")) {
      std::lock_guard lock(sessions_m);
      if (sessions.size() >= std::max<std::size_t>(1, options.max_sessions)) {
        res.set_header("Retry-After", "5");
        send_error(res, 503, -32000, "Too many sessions");
        return;
      }
      sessions.emplace(s->id, s);
      res.set_header("Mcp-Session-Id", s->id);
    }
    send_json(res, 200, *reply);
  }

  // --- GET: the session's stream ---------------------------------------------
  void get(const httplib::Request& req, httplib::Response& res) {
    auto token = common_checks(req, res);
    if (!token) return;
    const std::string accept = req.get_header_value("Accept");
    if (lower(accept).find("text/event-stream") == std::string::npos) {
      if (authenticate(*token, res))
        send_error(res, 406, -32600, "Not Acceptable: GET needs Accept: text/event-stream");
      return;
    }
    auto s = session_for(req, res, *token, /*check_key=*/true);
    if (!s) return;
    {
      std::lock_guard lock(s->stream_m);
      if (s->stream_open) {
        send_error(res, 409, -32600, "Conflict: this session already has a GET stream");
        return;
      }
      const unsigned threads = std::max(options.threads, 3u);
      if (open_streams.fetch_add(1) + 1 > threads - 2) {
        open_streams.fetch_sub(1);
        res.set_header("Retry-After", "5");
        send_error(res, 503, -32000, "Too many open streams");
        return;
      }
      s->stream_open = true;
      s->stream_queue.clear();
      s->stream_queue.swap(s->early_requests);
    }
    s->last_used_ms.store(now_ms());
    auto primed = std::make_shared<bool>(false);
    const auto keepalive = std::chrono::milliseconds(std::max<std::int64_t>(10, options.keepalive_ms));
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, s, primed, keepalive](std::size_t, httplib::DataSink& sink) {
          if (!*primed) {
            *primed = true;
            static constexpr char kOpen[] = ": eryxon stream open\n\n";
            return sink.write(kOpen, sizeof kOpen - 1);
          }
          std::unique_lock lock(s->stream_m);
          s->stream_cv.wait_for(lock, keepalive, [&] {
            return !s->stream_queue.empty() || s->ended || stopping.load();
          });
          if (s->ended || stopping.load()) {
            lock.unlock();
            sink.done();
            return true;
          }
          std::string out;
          while (!s->stream_queue.empty()) {
            out += sse_event(s->stream_queue.front());
            s->stream_queue.pop_front();
          }
          lock.unlock();
          s->last_used_ms.store(now_ms());
          if (out.empty()) out = ": keepalive\n\n";
          return sink.write(out.data(), out.size());
        },
        [this, s](bool) {
          {
            std::lock_guard lock(s->stream_m);
            s->stream_open = false;
            s->stream_queue.clear();
          }
          s->last_used_ms.store(now_ms());
          open_streams.fetch_sub(1);
        });
  }

  // --- DELETE -----------------------------------------------------------------
  void del(const httplib::Request& req, httplib::Response& res) {
    auto token = common_checks(req, res);
    if (!token) return;
    auto s = session_for(req, res, *token, /*check_key=*/true);
    if (!s) return;
    {
      std::lock_guard lock(sessions_m);
      sessions.erase(s->id);
    }
    s->end();
    res.status = 204;
  }

  // --- eviction ----------------------------------------------------------------
  void evict_idle() {
    std::vector<std::shared_ptr<HttpSession>> gone;  // destroyed outside the lock
    const std::int64_t now = now_ms();
    {
      std::lock_guard lock(sessions_m);
      for (auto it = sessions.begin(); it != sessions.end();) {
        HttpSession& s = *it->second;
        if (s.active.load() == 0 && !s.has_stream() &&
            now - s.last_used_ms.load() > options.session_idle_timeout_ms) {
          gone.push_back(it->second);
          it = sessions.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& s : gone) s->end();
  }

  void run_janitor() {
    const auto period = std::chrono::milliseconds(
        std::clamp<std::int64_t>(options.session_idle_timeout_ms / 4, 5, 1000));
    std::unique_lock lock(janitor_m);
    while (!stopping.load()) {
      janitor_cv.wait_for(lock, period, [&] { return stopping.load(); });
      if (stopping.load()) break;
      lock.unlock();
      evict_idle();
      lock.lock();
    }
  }
};

McpHttpServer::McpHttpServer(Engine& engine, McpHttpOptions options)
    : impl_(std::make_unique<Impl>(engine, std::move(options))) {}

McpHttpServer::~McpHttpServer() { stop(); }

void McpHttpServer::start() {
  Impl& d = *impl_;
  if (d.options.path.empty() || d.options.path[0] != '/')
    throw Error(ErrorCode::validation_error, "MCP HTTP path must start with '/'");
  if (d.is_running.load() || d.listener.joinable())
    throw Error(ErrorCode::internal_error, "MCP HTTP server already running");
  if (sodium_init() < 0) throw Error(ErrorCode::internal_error, "libsodium failed to initialise");

  auto& svr = d.server;
  const unsigned threads = std::max(d.options.threads, 3u);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(d.options.max_body_bytes);
  svr.set_keep_alive_timeout(5);
  Impl* impl = &d;
  auto guarded = [impl](void (Impl::*fn)(const httplib::Request&, httplib::Response&)) {
    return [impl, fn](const httplib::Request& req, httplib::Response& res) {
      try {
        (impl->*fn)(req, res);
      } catch (const std::exception& e) {
        send_error(res, 500, -32603, std::string("Internal error: ") + e.what());
      } catch (...) {
        send_error(res, 500, -32603, "Internal error");
      }
    };
  };
  const std::string& path = d.options.path;
  svr.Post(path, guarded(&Impl::post));
  svr.Get(path, guarded(&Impl::get));
  svr.Delete(path, guarded(&Impl::del));
  auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "GET, POST, DELETE");
    send_error(res, 405, -32600, "Method Not Allowed");
  };
  svr.Put(path, not_allowed);
  svr.Patch(path, not_allowed);
  svr.Options(path, not_allowed);

  int port = d.options.port;
  if (port == 0) {
    port = svr.bind_to_any_port(d.options.host);
  } else if (!svr.bind_to_port(d.options.host, port)) {
    port = -1;
  }
  if (port <= 0)
    throw Error(ErrorCode::internal_error,
                "cannot bind " + d.options.host + ":" + std::to_string(d.options.port));
  d.bound_port.store(static_cast<std::uint16_t>(port));
  d.stopping.store(false);
  d.is_running.store(true);
  d.listener = std::thread([impl] { impl->server.listen_after_bind(); });
  d.janitor = std::thread([impl] { impl->run_janitor(); });
  // listen_after_bind() marks the server running almost at once; requests
  // sent before that wait in the socket's backlog anyway.
  for (int i = 0; i < 5000 && !svr.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void McpHttpServer::stop() noexcept {
  Impl& d = *impl_;
  if (!d.is_running.exchange(false)) return;
  d.stopping.store(true);
  {
    std::lock_guard lock(d.janitor_m);
    d.janitor_cv.notify_all();
  }
  if (d.janitor.joinable()) d.janitor.join();
  std::vector<std::shared_ptr<HttpSession>> all;
  {
    std::lock_guard lock(d.sessions_m);
    for (auto& [id, s] : d.sessions) all.push_back(s);
  }
  for (auto& s : all) s->end();
  d.server.stop();
  if (d.listener.joinable()) d.listener.join();
  {
    std::lock_guard lock(d.sessions_m);
    d.sessions.clear();
  }
  all.clear();
  try {
    d.engine.keys().flush_usage();
  } catch (...) {
    // Counts stay buffered; the KeyService writes them when it is destroyed.
  }
}

std::uint16_t McpHttpServer::port() const noexcept { return impl_->bound_port.load(); }

bool McpHttpServer::running() const noexcept { return impl_->is_running.load(); }

std::size_t McpHttpServer::session_count() const {
  std::lock_guard lock(impl_->sessions_m);
  return impl_->sessions.size();
}

}  // namespace eryxon
