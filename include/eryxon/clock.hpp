// eryxon/clock.hpp - time as the library sees it.
//
// Everything that reads the time (status timestamps, key expiry, usage
// stamps) takes a Clock so tests can pin it. Times are Unix epoch
// milliseconds (UTC) in memory and ISO 8601 strings with a Z suffix in rows.
//
// Thread safety: the functions are pure; a Clock you pass must be callable
// from every thread that uses the object you pass it to.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "eryxon/export.h"

namespace eryxon {

/// Returns the current time in Unix epoch milliseconds.
using Clock = std::function<std::int64_t()>;

/// The real wall clock (std::chrono::system_clock), in epoch ms.
ERYXON_EXPORT std::int64_t system_now_ms();

/// Formats epoch ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (RFC 3339, UTC).
ERYXON_EXPORT std::string format_timestamp(std::int64_t epoch_ms);

/// Parses RFC 3339 date-times ("2026-11-25T17:21:19Z", fractional seconds
/// and +hh:mm offsets allowed) and plain dates ("2026-11-25", as midnight
/// UTC) into epoch ms. std::nullopt for anything else, including impossible
/// dates such as 2026-02-30.
ERYXON_EXPORT std::optional<std::int64_t> parse_timestamp(std::string_view text);

/// True for a valid "YYYY-MM-DD" calendar date.
ERYXON_EXPORT bool is_valid_date(std::string_view text);

}  // namespace eryxon
