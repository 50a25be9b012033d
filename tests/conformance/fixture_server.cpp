// The fixture server the MCP conformance suite (@modelcontextprotocol/conformance)
// runs its server scenarios against: an in-memory Engine with one enterprise
// tenant and one MCP key, the suite's fixture tools, resources, prompts and
// completer registered through the library's public C++ API, served over
// Streamable HTTP on loopback.
//
//   eryxon_conformance_fixture [--port N]
//
// Prints "listening http://127.0.0.1:PORT/mcp" on stdout once it serves and
// runs until SIGINT or SIGTERM. The suite sends no Authorization header, so
// the server's unauthenticated_key is the fixture's key (see
// McpHttpOptions::unauthenticated_key); the port is bound to 127.0.0.1 only.
// Sampling and elicitation tools ask the client through
// ToolContext::request_client; the request reaches the client on the
// session's GET stream. The pending scenario server-sse-polling's tool
// (test_reconnection, SEP-1699 stream resumption) is not registered.
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "eryxon/eryxon.hpp"

namespace {

using nlohmann::json;
using namespace eryxon;

// A 1x1 red PNG.
constexpr unsigned char kPng[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00,
    0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78,
    0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92,
    0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

std::string png() { return std::string(reinterpret_cast<const char*>(kPng), sizeof kPng); }

// A short mono 8 kHz 16-bit PCM WAV of silence (RIFF header + 100 samples).
std::string wav() {
  const std::uint32_t samples = 100, rate = 8000, data_bytes = samples * 2;
  std::string out;
  auto u32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  auto u16 = [&](std::uint16_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(v >> 8));
  };
  out += "RIFF";
  u32(36 + data_bytes);
  out += "WAVEfmt ";
  u32(16);
  u16(1);  // PCM
  u16(1);  // mono
  u32(rate);
  u32(rate * 2);  // byte rate
  u16(2);         // block align
  u16(16);        // bits per sample
  out += "data";
  u32(data_bytes);
  out.append(data_bytes, '\0');
  return out;
}

const json kNoArgs = {{"type", "object"}, {"properties", json::object()}};

void add_tool(Engine& engine, std::string name, std::string description, ToolHandler handler,
              json schema = kNoArgs) {
  ToolDefinition t;
  t.name = std::move(name);
  t.description = std::move(description);
  t.input_schema = std::move(schema);
  t.annotations.read_only = true;
  t.annotations.idempotent = true;
  t.handler = std::move(handler);
  engine.tools().add(std::move(t));
}

ToolOutput content(json blocks) {
  ToolOutput out;
  out.data = nullptr;
  out.content = std::move(blocks);
  return out;
}

void register_tools(Engine& engine) {
  add_tool(engine, "test_simple_text", "Returns one text block.", [](ToolContext&, const json&) {
    return content(json::array({mcp_text_content("This is a simple text response for testing.")}));
  });
  add_tool(engine, "test_image_content", "Returns a 1x1 PNG image block.",
           [](ToolContext&, const json&) {
             return content(json::array({mcp_image_content(png(), "image/png")}));
           });
  add_tool(engine, "test_audio_content", "Returns a short WAV audio block.",
           [](ToolContext&, const json&) {
             return content(json::array({mcp_audio_content(wav(), "audio/wav")}));
           });
  add_tool(engine, "test_embedded_resource", "Returns an embedded text resource.",
           [](ToolContext&, const json&) {
             return content(json::array({mcp_embedded_text(
                 "test://embedded-resource", "text/plain", "This is an embedded resource content.")}));
           });
  add_tool(engine, "test_multiple_content_types", "Returns text, image and resource blocks.",
           [](ToolContext&, const json&) {
             return content(json::array(
                 {mcp_text_content("Multiple content types test:"),
                  mcp_image_content(png(), "image/png"),
                  mcp_embedded_text("test://mixed-content-resource", "application/json",
                                    json{{"test", "data"}, {"value", 123}}.dump())}));
           });
  add_tool(engine, "test_tool_with_logging", "Sends three info log messages while it runs.",
           [](ToolContext& ctx, const json&) {
             ctx.log("info", "Tool execution started");
             std::this_thread::sleep_for(std::chrono::milliseconds(50));
             ctx.log("info", "Tool processing data");
             std::this_thread::sleep_for(std::chrono::milliseconds(50));
             ctx.log("info", "Tool execution completed");
             return content(json::array({mcp_text_content("Tool with logging executed successfully")}));
           });
  add_tool(engine, "test_error_handling", "Always fails.", [](ToolContext&, const json&) -> ToolOutput {
    throw Error(ErrorCode::conflict, "This tool intentionally returns an error for testing");
  });
  add_tool(engine, "test_tool_with_progress", "Reports progress 0, 50 and 100 of 100.",
           [](ToolContext& ctx, const json&) {
             ctx.progress(0, 100);
             std::this_thread::sleep_for(std::chrono::milliseconds(50));
             ctx.progress(50, 100);
             std::this_thread::sleep_for(std::chrono::milliseconds(50));
             ctx.progress(100, 100);
             return content(json::array({mcp_text_content("Progress test completed")}));
           });
  add_tool(engine, "test_sampling", "Asks the client's model to answer a prompt.",
           [](ToolContext& ctx, const json& args) {
             const json result = ctx.request_client(
                 "sampling/createMessage",
                 {{"messages", json::array({{{"role", "user"},
                                             {"content", mcp_text_content(args.at("prompt").get<std::string>())}}})},
                  {"maxTokens", 100}});
             const json& c = result.value("content", json::object());
             const std::string text = c.is_object() ? c.value("text", std::string()) : std::string();
             return content(json::array({mcp_text_content("LLM response: " + text)}));
           },
           json{{"type", "object"},
                {"properties", {{"prompt", {{"type", "string"}, {"description", "The prompt to send"}}}}},
                {"required", json::array({"prompt"})}});
  auto elicit = [](ToolContext& ctx, std::string message, json schema, const char* prefix) {
    const json r = ctx.request_client("elicitation/create",
                                      {{"message", std::move(message)}, {"requestedSchema", std::move(schema)}});
    return content(json::array({mcp_text_content(std::string(prefix) + "action=" +
                                                  r.value("action", std::string("?")) + ", content=" +
                                                  r.value("content", json::object()).dump())}));
  };
  add_tool(engine, "test_elicitation", "Asks the user for a username and an email address.",
           [elicit](ToolContext& ctx, const json& args) {
             return elicit(ctx, args.at("message").get<std::string>(),
                           {{"type", "object"},
                            {"properties",
                             {{"username", {{"type", "string"}, {"description", "User's response"}}},
                              {"email", {{"type", "string"}, {"description", "User's email address"}}}}},
                            {"required", json::array({"username", "email"})}},
                           "User response: ");
           },
           json{{"type", "object"},
                {"properties", {{"message", {{"type", "string"}, {"description", "The message to show"}}}}},
                {"required", json::array({"message"})}});
  add_tool(engine, "test_elicitation_sep1034_defaults", "Elicits fields that carry defaults (SEP-1034).",
           [elicit](ToolContext& ctx, const json&) {
             return elicit(ctx, "Please review your profile",
                           {{"type", "object"},
                            {"properties",
                             {{"name", {{"type", "string"}, {"default", "John Doe"}}},
                              {"age", {{"type", "integer"}, {"default", 30}}},
                              {"score", {{"type", "number"}, {"default", 95.5}}},
                              {"status",
                               {{"type", "string"},
                                {"enum", json::array({"active", "inactive", "pending"})},
                                {"default", "active"}}},
                              {"verified", {{"type", "boolean"}, {"default", true}}}}}},
                           "Elicitation completed: ");
           });
  add_tool(engine, "test_elicitation_sep1330_enums", "Elicits the five enum forms (SEP-1330).",
           [elicit](ToolContext& ctx, const json&) {
             auto titled = [](std::initializer_list<std::pair<const char*, const char*>> items) {
               json out = json::array();
               for (const auto& [value, title] : items) out.push_back({{"const", value}, {"title", title}});
               return out;
             };
             return elicit(
                 ctx, "Please choose",
                 {{"type", "object"},
                  {"properties",
                   {{"untitledSingle", {{"type", "string"}, {"enum", json::array({"option1", "option2", "option3"})}}},
                    {"titledSingle",
                     {{"type", "string"},
                      {"oneOf", titled({{"value1", "First Option"}, {"value2", "Second Option"}, {"value3", "Third Option"}})}}},
                    {"legacyEnum",
                     {{"type", "string"},
                      {"enum", json::array({"opt1", "opt2", "opt3"})},
                      {"enumNames", json::array({"Option One", "Option Two", "Option Three"})}}},
                    {"untitledMulti",
                     {{"type", "array"},
                      {"items", {{"type", "string"}, {"enum", json::array({"option1", "option2", "option3"})}}}}},
                    {"titledMulti",
                     {{"type", "array"},
                      {"items",
                       {{"anyOf", titled({{"value1", "First Choice"}, {"value2", "Second Choice"}, {"value3", "Third Choice"}})}}}}}}}},
                 "Elicitation completed: ");
           });
  add_tool(engine, "json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features",
           [](ToolContext&, const json& args) {
             return content(json::array({mcp_text_content("Received: " + args.dump())}));
           },
           json{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                {"type", "object"},
                {"$defs",
                 {{"address",
                   {{"type", "object"},
                    {"properties",
                     {{"street", {{"type", "string"}}}, {"city", {{"type", "string"}}}}}}}}},
                {"properties",
                 {{"name", {{"type", "string"}}}, {"address", {{"$ref", "#/$defs/address"}}}}},
                {"additionalProperties", false}});
}

std::shared_ptr<McpCatalog> make_catalog() {
  auto c = std::make_shared<McpCatalog>();
  c->add_resource({"test://static-text", "Static text", "", "A fixed text resource.",
                   "text/plain", [](const std::string& uri) {
                     return json::array({mcp_text_resource_contents(
                         uri, "text/plain", "This is the content of the static text resource.")});
                   }});
  c->add_resource({"test://static-binary", "Static binary", "", "A fixed PNG image.", "image/png",
                   [](const std::string& uri) {
                     return json::array({mcp_blob_resource_contents(uri, "image/png", png())});
                   }});
  c->add_resource({"test://watched-resource", "Watched resource", "",
                   "A resource clients may subscribe to.", "text/plain",
                   [](const std::string& uri) {
                     return json::array(
                         {mcp_text_resource_contents(uri, "text/plain", "Watched resource content.")});
                   }});
  c->add_template({"test://template/{id}/data", "Template data", "",
                   "Data for an id, substituted into the URI.", "application/json",
                   [](const std::string& uri, const std::map<std::string, std::string>& v) {
                     const std::string id = v.at("id");
                     const json body = {{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
                     return json::array(
                         {mcp_text_resource_contents(uri, "application/json", body.dump())});
                   }});
  auto user = [](json block) { return json{{"role", "user"}, {"content", std::move(block)}}; };
  c->add_prompt({"test_simple_prompt", "", "A prompt without arguments.", {},
                 [user](const std::map<std::string, std::string>&) {
                   return json::array({user(mcp_text_content("This is a simple prompt for testing."))});
                 }});
  c->add_prompt({"test_prompt_with_arguments", "", "A prompt with two required arguments.",
                 {{"arg1", "First test argument", true}, {"arg2", "Second test argument", true}},
                 [user](const std::map<std::string, std::string>& a) {
                   return json::array({user(mcp_text_content("Prompt with arguments: arg1='" +
                                                             a.at("arg1") + "', arg2='" +
                                                             a.at("arg2") + "'"))});
                 }});
  c->add_prompt({"test_prompt_with_embedded_resource", "", "A prompt embedding a resource.",
                 {{"resourceUri", "URI of the resource to embed", true}},
                 [user](const std::map<std::string, std::string>& a) {
                   return json::array(
                       {user(mcp_embedded_text(a.at("resourceUri"), "text/plain",
                                               "Embedded resource content for testing.")),
                        user(mcp_text_content("Please process the embedded resource above."))});
                 }});
  c->add_prompt({"test_prompt_with_image", "", "A prompt carrying an image.", {},
                 [user](const std::map<std::string, std::string>&) {
                   return json::array({user(mcp_image_content(png(), "image/png")),
                                       user(mcp_text_content("Please analyze the image above."))});
                 }});
  c->set_completer([](const json& ref, const std::string& argument, const std::string& value,
                      const std::map<std::string, std::string>&) {
    McpCompletion out;
    if (ref.value("type", "") != "ref/prompt" ||
        ref.value("name", "") != "test_prompt_with_arguments" || argument != "arg1")
      return out;
    for (const char* v : {"paris", "park", "party", "test", "testing"})
      if (std::string_view(v).substr(0, value.size()) == value) out.values.emplace_back(v);
    out.total = static_cast<std::int64_t>(out.values.size());
    return out;
  });
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = static_cast<std::uint16_t>(std::stoi(argv[++i]));
    } else {
      std::cerr << "usage: eryxon_conformance_fixture [--port N]\n";
      return 2;
    }
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before any thread starts

  try {
    auto engine = Engine::in_memory();
    NewTenant tenant;
    tenant.name = "MCP conformance";
    tenant.plan = Plan::enterprise;
    const Tenant t = engine->shop().create_tenant(tenant);
    NewApiKey key;
    key.name = "conformance";
    key.rate_limit = 1000000;
    CreatedKey created = engine->keys().create_mcp_key(t.id, key);
    register_tools(*engine);

    McpHttpOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.unauthenticated_key = created.plaintext;
    options.session.catalog = make_catalog();
    options.session.server_name = "eryxon-conformance-fixture";
    // The suite runs its scenarios back to back, each with a new session
    // whose client opens a GET stream and drops it without DELETE. A dead
    // stream is noticed only when a keep-alive write fails, so keep-alives
    // come often and there are threads enough for the streams not yet
    // noticed (each holds one; past threads - 2 a GET is refused with 503,
    // and a session without a GET stream cannot receive the sampling and
    // elicitation requests).
    options.keepalive_ms = 500;
    options.threads = 64;
    created.wipe();
    McpHttpServer server(*engine, options);
    server.start();
    std::cout << "listening http://127.0.0.1:" << server.port() << "/mcp" << std::endl;

    int sig = 0;
    sigwait(&stop_signals, &sig);
    server.stop();
  } catch (const std::exception& e) {
    std::cerr << "eryxon_conformance_fixture: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
