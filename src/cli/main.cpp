// The `eryxon` command: set up a database, mint keys, seed a demo shop and
// serve MCP over stdio. Run `eryxon help` for the commands.
#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

#include <pthread.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "eryxon/dispatcher.hpp"
#include "eryxon/eryxon.hpp"
#include "eryxon/mqtt_sink.hpp"
#include "eryxon/webhook_sink.hpp"
#include "eryxon/webhooks.hpp"
#include "cli/catalog.hpp"

namespace {

constexpr const char* kUsage = R"(usage: eryxon <command> [options]

Commands (every command takes --db FILE|URL; default $ERYXON_DB or ./eryxon.db;
a postgresql:// or postgres:// URL opens PostgreSQL, with --db-pool N
connections (4), the key pepper from $ERYXON_PEPPER or $ERYXON_PEPPER_FILE
and the password from $PGPASSWORD or ~/.pgpass):
  init [--app-role ROLE]                create or migrate the database; on
                                        PostgreSQL run it as the owner: it also
                                        creates the application role (eryxon_app,
                                        password from $ERYXON_APP_PASSWORD) that
                                        every other command connects as
  tenant create --name NAME [--plan free|pro|premium|enterprise] [--timezone TZ]
                                        prints the new tenant id
  tenant list                           id, plan and name of every tenant
  key create --tenant ID --name NAME [--tools '*'|a,b,c] [--env live|test]
             [--family mcp|rest] [--rate-limit RPM] [--expires-at RFC3339]
             [--description TEXT]
                                        prints the key once (mcp_live_... or
                                        ery_live_...); store it now
  key list --tenant ID                  keys (prefix and metadata, never the key)
  key enable|disable|delete --tenant ID --id KEY_ROW_ID
  key rotate --tenant ID --id KEY_ROW_ID [--grace-seconds N]
                                        prints the new key; the old one expires
                                        after the grace period (default 86400)
  key import-legacy --tenant ID --name NAME --hash HASH --prefix KEY_PREFIX
             [--family mcp|rest] [--env live|test] [--tools '*'|a,b,c]
                                        import an original Eryxon Flow key by
                                        its bcrypt (MCP) or SHA-256 (REST) hash
  key stats --tenant ID --id KEY_ROW_ID
                                        the key's usage statistics as JSON (total,
                                        successful, failed, average ms, last 24 h,
                                        top 5 tools, last used)
  key usage --tenant ID [--id KEY_ROW_ID] [--limit N]
                                        the newest audit-log rows (arguments
                                        redacted), one JSON object a line
  tools catalog [--format md|json]      every tool and host action with its schemas
                                        (docs/tools.md is the md output)
  pepper rotate                         add a new pepper version to <db>.pepper
                                        (PostgreSQL: to $ERYXON_PEPPER_FILE)
  seed-demo [--tenant ID]               fill a tenant with a demo sheet-metal shop
                                        (creates the tenant when --tenant is absent
                                        and prints its id)
  call --tool NAME [--args JSON] [--key KEY]
                                        run one tool and print its JSON result
  mcp serve [--key KEY] [--page-size N] [--log-level LEVEL|off] [--workers N]
                                        MCP over stdio; the key defaults to
                                        $ERYXON_MCP_KEY (used when a call has no
                                        params._meta.apiKey); tools/list pages of N
                                        (100); notifications/message from LEVEL
                                        (warning) until the client sets one; N
                                        threads run tools/call (4)
  mcp serve --http HOST:PORT [--allowed-origin ORIGIN ...] [--session-idle-seconds N]
            [--max-sessions N] [--page-size N] [--log-level LEVEL|off]
                                        MCP over Streamable HTTP at
                                        http://HOST:PORT/mcp (bind 127.0.0.1 unless
                                        you mean otherwise) until SIGINT or SIGTERM;
                                        every request needs Authorization: Bearer
                                        <MCP key>; browser Origins other than
                                        localhost/127.0.0.1 need --allowed-origin
                                        (repeatable or comma-separated); sessions
                                        idle N seconds (1800) are ended
  events list --tenant ID [--after SEQ] [--limit N]
                                        outbox events after SEQ, oldest first, one
                                        JSON object a line
  events dispatch --tenant ID --endpoint ID [--events 'job.*,part.*']
             (--webhook URL [--secret-file FILE] | --mqtt HOST[:PORT]
              [--enterprise E --site S --area A] [--mqtt-username U])
             [--retry-ms 5000,300000,...] [--poll-ms N] [--timeout-ms N] [--once]
             [--lease-ms N]
                                        delivers the tenant's outbox to one endpoint,
                                        at least once, until SIGINT or SIGTERM
                                        (--once: until a round has nothing due). The
                                        webhook secret (whsec_...) comes from
                                        --secret-file or $ERYXON_WEBHOOK_SECRET, the
                                        MQTT password from $ERYXON_MQTT_PASSWORD;
                                        one dispatcher at a time serves an endpoint
                                        (a lease, renewed while it works; a killed
                                        one's lapses after N ms, default 60000)
  events deliveries --tenant ID --endpoint ID [--status pending|delivered|dead]
             [--limit N]                one JSON object a line, seq order
  events log --tenant ID --endpoint ID [--limit N]
                                        the latest delivery attempts, newest first
  events replay --tenant ID --endpoint ID [--from-seq SEQ [--events PATTERNS]]
                                        dead deliveries pending again; with --from-seq
                                        every delivery from SEQ, and with --events also
                                        the matching events the endpoint never had
  export --tenant ID --format json|zip --out PATH [--events]
                                        every table of the tenant (no secrets):
                                        one JSON document, or a ZIP of one CSV per
                                        table plus _metadata.json (docs/portability.md);
                                        --out - writes JSON to stdout
  import --tenant ID --table jobs|parts|operations|cells|resources --file F.csv
             [--dry-run] [--partial] [--source NAME]
                                        upsert rows from a CSV file; prints
                                        {created, updated, unchanged, failed,
                                        errors:[{line, column, message}], ...};
                                        exits 1 when errors left nothing imported
  version                               print the library version
)";

