// tests/consumer/consumer.cpp - a C++ program using an installed eryxon
// through find_package(eryxon) and eryxon::eryxon_static (built by
// tests/consumer/run.sh): the C++ API, its exceptions, and the C ABI from
// the same archive. Exit status 0 when every call behaved.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <eryxon/eryxon.h>
#include <eryxon/eryxon.hpp>

namespace {

int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "consumer.cpp: %s failed\n", what);
  }
}

}  // namespace

int main() {
  // The C++ API: an engine on the in-memory storage, a tenant.
  std::unique_ptr<eryxon::Engine> engine = eryxon::Engine::in_memory();
  eryxon::NewTenant input;
  input.name = "C++ Consumer GmbH";
  input.plan = eryxon::Plan::pro;
  const eryxon::Tenant tenant = engine->shop().create_tenant(input);
  expect(!tenant.id.empty(), "Shop::create_tenant gives an id");
  expect(engine->shop().get_tenant(tenant.id).name == input.name, "Shop::get_tenant");
  try {
    engine->shop().get_tenant("00000000-0000-4000-8000-000000000000");
    expect(false, "get_tenant of an unknown id throws");
  } catch (const eryxon::Error& e) {
    expect(e.code() == eryxon::ErrorCode::not_found, "eryxon::Error NOT_FOUND");
  }

  // The C ABI, from the same library.
  expect(eryxon_version_number() == ERYXON_VERSION_NUMBER, "run-time version == header version");
  eryxon_store_t* store = nullptr;
  char* json = nullptr;
  expect(eryxon_store_open(&store, ":memory:") == ERYXON_OK, "eryxon_store_open");
  expect(eryxon_tenant_create(&json, store, "Via C", nullptr) == ERYXON_OK,
         "eryxon_tenant_create");
  expect(json != nullptr && std::strstr(json, "\"Via C\"") != nullptr, "tenant JSON");
  eryxon_free(json);
  eryxon_store_free(&store);

  std::printf("consumer.cpp: eryxon %s, %s\n", ERYXON_VERSION_STRING,
              failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
