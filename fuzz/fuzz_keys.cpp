// libFuzzer target: key parsing and validation must never crash, never read
// out of bounds, and never accept anything but the one real key.
//
// Build and run: scripts/fuzz.sh [seconds]  (clang, -fsanitize=fuzzer,address,undefined)
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "eryxon/eryxon.hpp"

namespace {

struct World {
  std::unique_ptr<eryxon::Engine> engine = eryxon::Engine::in_memory();
  std::string mcp_key;
  std::string rest_key;
  World() {
    const auto t = engine->shop().create_tenant({"Fuzz"}).id;
    mcp_key = engine->keys().create_mcp_key(t, {"mcp"}).plaintext;
    eryxon::NewApiKey rest{"rest"};
    rest.family = eryxon::KeyFamily::rest;
    rest_key = engine->keys().create_key(t, rest).plaintext;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World world;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  eryxon::KeyRejection why{};
  if (auto parsed = eryxon::parse_api_key(text, &why)) {
    // Shape invariants of a parsed key.
    if (size != 55 && size != 41) std::abort();
    if (parsed->key_id.size() != (parsed->legacy ? 9u : 8u)) std::abort();
    if (parsed->environment != "live" && parsed->environment != "test") std::abort();
  }
  for (auto family : {eryxon::KeyFamily::mcp, eryxon::KeyFamily::rest}) {
    auto identity = world.engine->keys().check_key(family, text, &why);
    const std::string& real = family == eryxon::KeyFamily::mcp ? world.mcp_key : world.rest_key;
    if (identity && text != real) std::abort();  // accepted a forgery
  }
  return 0;
}
