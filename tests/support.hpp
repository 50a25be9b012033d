// Helpers shared by the unit tests: fresh storages of both kinds, a pinned
// clock, scratch files.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "eryxon/eryxon.hpp"

namespace eryxon::test {

/// A unique scratch path under the test's working directory; the database
/// and its -wal/-shm/.pepper companions are removed on destruction.
class ScratchDb {
 public:
  explicit ScratchDb(const std::string& stem) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::absolute(stem + "-" + std::to_string(::getpid()) + "-" +
                                      std::to_string(counter++) + ".db")
                .string();
    remove_all();
  }
  ~ScratchDb() { remove_all(); }
  const std::string& path() const { return path_; }

 private:
  void remove_all() {
    for (const char* s : {"", "-wal", "-shm", ".pepper"}) std::remove((path_ + s).c_str());
  }
  std::string path_;
};

/// A clock tests can move: starts at 2026-11-25T12:00:00Z.
struct ManualClock {
  std::shared_ptr<std::atomic<std::int64_t>> now =
      std::make_shared<std::atomic<std::int64_t>>(1795608000000);
  Clock clock() const {
    auto n = now;
    return [n] { return n->load(); };
  }
  void advance_ms(std::int64_t ms) { *now += ms; }
};

/// Both storage adapters, so each rule is tested on the fake and on SQLite.
enum class Backend { memory, sqlite };

inline const char* name_of(Backend b) { return b == Backend::memory ? "memory" : "sqlite"; }

struct Fixture {
  std::unique_ptr<ScratchDb> file;
  std::unique_ptr<Storage> storage;

  explicit Fixture(Backend b) {
    if (b == Backend::memory) {
      storage = make_memory_storage();
    } else {
      file = std::make_unique<ScratchDb>("unit");
      storage = open_sqlite_storage(file->path());
    }
  }
};

/// Runs the enclosing test body once per backend (doctest SUBCASE).
#define ERYXON_FOR_EACH_BACKEND(var)                                        \
  for (::eryxon::test::Backend var : {::eryxon::test::Backend::memory,      \
                                      ::eryxon::test::Backend::sqlite})     \
    SUBCASE(::eryxon::test::name_of(var))

/// Runs `f` and returns the eryxon::Error it throws; fails the test if it
/// throws nothing.
template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an eryxon::Error");
  return Error(ErrorCode::internal_error, "unreachable");
}

}  // namespace eryxon::test
