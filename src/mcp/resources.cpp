// McpCatalog and the MCP content-block helpers (eryxon/mcp_resources.hpp;
// MCP spec 2025-11-25 "Server / Resources", "Server / Prompts",
// "Utilities / Completion"; RFC 6570 level 1 for templates; RFC 4648 for
// base64).
#include "eryxon/mcp_resources.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "eryxon/error.hpp"

namespace eryxon {

using nlohmann::json;

std::string mcp_base64(std::string_view bytes) {
  if (bytes.empty()) return {};
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

json mcp_text_content(std::string_view text) {
  return {{"type", "text"}, {"text", std::string(text)}};
}

json mcp_image_content(std::string_view bytes, std::string_view mime_type) {
  return {{"type", "image"}, {"data", mcp_base64(bytes)}, {"mimeType", std::string(mime_type)}};
}

json mcp_audio_content(std::string_view bytes, std::string_view mime_type) {
  return {{"type", "audio"}, {"data", mcp_base64(bytes)}, {"mimeType", std::string(mime_type)}};
}

json mcp_text_resource_contents(std::string_view uri, std::string_view mime_type,
                                std::string_view text) {
  return {{"uri", std::string(uri)}, {"mimeType", std::string(mime_type)}, {"text", std::string(text)}};
}

json mcp_blob_resource_contents(std::string_view uri, std::string_view mime_type,
                                std::string_view bytes) {
  return {{"uri", std::string(uri)}, {"mimeType", std::string(mime_type)}, {"blob", mcp_base64(bytes)}};
}

json mcp_embedded_text(std::string_view uri, std::string_view mime_type, std::string_view text) {
  return {{"type", "resource"}, {"resource", mcp_text_resource_contents(uri, mime_type, text)}};
}

json mcp_resource_link(std::string_view uri, std::string_view name, std::string_view mime_type) {
  json link = {{"type", "resource_link"}, {"uri", std::string(uri)}, {"name", std::string(name)}};
  if (!mime_type.empty()) link["mimeType"] = std::string(mime_type);
  return link;
}

namespace {

// Splits a level-1 template into literals and variable names. Returns false
// for an unbalanced brace or an empty name.
struct TemplatePart {
  bool variable;
  std::string text;
};

bool parse_template(std::string_view t, std::vector<TemplatePart>& parts) {
  std::size_t i = 0;
  while (i < t.size()) {
    const std::size_t open = t.find('{', i);
    const std::size_t stray = t.find('}', i);
    if (stray != std::string_view::npos && (open == std::string_view::npos || stray < open))
      return false;
    if (open == std::string_view::npos) {
      parts.push_back({false, std::string(t.substr(i))});
      break;
    }
    if (open > i) parts.push_back({false, std::string(t.substr(i, open - i))});
    const std::size_t close = t.find('}', open);
    if (close == std::string_view::npos || close == open + 1) return false;
    const std::string_view name = t.substr(open + 1, close - open - 1);
    if (name.find('{') != std::string_view::npos) return false;
    // Two variables in a row cannot be told apart.
    if (!parts.empty() && parts.back().variable) return false;
    parts.push_back({true, std::string(name)});
    i = close + 1;
  }
  return true;
}

bool has_variable(const std::vector<TemplatePart>& parts) {
  return std::any_of(parts.begin(), parts.end(), [](const TemplatePart& p) { return p.variable; });
}

}  // namespace

std::optional<std::map<std::string, std::string>> mcp_match_uri_template(
    std::string_view uri_template, std::string_view uri) {
  std::vector<TemplatePart> parts;
  if (!parse_template(uri_template, parts)) return std::nullopt;
  std::map<std::string, std::string> vars;
  std::size_t pos = 0;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const TemplatePart& p = parts[k];
    if (!p.variable) {
      if (uri.substr(pos, p.text.size()) != p.text) return std::nullopt;
      pos += p.text.size();
      continue;
    }
    // A variable runs up to the next literal (or the end), never across
    // '/', '?' or '#'.
    std::size_t end = pos;
    while (end < uri.size() && uri[end] != '/' && uri[end] != '?' && uri[end] != '#') ++end;
    if (k + 1 < parts.size()) {
      const std::string& next = parts[k + 1].text;
      const std::size_t found = uri.substr(pos, end - pos + next.size()).find(next);
      if (found == std::string_view::npos) return std::nullopt;
      end = pos + found;
    }
    if (end == pos) return std::nullopt;
    const std::string value(uri.substr(pos, end - pos));
    if (auto [it, fresh] = vars.emplace(p.text, value); !fresh && it->second != value)
      return std::nullopt;
    pos = end;
  }
  if (pos != uri.size()) return std::nullopt;
  return vars;
}

McpCatalog::McpCatalog() = default;
McpCatalog::~McpCatalog() = default;

void McpCatalog::add_resource(McpResource resource) {
  if (resource.uri.empty() || resource.name.empty())
    throw Error(ErrorCode::validation_error, "A resource needs a uri and a name");
  if (!resource.read) throw Error(ErrorCode::validation_error, "A resource needs a reader");
  {
    std::lock_guard lock(m_);
    for (const auto& r : resources_)
      if (r->uri == resource.uri)
        throw Error(ErrorCode::duplicate_entry, "Resource already registered: " + resource.uri);
    resources_.push_back(std::make_shared<const McpResource>(std::move(resource)));
  }
  notify(Change::resources, {});
}

void McpCatalog::add_template(McpResourceTemplate resource_template) {
  std::vector<TemplatePart> parts;
  if (resource_template.name.empty())
    throw Error(ErrorCode::validation_error, "A resource template needs a name");
  if (!parse_template(resource_template.uri_template, parts) || !has_variable(parts))
    throw Error(ErrorCode::validation_error,
                "Not an RFC 6570 level-1 URI template with at least one {name}: " +
                    resource_template.uri_template);
  if (!resource_template.read)
    throw Error(ErrorCode::validation_error, "A resource template needs a reader");
  {
    std::lock_guard lock(m_);
    for (const auto& t : templates_)
      if (t->uri_template == resource_template.uri_template)
        throw Error(ErrorCode::duplicate_entry,
                    "Resource template already registered: " + resource_template.uri_template);
    templates_.push_back(std::make_shared<const McpResourceTemplate>(std::move(resource_template)));
  }
  notify(Change::resources, {});
}

void McpCatalog::add_prompt(McpPrompt prompt) {
  if (prompt.name.empty()) throw Error(ErrorCode::validation_error, "A prompt needs a name");
  if (!prompt.get) throw Error(ErrorCode::validation_error, "A prompt needs a builder");
  std::set<std::string> seen;
  for (const auto& a : prompt.arguments)
    if (a.name.empty() || !seen.insert(a.name).second)
      throw Error(ErrorCode::validation_error,
                  "Prompt arguments need distinct, non-empty names: " + prompt.name);
  {
    std::lock_guard lock(m_);
    for (const auto& p : prompts_)
      if (p->name == prompt.name)
        throw Error(ErrorCode::duplicate_entry, "Prompt already registered: " + prompt.name);
    prompts_.push_back(std::make_shared<const McpPrompt>(std::move(prompt)));
  }
  notify(Change::prompts, {});
}

bool McpCatalog::remove_resource(std::string_view uri) {
  bool removed = false;
  {
    std::lock_guard lock(m_);
    auto r = std::find_if(resources_.begin(), resources_.end(),
                          [&](const auto& p) { return p->uri == uri; });
    if (r != resources_.end()) {
      resources_.erase(r);
      removed = true;
    } else {
      auto t = std::find_if(templates_.begin(), templates_.end(),
                            [&](const auto& p) { return p->uri_template == uri; });
      if (t != templates_.end()) {
        templates_.erase(t);
        removed = true;
      }
    }
  }
  if (removed) notify(Change::resources, {});
  return removed;
}

bool McpCatalog::remove_prompt(std::string_view name) {
  bool removed = false;
  {
    std::lock_guard lock(m_);
    auto p = std::find_if(prompts_.begin(), prompts_.end(),
                          [&](const auto& x) { return x->name == name; });
    if (p != prompts_.end()) {
      prompts_.erase(p);
      removed = true;
    }
  }
  if (removed) notify(Change::prompts, {});
  return removed;
}

void McpCatalog::set_completer(McpCompleter completer) {
  std::lock_guard lock(m_);
  completer_ = std::move(completer);
}

void McpCatalog::resource_updated(std::string_view uri) {
  notify(Change::resource_updated, std::string(uri));
}

std::vector<std::shared_ptr<const McpResource>> McpCatalog::resources() const {
  std::lock_guard lock(m_);
  return resources_;
}

std::vector<std::shared_ptr<const McpResourceTemplate>> McpCatalog::templates() const {
  std::lock_guard lock(m_);
  return templates_;
}

std::vector<std::shared_ptr<const McpPrompt>> McpCatalog::prompts() const {
  std::lock_guard lock(m_);
  return prompts_;
}

std::shared_ptr<const McpPrompt> McpCatalog::find_prompt(std::string_view name) const {
  std::lock_guard lock(m_);
  for (const auto& p : prompts_)
    if (p->name == name) return p;
  return nullptr;
}

McpCompleter McpCatalog::completer() const {
  std::lock_guard lock(m_);
  return completer_;
}

std::uint64_t McpCatalog::subscribe(Listener listener) {
  std::lock_guard lock(listeners_m_);
  const std::uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void McpCatalog::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(listeners_m_);
  listeners_.erase(id);
}

void McpCatalog::notify(Change change, const std::string& uri) {
  std::lock_guard lock(listeners_m_);
  for (auto& [id, l] : listeners_) {
    try {
      l(change, uri);
    } catch (...) {
      // A failing listener does not stop the others.
    }
  }
}

}  // namespace eryxon
