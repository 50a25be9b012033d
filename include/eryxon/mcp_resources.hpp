// eryxon/mcp_resources.hpp - what an MCP session offers besides tools:
// resources, resource templates, prompts and argument completion (MCP spec
// 2025-11-25 "Server / Resources", "Server / Prompts" and "Server /
// Utilities / Completion"), plus helpers that build MCP content blocks
// (text, image, audio, embedded resource, resource link) for tool results,
// resource reads and prompt messages.
//
// A host fills one McpCatalog and hands it to its sessions through
// McpServerOptions::catalog (and so McpHttpOptions::session.catalog). A
// session with a catalog declares the capabilities
//   "resources": {"subscribe": true, "listChanged": true}
//   "prompts":   {"listChanged": true}
//   "completions": {}            (only when a completer is set)
// and answers resources/list, resources/templates/list, resources/read,
// resources/subscribe, resources/unsubscribe, prompts/list, prompts/get and
// completion/complete. Without a catalog these methods are -32601, as
// before, and none of the three capabilities is declared.
//
// Access: the catalog is not filtered by key. Over Streamable HTTP every
// request is authenticated by the transport first, so only holders of a
// valid MCP key see it; over stdio whoever runs the process does. Put
// nothing in a catalog that every key of the deployment may not read.
//
// Thread safety: every McpCatalog member may be called from any thread,
// also while sessions serve. Readers, prompt builders and the completer run
// on the session's request thread without a catalog lock held; they may call
// the catalog's const members but must not add or remove entries (that
// would not deadlock, but the change is then reported to the session that is
// still answering). Listeners run on the thread that made the change.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eryxon/export.h"

namespace eryxon {

// ---------------------------------------------------------------------------
// Content blocks (MCP "Server / Tools / Tool Result" and "Resources /
// Resource Contents"). Each returns one JSON object ready to go on the wire.

/// Standard base64 (RFC 4648 section 4, with padding) of raw bytes, as MCP
/// expects in `data` and `blob` fields.
ERYXON_EXPORT std::string mcp_base64(std::string_view bytes);

/// {"type":"text","text":...}
ERYXON_EXPORT nlohmann::json mcp_text_content(std::string_view text);
/// {"type":"image","data":base64(bytes),"mimeType":...}; `bytes` are raw.
ERYXON_EXPORT nlohmann::json mcp_image_content(std::string_view bytes, std::string_view mime_type);
/// {"type":"audio","data":base64(bytes),"mimeType":...}; `bytes` are raw.
ERYXON_EXPORT nlohmann::json mcp_audio_content(std::string_view bytes, std::string_view mime_type);
/// An embedded text resource: {"type":"resource","resource":{uri, mimeType,
/// text}}.
ERYXON_EXPORT nlohmann::json mcp_embedded_text(std::string_view uri, std::string_view mime_type,
                                               std::string_view text);
/// A resource link: {"type":"resource_link","uri","name","mimeType"?} (MCP
/// 2025-06-18 and later). An empty mime_type is left out.
ERYXON_EXPORT nlohmann::json mcp_resource_link(std::string_view uri, std::string_view name,
                                               std::string_view mime_type = {});
/// One text entry of a resources/read result: {uri, mimeType, text}.
ERYXON_EXPORT nlohmann::json mcp_text_resource_contents(std::string_view uri,
                                                        std::string_view mime_type,
                                                        std::string_view text);
/// One binary entry of a resources/read result: {uri, mimeType,
/// blob: base64(bytes)}; `bytes` are raw.
ERYXON_EXPORT nlohmann::json mcp_blob_resource_contents(std::string_view uri,
                                                        std::string_view mime_type,
                                                        std::string_view bytes);

// ---------------------------------------------------------------------------
// Catalog entries

/// Reads one resource: returns the `contents` array of the resources/read
/// result (objects from mcp_text_resource_contents /
/// mcp_blob_resource_contents, or any valid MCP ResourceContents). `uri` is
/// the URI the client asked for. Throw eryxon::Error(NOT_FOUND) when there is
/// nothing at it (the client gets -32002 "Resource not found"); any other
/// exception is -32603.
using McpResourceReader = std::function<nlohmann::json(const std::string& uri)>;

/// A direct resource (MCP "Resources / Listing Resources").
struct McpResource {
  std::string uri;  ///< unique in the catalog, non-empty
  std::string name;  ///< non-empty
  std::string title;        ///< optional display name ("" leaves it out)
  std::string description;  ///< optional ("" leaves it out)
  std::string mime_type;    ///< optional ("" leaves it out)
  McpResourceReader read;   ///< required
};

/// Reads one resource of a template. `variables` maps each `{name}` of the
/// template to the text it matched in the URI. Errors as McpResourceReader.
using McpTemplateReader = std::function<nlohmann::json(
    const std::string& uri, const std::map<std::string, std::string>& variables)>;

/// A resource template (MCP "Resources / Resource Templates"). The template
/// is an RFC 6570 level-1 URI template: literal text and `{name}`
/// expressions; on resources/read an expression matches one or more
/// characters other than '/', '?' and '#'. Direct resources are tried first,
/// then templates in registration order.
struct McpResourceTemplate {
  std::string uri_template;  ///< unique in the catalog, at least one {name}
  std::string name;          ///< non-empty
  std::string title;
  std::string description;
  std::string mime_type;
  McpTemplateReader read;  ///< required
};

/// One argument a prompt takes (MCP "Prompts / Listing Prompts").
struct McpPromptArgument {
  std::string name;  ///< non-empty, unique within the prompt
  std::string description;
  bool required = false;
};

/// Builds a prompt's messages: returns the `messages` array of the
/// prompts/get result ({role: "user"|"assistant", content: a content block}
/// objects). `arguments` holds what the client sent, every required
/// argument included (the session checks them first). Throw
/// eryxon::Error(VALIDATION_ERROR) to refuse the values (-32602); any other
/// exception is -32603.
using McpPromptBuilder =
    std::function<nlohmann::json(const std::map<std::string, std::string>& arguments)>;

/// A prompt (MCP "Server / Prompts").
struct McpPrompt {
  std::string name;  ///< unique in the catalog, non-empty
  std::string title;
  std::string description;
  std::vector<McpPromptArgument> arguments;
  McpPromptBuilder get;  ///< required
};

/// What a completer proposes: at most 100 values are sent; `total` and
/// `has_more` are passed on as the spec's `total` and `hasMore`.
struct McpCompletion {
  std::vector<std::string> values;
  std::optional<std::int64_t> total;
  bool has_more = false;
};

/// Completes one argument (MCP "Utilities / Completion"). `ref` is the
/// request's ref ({"type":"ref/prompt","name"} or
/// {"type":"ref/resource","uri"}), `argument` and `value` the argument's
/// name and partial value, `context` the request's context.arguments (an
/// object, possibly empty). Return an empty McpCompletion when there is
/// nothing to propose.
using McpCompleter = std::function<McpCompletion(
    const nlohmann::json& ref, const std::string& argument, const std::string& value,
    const std::map<std::string, std::string>& context)>;

/// Matches `uri` against an RFC 6570 level-1 template (see
/// McpResourceTemplate). Returns the variables, or std::nullopt when the URI
/// does not match. Pure.
ERYXON_EXPORT std::optional<std::map<std::string, std::string>> mcp_match_uri_template(
    std::string_view uri_template, std::string_view uri);

/// The resources, resource templates, prompts and completer sessions serve
/// (see the file comment). Share it between sessions with a shared_ptr;
/// not copyable.
class ERYXON_EXPORT McpCatalog {
 public:
  /// What changed, for listeners.
  enum class Change {
    resources,         ///< a resource or template was added or removed
    prompts,           ///< a prompt was added or removed
    resource_updated,  ///< resource_updated(uri) was called
  };
  /// Called after each change on the thread that made it; `uri` is set for
  /// Change::resource_updated only. Listeners must not subscribe or
  /// unsubscribe from inside the call and should be quick.
  using Listener = std::function<void(Change change, const std::string& uri)>;