struct Args {
  std::vector<std::string> words;
  std::map<std::string, std::string> options;

  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  std::string need(const std::string& name) const {
    auto it = options.find(name);
    if (it == options.end() || it->second.empty())
      throw eryxon::Error(eryxon::ErrorCode::validation_error,
                          fmt::format("missing required option --{}", name));
    return it->second;
  }
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string w = argv[i];
    if (w.rfind("--", 0) == 0) {
      std::string name = w.substr(2);
      std::string value;
      if (name == "once" || name == "help" || name == "dry-run" || name == "partial" ||
          name == "events") {  // flags: no value
        a.options[name] = "1";
        continue;
      }
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        throw eryxon::Error(eryxon::ErrorCode::validation_error,
                            fmt::format("option --{} needs a value", name));
      }
      if (name == "allowed-origin" && a.options.count(name))  // repeatable
        a.options[name] += "," + value;
      else
        a.options[name] = value;
    } else {
      a.words.push_back(w);
    }
  }
  return a;
}

std::string db_path(const Args& a) {
  const char* env = std::getenv("ERYXON_DB");
  return a.get("db", env && *env ? env : "eryxon.db");
}

// The database for messages: a PostgreSQL URL is not printed (it may
// carry a password).
std::string db_label(const Args& a) {
  const std::string db = db_path(a);
  return eryxon::is_postgres_url(db) ? std::string("the PostgreSQL database") : db;
}

std::string pepper_file(const Args& a) {
  const std::string db = db_path(a);
  if (!eryxon::is_postgres_url(db)) return db + ".pepper";
  const char* file = std::getenv("ERYXON_PEPPER_FILE");
  if (!file || !*file)
    throw eryxon::Error(eryxon::ErrorCode::validation_error,
                        "pepper rotate on PostgreSQL needs $ERYXON_PEPPER_FILE");
  return file;
}

// Engine options from the command line: PostgreSQL pool size, and for
// `init` the migration with the application role.
eryxon::EngineOptions engine_options(const Args& a, bool init) {
  eryxon::EngineOptions o;
  if (a.options.count("db-pool")) {
    const long n = std::strtol(a.get("db-pool").c_str(), nullptr, 10);
    if (n < 1 || n > 1000)
      throw eryxon::Error(eryxon::ErrorCode::validation_error, "--db-pool must be 1..1000");
    o.postgres.pool_size = static_cast<std::size_t>(n);
  }
  if (init) {
    o.postgres.migrate = true;
    o.postgres.app_role = a.get("app-role", "eryxon_app");
    if (const char* pw = std::getenv("ERYXON_APP_PASSWORD"); pw && *pw) o.postgres.app_password = pw;
  }
  return o;
}

