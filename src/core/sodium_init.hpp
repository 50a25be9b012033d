// Calls sodium_init() once per process before any libsodium use.
#pragma once

#include <sodium.h>

#include "eryxon/error.hpp"

namespace eryxon {

/// Initialises libsodium on first call (thread-safe: a function-local
/// static). Throws INTERNAL_ERROR when libsodium cannot initialise.
inline void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw Error(ErrorCode::internal_error, "libsodium failed to initialise");
}

}  // namespace eryxon