  McpCatalog();
  ~McpCatalog();
  McpCatalog(const McpCatalog&) = delete;
  McpCatalog& operator=(const McpCatalog&) = delete;

  /// Adds a resource. Throws Error(VALIDATION_ERROR) for an empty uri or
  /// name or a missing reader, Error(DUPLICATE_ENTRY) for a uri already
  /// registered. Sessions send notifications/resources/list_changed.
  void add_resource(McpResource resource);
  /// Adds a template. Throws Error(VALIDATION_ERROR) for an empty name, a
  /// template without a `{name}` expression or with an unbalanced brace, or
  /// a missing reader; Error(DUPLICATE_ENTRY) for a template already
  /// registered. Sessions send notifications/resources/list_changed.
  void add_template(McpResourceTemplate resource_template);
  /// Adds a prompt. Throws Error(VALIDATION_ERROR) for an empty name or
  /// argument name, a repeated argument name or a missing builder;
  /// Error(DUPLICATE_ENTRY) for a name already registered. Sessions send
  /// notifications/prompts/list_changed.
  void add_prompt(McpPrompt prompt);
  /// Removes the resource with this uri, or else the template with this
  /// uri_template; false when neither exists.
  bool remove_resource(std::string_view uri);
  /// Removes a prompt; false when it does not exist.
  bool remove_prompt(std::string_view name);
  /// Sets (or, with an empty function, clears) the completer. Sessions
  /// created afterwards declare "completions" while one is set.
  void set_completer(McpCompleter completer);

  /// Tells every session subscribed to `uri` (resources/subscribe) that the
  /// resource changed: they send notifications/resources/updated {uri}.
  void resource_updated(std::string_view uri);

  /// Snapshots, in registration order. Entries are shared and immutable.
  std::vector<std::shared_ptr<const McpResource>> resources() const;
  std::vector<std::shared_ptr<const McpResourceTemplate>> templates() const;
  std::vector<std::shared_ptr<const McpPrompt>> prompts() const;
  /// The prompt, or nullptr.
  std::shared_ptr<const McpPrompt> find_prompt(std::string_view name) const;
  /// The completer (empty when none is set).
  McpCompleter completer() const;

  /// Registers a listener; returns its id for unsubscribe().
  std::uint64_t subscribe(Listener listener);
  /// Removes a listener; once it returns the listener is not running and
  /// will not run again.
  void unsubscribe(std::uint64_t id);

 private:
  void notify(Change change, const std::string& uri);

  mutable std::mutex m_;
  std::vector<std::shared_ptr<const McpResource>> resources_;
  std::vector<std::shared_ptr<const McpResourceTemplate>> templates_;
  std::vector<std::shared_ptr<const McpPrompt>> prompts_;
  McpCompleter completer_;

  std::mutex listeners_m_;  // held while listeners run
  std::map<std::uint64_t, Listener> listeners_;
  std::uint64_t next_listener_ = 1;
};

}  // namespace eryxon