std::vector<std::string> split_tools(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto b = item.find_first_not_of(' ');
    const auto e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string default_key(const Args& a) {
  if (auto k = a.get("key"); !k.empty()) return k;
  const char* env = std::getenv("ERYXON_MCP_KEY");
  return env ? env : "";
}

std::int64_t int_option(const Args& a, const std::string& name, std::int64_t fallback) {
  const std::string text = a.get(name);
  if (text.empty()) return fallback;
  std::size_t used = 0;
  std::int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size())
    throw eryxon::Error(eryxon::ErrorCode::validation_error,
                        fmt::format("--{} must be an integer", name));
  return value;
}

// The webhook signing secret: --secret-file (first line) or
// $ERYXON_WEBHOOK_SECRET; never a command-line value, which `ps` would show.
std::string webhook_secret_text(const Args& a) {
  if (auto path = a.get("secret-file"); !path.empty()) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line))
      throw eryxon::Error(eryxon::ErrorCode::validation_error,
                          fmt::format("cannot read the secret from {}", path));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line;
  }
  const char* env = std::getenv("ERYXON_WEBHOOK_SECRET");
  if (env && *env) return env;
  throw eryxon::Error(eryxon::ErrorCode::validation_error,
                      "a webhook needs its whsec_ secret in --secret-file or $ERYXON_WEBHOOK_SECRET");
}

std::shared_ptr<eryxon::EventSink> sink_from(const Args& a, const std::string& tenant,
                                             const std::string& endpoint,
                                             const std::vector<std::string>& types) {
  const std::string url = a.get("webhook");
  const std::string mqtt = a.get("mqtt");
  if (url.empty() == mqtt.empty())
    throw eryxon::Error(eryxon::ErrorCode::validation_error,
                        "events dispatch needs exactly one of --webhook URL and --mqtt HOST[:PORT]");
  if (!url.empty()) {
    eryxon::WebhookEndpoint ep;
    ep.id = endpoint;
    ep.url = url;
    std::string secret = webhook_secret_text(a);
    ep.secrets.push_back(eryxon::WebhookSecret::parse(secret));
    sodium_memzero(secret.data(), secret.size());
    ep.event_types = types;
    ep.timeout_ms = int_option(a, "timeout-ms", ep.timeout_ms);
    return std::make_shared<eryxon::WebhookSink>(std::move(ep));
  }
  eryxon::MqttPublisherConfig c;
  c.id = endpoint;
  c.tenant_id = tenant;
  c.host = mqtt;
  if (auto colon = mqtt.rfind(':'); colon != std::string::npos) {
    c.host = mqtt.substr(0, colon);
    Args port;
    port.options["port"] = mqtt.substr(colon + 1);
    c.port = static_cast<int>(int_option(port, "port", 1883));
  }
  c.enterprise = a.get("enterprise");
  c.site = a.get("site");
  c.area = a.get("area");
  if (auto u = a.get("mqtt-username"); !u.empty()) c.username = u;
  if (const char* pw = std::getenv("ERYXON_MQTT_PASSWORD"); pw && *pw) c.password = pw;
  c.publish_timeout_ms = int_option(a, "timeout-ms", c.publish_timeout_ms);
  return std::make_shared<eryxon::MqttSink>(std::move(c));
}

