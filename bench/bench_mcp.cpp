// MCP tools/call round trips (issue #3 item 6).
//
//   BM_FetchJobsRoundTrip  in-process: McpServer::handle_message of one
//                          tools/call fetch_jobs line (JSON-RPC parse, key
//                          validation, rate limits and quota, schema
//                          validation, fetch_jobs on a seeded SQLite shop,
//                          audit record, result encoding).
//   BM_StdioRoundTrip      over stdio against a native client (this
//                          process): the client writes JSON-RPC lines to a
//                          server child's stdin and reads its replies.
//                          Arg 0 is the server:
//                            0 `eryxon mcp serve`: tools/call fetch_jobs
//                              {"limit":1} with the key, all of the above;
//                            1 the official MCP TypeScript SDK (McpServer +
//                              StdioServerTransport, clients/ts) with one
//                              `echo` tool: the SDK's own per-call cost;
//                            2 canned: a minimal C++ process answering each
//                              line with a fixed tools/call result (the
//                              floor: pipes, process switches, line I/O);
//                            3 eryxon echo: the library's McpServer (what
//                              `eryxon mcp serve` runs) with an `echo` host
//                              tool, the TypeScript server's work plus
//                              eryxon's key, limits, quota and audit.
//                          Arg 1: 1 = sequential (one request in flight),
//                          32 = pipelined (32 requests in flight).
//                          Items per second = round trips per second.
// The servers need the eryxon binary (ERYXON_CLI_BIN) and node with
// clients/ts/node_modules (scripts/install-deps.sh); a missing one skips
// its runs with an error message.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "eryxon/eryxon.hpp"

extern char** environ;

namespace {

// A key that the limiter never refuses, on a tenant without a daily quota:
// the benchmarks measure calls, not refusals.
eryxon::CreatedKey bench_key(eryxon::Engine& engine, const std::string& tenant) {
  eryxon::NewMcpKey in{"bench"};
  in.rate_limit = 1'000'000'000;  // requests per minute
  return engine.keys().create_mcp_key(tenant, in);
}

void BM_FetchJobsRoundTrip(benchmark::State& state) {
  const std::string path = "/tmp/eryxon_bench_mcp.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  auto engine = eryxon::Engine::open(path, {eryxon::system_now_ms, eryxon::Pepper::generate()});
  const auto tenant =
      engine->shop().create_tenant({"Bench", eryxon::Plan::enterprise, "UTC"}).id;
  eryxon::seed_demo_shop(engine->shop(), tenant);
  auto key = bench_key(*engine, tenant);
  eryxon::McpServer server(*engine);
  server.handle_message(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}})");
  const std::string request =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fetch_jobs","arguments":{"status":"in_progress","limit":10},"_meta":{"apiKey":")" +
      key.plaintext + R"("}}})";
  std::size_t bytes = 0, failed = 0;
  for (auto _ : state) {
    auto reply = server.handle_message(request);
    bytes += reply->size();
    failed += reply->find("\"isError\":false") == std::string::npos;
    benchmark::DoNotOptimize(reply);
  }
  if (failed) state.SkipWithError("some calls did not succeed");
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_FetchJobsRoundTrip)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------
// Stdio: a child process with its stdin and stdout on pipes.

class StdioServer {
 public:
  explicit StdioServer(std::vector<std::string> argv, const std::string& cwd = {}) {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_ = to_child[1];
    from_ = from_child[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start " + argv[0]);
    }
  }
  ~StdioServer() {
    ::close(to_);  // end of input: the server exits
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, 0) != pid_) ::kill(pid_, SIGKILL);
    ::close(from_);
  }
  void write(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(to_, data.data() + done, data.size() - done);
      if (n <= 0) throw std::runtime_error("server closed its input");
      done += static_cast<std::size_t>(n);
    }
  }
  // The next line the server writes (without '\n').
  std::string read_line() {
    for (;;) {
      if (const auto nl = buffer_.find('\n', start_); nl != std::string::npos) {
        std::string line = buffer_.substr(start_, nl - start_);
        start_ = nl + 1;
        if (start_ > 65536) {
          buffer_.erase(0, start_);
          start_ = 0;
        }
        return line;
      }
      char chunk[65536];
      const ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("server closed its output");
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  std::string buffer_;
  std::size_t start_ = 0;
};

std::filesystem::path source_dir() { return ERYXON_SOURCE_DIR; }

// The canned-reply floor: reads lines, answers each with a fixed tools/call
// result carrying the request's id (the text between "id": and the next ,).
int canned_server() {
  std::string buffer;
  char chunk[65536];
  std::string out;
  for (;;) {
    const ssize_t n = ::read(0, chunk, sizeof chunk);
    if (n <= 0) return 0;
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t start = 0;
    out.clear();
    for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      const std::string_view line(buffer.data() + start, nl - start);
      const auto at = line.find("\"id\":");
      if (at == std::string_view::npos) continue;  // a notification
      const auto end = line.find_first_of(",}", at + 5);
      out += R"({"jsonrpc":"2.0","id":)";
      out += line.substr(at + 5, end - (at + 5));
      out += R"(,"result":{"content":[{"type":"text","text":"{\"success\":true}"}],"structuredContent":{"success":true},"isError":false}})";
      out += '\n';
    }
    buffer.erase(0, start);
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t w = ::write(1, out.data() + done, out.size() - done);
      if (w <= 0) return 1;
      done += static_cast<std::size_t>(w);
    }
  }
}