sigset_t stop_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// `eryxon events ...`: the outbox and its delivery, see kUsage.
int run_events(eryxon::Engine& engine, const Args& a, const std::string& sub) {
  const std::string tenant = a.need("tenant");
  auto& storage = engine.storage();
  if (!storage.find_tenant(tenant))
    throw eryxon::Error(eryxon::ErrorCode::not_found, fmt::format("no tenant {}", tenant));
  if (sub == "list") {
    const auto events = storage.begin(tenant)->list_events_after(int_option(a, "after", 0),
                                                                 int_option(a, "limit", 100));
    for (const auto& e : events) std::cout << nlohmann::json(e).dump() << "\n";
    return 0;
  }
  const std::string endpoint = a.need("endpoint");
  eryxon::DispatcherOptions options;
  if (auto delays = a.get("retry-ms"); !delays.empty()) {
    options.retry.delays_ms.clear();
    for (const auto& d : split_tools(delays)) {
      Args one;
      one.options["retry-ms"] = d;
      const auto ms = int_option(one, "retry-ms", 0);
      if (ms < 0)
        throw eryxon::Error(eryxon::ErrorCode::validation_error, "--retry-ms delays must be >= 0");
      options.retry.delays_ms.push_back(ms);
    }
  }
  options.poll_interval_ms = int_option(a, "poll-ms", options.poll_interval_ms);
  if (options.poll_interval_ms < 1)
    throw eryxon::Error(eryxon::ErrorCode::validation_error, "--poll-ms must be >= 1");
  options.lease_ms = int_option(a, "lease-ms", options.lease_ms);
  if (options.lease_ms < 1)
    throw eryxon::Error(eryxon::ErrorCode::validation_error, "--lease-ms must be >= 1");
  eryxon::Dispatcher dispatcher(storage, options);
  if (sub == "deliveries") {
    std::optional<std::string> status;
    if (auto st = a.get("status"); !st.empty()) status = st;
    for (const auto& d :
         dispatcher.deliveries(tenant, endpoint, status, int_option(a, "limit", 1000)))
      std::cout << nlohmann::json(d).dump() << "\n";
    return 0;
  }
  if (sub == "log") {
    for (const auto& r : dispatcher.delivery_log(tenant, endpoint, int_option(a, "limit", 100)))
      std::cout << nlohmann::json(r).dump() << "\n";
    return 0;
  }
  if (sub == "replay") {
    std::optional<std::int64_t> from;
    if (!a.get("from-seq").empty()) from = int_option(a, "from-seq", 0);
    std::optional<std::vector<std::string>> types;
    if (auto t = a.get("events"); !t.empty()) types = split_tools(t);
    std::cout << dispatcher.replay(tenant, endpoint, from, types) << "\n";
    return 0;
  }
  if (sub != "dispatch") {
    std::cerr << kUsage;
    return 2;
  }
  const auto types = split_tools(a.get("events", "*"));
  dispatcher.add_endpoint(tenant, endpoint, types, sink_from(a, tenant, endpoint, types));
  if (a.options.count("once")) {
    std::size_t total = 0;
    while (const std::size_t n = dispatcher.run_once()) total += n;
    std::cerr << fmt::format("eryxon: {} delivery attempts\n", total);
    return 0;
  }
  // SIGINT/SIGTERM were blocked in run() before any thread started (every
  // thread inherits the mask) and are taken here by sigwait: the loop stops
  // after its current attempt and every committed delivery stays committed.
  const sigset_t stop_signals = stop_signal_set();
  dispatcher.start();
  std::cerr << fmt::format("eryxon: dispatching events of {} to endpoint {}\n", tenant, endpoint);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  dispatcher.stop();
  std::cerr << fmt::format("eryxon: stopped by signal {}\n", signal);
  return 0;
}

// `eryxon mcp serve --http HOST:PORT`: the Streamable HTTP transport until
// SIGINT/SIGTERM (blocked in run() before the engine started any thread).
int serve_http(const Args& a, eryxon::Engine& engine, const eryxon::McpServerOptions& session) {
  eryxon::McpHttpOptions opts;
  opts.session = session;
  opts.session.default_api_key.clear();  // every request brings its own key
  const std::string where = a.need("http");
  const auto colon = where.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == where.size())
    throw eryxon::Error(eryxon::ErrorCode::validation_error, "--http needs HOST:PORT");
  opts.host = where.substr(0, colon);
  if (opts.host.size() > 2 && opts.host.front() == '[' && opts.host.back() == ']')
    opts.host = opts.host.substr(1, opts.host.size() - 2);
  const std::int64_t port = std::stoll(where.substr(colon + 1));
  if (port < 0 || port > 65535)
    throw eryxon::Error(eryxon::ErrorCode::validation_error, "--http port must be 0..65535");
  opts.port = static_cast<std::uint16_t>(port);
  for (const auto& origin : split_tools(a.get("allowed-origin")))
    if (!origin.empty()) opts.allowed_origins.push_back(origin);
  const std::int64_t idle_s = int_option(a, "session-idle-seconds", 1800);
  const std::int64_t max_sessions = int_option(a, "max-sessions", 64);
  if (idle_s < 1) throw eryxon::Error(eryxon::ErrorCode::validation_error,
                                      "--session-idle-seconds must be at least 1");
  if (max_sessions < 1 || max_sessions > 100000)
    throw eryxon::Error(eryxon::ErrorCode::validation_error, "--max-sessions must be 1..100000");
  opts.session_idle_timeout_ms = idle_s * 1000;
  opts.max_sessions = static_cast<std::size_t>(max_sessions);
  const sigset_t stop_signals = stop_signal_set();
  eryxon::McpHttpServer server(engine, opts);
  server.start();
  std::cerr << fmt::format("eryxon: MCP Streamable HTTP on http://{}:{}{}\n", where.substr(0, colon),
                           server.port(), opts.path);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  server.stop();
  std::cerr << fmt::format("eryxon: stopped by signal {}\n", signal);
  return 0;
}

int run(const Args& a) {
  const auto& w = a.words;
  if (w.empty() || w[0] == "help" || a.options.count("help")) {
    std::cout << kUsage;
    return w.empty() ? 2 : 0;
  }
  const std::string cmd = w[0];
  const std::string sub = w.size() > 1 ? w[1] : "";
  if (cmd == "version") {
    std::cout << ERYXON_VERSION_STRING << "\n";
    return 0;
  }

  if (cmd == "tools" && sub == "catalog") {  // no database: the built-in registries
    auto engine = eryxon::Engine::in_memory({eryxon::system_now_ms, std::nullopt, std::nullopt});
    const std::string format = a.get("format", "md");
    if (format != "md" && format != "json") throw std::runtime_error("--format must be md or json");
    std::cout << (format == "md" ? eryxon::cli::tool_catalog_markdown(*engine)
                                 : eryxon::cli::tool_catalog_json(*engine));
    return 0;
  }

  if (cmd == "pepper" && sub == "rotate") {
    const std::string file = pepper_file(a);
    const int version = eryxon::PepperSet::rotate_file(file);
    std::cerr << fmt::format(
        "eryxon: pepper version {} added to {}; restart servers to use it\n", version, file);
    return 0;
  }

  if ((cmd == "events" && sub == "dispatch" && !a.options.count("once")) ||
      (cmd == "mcp" && sub == "serve" && a.options.count("http"))) {
    // Before the engine starts its writer threads, so that none of them
    // takes the signal (see run_events).
    const sigset_t stop_signals = stop_signal_set();
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  }
  auto engine = eryxon::Engine::open(db_path(a), engine_options(a, cmd == "init"));
  auto& shop = engine->shop();

  if (cmd == "init") {
    std::cerr << fmt::format("eryxon: {} ready (schema version {})\n", db_label(a),
                             engine->storage().schema_version());
    if (eryxon::is_postgres_url(db_path(a)))
      std::cerr << fmt::format(
          "eryxon: connect servers and commands as role {} (row-level security applies to it)\n",
          a.get("app-role", "eryxon_app"));
    return 0;
  }
  if (cmd == "tenant" && sub == "create") {
    eryxon::NewTenant in;
    in.name = a.need("name");
    auto plan = eryxon::parse_enum<eryxon::Plan>(a.get("plan", "free"));
    if (!plan)
      throw eryxon::Error(eryxon::ErrorCode::validation_error,
                          "--plan must be free, pro, premium or enterprise");
    in.plan = *plan;
    in.timezone = a.get("timezone", "UTC");
    std::cout << shop.create_tenant(in).id << "\n";
    return 0;
  }
  if (cmd == "tenant" && sub == "list") {
    for (const auto& t : engine->storage().list_tenants())
      std::cout << fmt::format("{}  {:<10}  {}\n", t.id, eryxon::to_string(t.plan), t.name);
    return 0;
  }
  if (cmd == "key" && sub == "create") {
    const std::string tenant = a.need("tenant");
    eryxon::NewMcpKey in;
    in.name = a.need("name");
    in.allowed_tools = split_tools(a.get("tools", "*"));
    in.environment = a.get("env", "live");
    if (auto d = a.get("description"); !d.empty()) in.description = d;
    if (auto r = a.get("rate-limit"); !r.empty()) in.rate_limit = std::stoll(r);
    if (auto e = a.get("expires-at"); !e.empty()) in.expires_at = e;
    in.created_by = "cli";
    auto family = eryxon::parse_enum<eryxon::KeyFamily>(a.get("family", "mcp"));
    if (!family)
      throw eryxon::Error(eryxon::ErrorCode::validation_error, "--family must be mcp or rest");
    in.family = *family;
    auto created = engine->keys().create_key(tenant, in);
    std::cout << created.plaintext << std::endl;
    created.wipe();
    std::cerr << fmt::format(
        "eryxon: key '{}' (id {}) created. Store it now: it cannot be shown again.\n",
        created.record.name, created.record.id);
    return 0;
  }
  if (cmd == "key" && sub == "list") {
    for (const auto& k : engine->keys().list(a.need("tenant")))
      std::cout << fmt::format("{}  {}_{}_{}...  {:<8}  uses={:<6} tools={}  {}\n", k.id,
                               k.family == "mcp" ? "mcp" : "ery", k.environment, k.key_id,
                               k.enabled ? "enabled" : "disabled", k.usage_count,
                               fmt::join(k.allowed_tools, ","), k.name);
    return 0;
  }
  if (cmd == "key" && sub == "stats") {
    const auto stats = engine->audit()->key_stats(a.need("tenant"), a.need("id"));
    std::cout << eryxon::to_json(stats).dump(2) << "\n";
    return 0;
  }
  if (cmd == "key" && sub == "usage") {
    std::optional<std::string> key_id;
    if (!a.get("id").empty()) key_id = a.get("id");
    const auto rows = engine->audit()->recent_usage(a.need("tenant"), key_id,
                                                    std::stoll(a.get("limit", "20")));
    for (const auto& r : rows) std::cout << nlohmann::json(r).dump() << "\n";
    return 0;
  }
  if (cmd == "key" && (sub == "enable" || sub == "disable")) {
    auto rec = engine->keys().set_enabled(a.need("tenant"), a.need("id"), sub == "enable");
    std::cerr << fmt::format("eryxon: key '{}' {}d\n", rec.name, sub);
    return 0;
  }
  if (cmd == "key" && sub == "delete") {
    engine->keys().remove(a.need("tenant"), a.need("id"));
    std::cerr << "eryxon: key deleted\n";
    return 0;
  }
  if (cmd == "key" && sub == "rotate") {
    const std::int64_t grace_s = std::stoll(a.get("grace-seconds", "86400"));
    auto created = engine->keys().rotate(a.need("tenant"), a.need("id"), grace_s * 1000);
    std::cout << created.plaintext << std::endl;
    created.wipe();
    std::cerr << fmt::format("eryxon: key '{}' rotated (new id {}); the old key expires in {} s\n",
                             created.record.name, created.record.id, grace_s);
    return 0;
  }
  if (cmd == "key" && sub == "import-legacy") {
    eryxon::LegacyKey in;
    in.name = a.need("name");
    in.stored_hash = a.need("hash");
    in.key_prefix = a.need("prefix");
    in.environment = a.get("env", "live");
    in.allowed_tools = split_tools(a.get("tools", "*"));
    auto family = eryxon::parse_enum<eryxon::KeyFamily>(a.get("family", "mcp"));
    if (!family)
      throw eryxon::Error(eryxon::ErrorCode::validation_error, "--family must be mcp or rest");
    in.family = *family;
    auto rec = engine->keys().import_legacy_key(a.need("tenant"), in);
    std::cout << rec.id << "\n";
    return 0;
  }
  if (cmd == "seed-demo") {
    std::string tenant = a.get("tenant");
    if (tenant.empty()) {
      tenant = shop.create_tenant({"Demo Sheet Metal Works", eryxon::Plan::pro, "UTC"}).id;
      std::cout << tenant << "\n";
    }
    eryxon::seed_demo_shop(shop, tenant);
    const auto s = shop.dashboard_stats(tenant);
    std::int64_t jobs = 0, ops = 0;
    for (auto n : s.jobs) jobs += n;
    for (auto n : s.operations) ops += n;
    std::cerr << fmt::format("eryxon: seeded {} jobs, {} operations in {} cells\n", jobs, ops,
                             s.active_cells);
    return 0;
  }
  if (cmd == "events") return run_events(*engine, a, sub);
  if (cmd == "export") {
    const std::string tenant = a.need("tenant");
    const std::string format = a.get("format", "json");
    const std::string out = a.need("out");
    shop.get_tenant(tenant);  // NOT_FOUND before the output file is touched
    eryxon::ExportOptions opts;
    opts.include_events = a.options.count("events") > 0;
    eryxon::ExportMetadata meta;
    if (format == "zip") {
      if (out == "-")
        throw eryxon::Error(eryxon::ErrorCode::validation_error, "--format zip needs a file --out");
      meta = eryxon::export_tenant_zip(engine->storage(), tenant, out, opts);
    } else if (format == "json") {
      if (out == "-") {
        meta = eryxon::export_tenant_json(engine->storage(), tenant, std::cout, opts);
        std::cout << "\n";
      } else {
        std::ofstream file(out, std::ios::binary | std::ios::trunc);
        if (!file)
          throw eryxon::Error(eryxon::ErrorCode::validation_error,
                              fmt::format("cannot write {}", out));
        meta = eryxon::export_tenant_json(engine->storage(), tenant, file, opts);
      }
    } else {
      throw eryxon::Error(eryxon::ErrorCode::validation_error, "--format must be json or zip");
    }
    std::int64_t rows = 0;
    for (const auto& t : meta.tables) rows += t.count;
    std::cerr << fmt::format("eryxon: exported {} rows in {} tables to {}\n", rows,
                             meta.tables.size(), out);
    return 0;
  }
  if (cmd == "import") {
    eryxon::ImportOptions opts;
    auto table = eryxon::parse_enum<eryxon::ImportTable>(a.need("table"));
    if (!table)
      throw eryxon::Error(eryxon::ErrorCode::validation_error,
                          "--table must be jobs, parts, operations, cells or resources");
    opts.table = *table;
    opts.dry_run = a.options.count("dry-run") > 0;
    opts.partial = a.options.count("partial") > 0;
    if (a.options.count("source")) opts.source = a.need("source");
    const std::string path = a.need("file");
    std::ifstream file(path, std::ios::binary);
    if (!file)
      throw eryxon::Error(eryxon::ErrorCode::validation_error, fmt::format("cannot read {}", path));
    std::ostringstream text;
    text << file.rdbuf();
    const auto result = eryxon::import_csv(shop, a.need("tenant"), text.str(), opts);
    std::cout << nlohmann::json(result).dump(2) << "\n";
    const bool nothing = !result.committed || result.created + result.updated == 0;
    return !result.errors.empty() && nothing ? 1 : 0;
  }
  if (cmd == "call") {
    auto args = nlohmann::json::parse(a.get("args", "{}"), nullptr, false);
    if (args.is_discarded())
      throw eryxon::Error(eryxon::ErrorCode::validation_error, "--args is not valid JSON");
    eryxon::CallOrigin origin;
    origin.client_name = "eryxon call";
    origin.client_version = ERYXON_VERSION_STRING;
    auto r = engine->call_tool(default_key(a), a.need("tool"), args, "live,test", origin);
    std::cout << r.body.dump(2) << "\n";
    return r.status == eryxon::CallStatus::ok ? 0 : 1;
  }
  if (cmd == "mcp" && sub == "serve") {
    std::signal(SIGPIPE, SIG_IGN);  // a vanished client ends serve() with an error, not a signal
    eryxon::McpServerOptions opts;
    opts.default_api_key = default_key(a);
    const std::int64_t page_size = int_option(a, "page-size", 100);
    const std::int64_t workers = int_option(a, "workers", 4);
    if (page_size < 1 || page_size > 100000)
      throw eryxon::Error(eryxon::ErrorCode::validation_error, "--page-size must be 1..100000");
    if (workers < 1 || workers > 64)
      throw eryxon::Error(eryxon::ErrorCode::validation_error, "--workers must be 1..64");
    opts.page_size = static_cast<std::size_t>(page_size);
    opts.workers = static_cast<unsigned>(workers);
    if (const std::string level = a.get("log-level", "warning"); level == "off") {
      opts.log_level = std::nullopt;
    } else if (auto parsed = eryxon::parse_mcp_log_level(level)) {
      opts.log_level = *parsed;
    } else {
      throw eryxon::Error(eryxon::ErrorCode::validation_error,
                          "--log-level must be debug, info, notice, warning, error, critical, "
                          "alert, emergency or off");
    }
    if (a.options.count("http")) return serve_http(a, *engine, opts);
    eryxon::McpServer server(*engine, opts);
    return server.serve(STDIN_FILENO, STDOUT_FILENO);
  }
  std::cerr << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const eryxon::Error& e) {
    std::cerr << fmt::format("eryxon: {}: {}\n", eryxon::to_string(e.code()), e.what());
    return e.code() == eryxon::ErrorCode::validation_error ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << "eryxon: " << e.what() << "\n";
    return 1;
  }
}