// eryxon with the TypeScript baseline's work: the library's own MCP server
// (McpServer::serve, the code behind `eryxon mcp serve`) on a SQLite store,
// with one host tool `echo` {text} -> {text}. Every call still passes key
// validation, both rate limits, the quota, schema validation and the audit
// log; only the domain work of fetch_jobs is gone.
int eryxon_echo_server(const char* db, const char* key) {
  auto engine = eryxon::Engine::open(db);
  engine->tools().add(
      {"echo",
       "Returns its text",
       {{"type", "object"},
        {"properties", {{"text", {{"type", "string"}, {"maxLength", 1000}}}}},
        {"required", {"text"}},
        {"additionalProperties", false}},
       {"Echo", true, false, true, false},
       [](eryxon::ToolContext&, const nlohmann::json& args) {
         return eryxon::ToolOutput{{{"text", args.at("text")}}};
       },
       {{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}}});
  eryxon::McpServerOptions options;
  options.default_api_key = key;
  eryxon::McpServer server(*engine, options);
  return server.serve(0, 1);
}

struct StdioSetup {
  std::unique_ptr<StdioServer> server;
  std::string request_prefix;  // up to the id
  std::string request_suffix;  // after the id
};

StdioSetup start_server(int which, const std::string& self) {
  StdioSetup s;
  if (which == 0 || which == 3) {
    const std::string db = "/tmp/eryxon_bench_stdio.db";
    for (const char* suffix : {"", "-wal", "-shm", ".pepper"}) std::remove((db + suffix).c_str());
    std::string key;
    {
      auto engine = eryxon::Engine::open(db);
      const auto tenant =
          engine->shop().create_tenant({"Bench", eryxon::Plan::enterprise, "UTC"}).id;
      eryxon::seed_demo_shop(engine->shop(), tenant);
      auto created = bench_key(*engine, tenant);
      key = created.plaintext;
      created.wipe();
    }
    if (which == 0) {
      s.server = std::make_unique<StdioServer>(
          std::vector<std::string>{ERYXON_CLI_BIN, "mcp", "serve", "--db", db, "--key", key});
      s.request_suffix =
          R"(,"method":"tools/call","params":{"name":"fetch_jobs","arguments":{"limit":1}}})";
    } else {
      s.server = std::make_unique<StdioServer>(
          std::vector<std::string>{self, "--eryxon-echo-server", db, key});
      s.request_suffix =
          R"(,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}})";
    }
  } else if (which == 1) {
    s.server = std::make_unique<StdioServer>(
        std::vector<std::string>{"node", "bench-echo-server.mjs"},
        (source_dir() / "clients" / "ts").string());
    s.request_suffix =
        R"(,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}})";
  } else {
    s.server = std::make_unique<StdioServer>(std::vector<std::string>{self, "--canned-server"});
    s.request_suffix =
        R"(,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}})";
  }
  s.request_prefix = R"({"jsonrpc":"2.0","id":)";
  s.server->write(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}})"
      "\n");
  const std::string init = s.server->read_line();
  if (init.find("\"result\"") == std::string::npos)
    throw std::runtime_error("initialize failed: " + init.substr(0, 200));
  s.server->write(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
                  "\n");
  return s;
}

}  // namespace
namespace eryxon_bench {
std::string g_self;  // this executable, for the canned server and bench_storage's second process
int storage_load(char** argv);  // bench_storage.cpp
}  // namespace eryxon_bench
using eryxon_bench::g_self;
namespace {

void BM_StdioRoundTrip(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const int window = static_cast<int>(state.range(1));
  StdioSetup s;
  try {
    s = start_server(which, g_self);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  std::int64_t id = 1, in_flight = 0, failed = 0;
  std::string batch;
  auto request = [&] {
    batch += s.request_prefix;
    batch += std::to_string(id++);
    batch += s.request_suffix;
    batch += '\n';
  };
  // eryxon and the canned floor say isError:false; the SDK omits it.
  const char* success = which == 1 ? "\"result\":{\"content\"" : "\"isError\":false";
  auto check = [&](const std::string& reply) { failed += reply.find(success) == std::string::npos; };
  for (auto _ : state) {
    // Keep `window` requests in flight: top up, then take one reply.
    batch.clear();
    while (in_flight < window) {
      request();
      ++in_flight;
    }
    if (!batch.empty()) s.server->write(batch);
    check(s.server->read_line());
    --in_flight;
  }
  while (in_flight-- > 0) check(s.server->read_line());
  if (failed) state.SkipWithError("some calls did not succeed");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  static const char* names[] = {"eryxon fetch_jobs", "ts-sdk-echo", "canned", "eryxon-echo"};
  state.SetLabel(std::string(names[which]) + (window == 1 ? " sequential" : " pipelined"));
}
BENCHMARK(BM_StdioRoundTrip)
    ->ArgsProduct({{0, 1, 2, 3}, {1, 32}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  g_self = argv[0];
  if (argc == 2 && std::strcmp(argv[1], "--canned-server") == 0) return canned_server();
  if (argc == 4 && std::strcmp(argv[1], "--eryxon-echo-server") == 0)
    return eryxon_echo_server(argv[2], argv[3]);
  if (argc == 9 && std::strcmp(argv[1], "--storage-load") == 0)
    return eryxon_bench::storage_load(argv + 2);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
