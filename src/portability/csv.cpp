// RFC 4180 CSV reading and writing (rules in eryxon/portability.hpp).
#include <fmt/format.h>

#include "eryxon/error.hpp"
#include "eryxon/portability.hpp"

namespace eryxon {
namespace {

[[noreturn]] void structural(std::int64_t line, std::string message) {
  throw Error(ErrorCode::validation_error, fmt::format("CSV line {}: {}", line, message),
              {{"line", line}});
}

// Length of the valid UTF-8 sequence at s[i], 0 when invalid (overlongs,
// surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_len(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

std::optional<std::string> check_text(std::string_view field, std::size_t index) {
  for (std::size_t i = 0; i < field.size();) {
    if (field[i] == '\0') return fmt::format("field {} contains a NUL byte", index + 1);
    const std::size_t n = utf8_len(field, i);
    if (n == 0) return fmt::format("field {} is not valid UTF-8", index + 1);
    i += n;
  }
  return std::nullopt;
}

}  // namespace

CsvReader::CsvReader(std::string_view text, CsvLimits limits) : text_(text), limits_(limits) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

bool CsvReader::next(CsvRecord& out) {
  for (;;) {
    out.fields.clear();
    out.problem.reset();
    if (pos_ >= text_.size()) return false;
    out.line = line_;
    // A blank line is no record.
    if (text_[pos_] == '\n') {
      ++pos_;
      ++line_;
      continue;
    }
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
      pos_ += 2;
      ++line_;
      continue;
    }
    std::string field;
    bool too_long = false;
    auto push = [&](char c) {
      if (field.size() < limits_.max_field_bytes)
        field.push_back(c);
      else
        too_long = true;
    };
    auto finish_field = [&] {
      if (!out.problem) {
        if (too_long)
          out.problem = fmt::format("field {} is longer than {} bytes", out.fields.size() + 1,
                                    limits_.max_field_bytes);
        else if (out.fields.size() >= limits_.max_fields)
          out.problem = fmt::format("record has more than {} fields", limits_.max_fields);
        else
          out.problem = check_text(field, out.fields.size());
      }
      if (out.fields.size() < limits_.max_fields) out.fields.push_back(std::move(field));
      field.clear();
      too_long = false;
    };
    for (;;) {
      // Start of a field.
      if (pos_ < text_.size() && text_[pos_] == '"') {
        ++pos_;
        for (;;) {
          if (pos_ >= text_.size()) structural(out.line, "quoted field is not closed");
          const char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              push('"');
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          push(c);
        }
        if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' &&
            text_[pos_] != '\r')
          structural(line_, "text after a closing quote");
      } else {
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' &&
               text_[pos_] != '\r') {
          if (text_[pos_] == '"') structural(line_, "quote inside an unquoted field");
          push(text_[pos_++]);
        }
      }
      finish_field();
      if (pos_ >= text_.size()) return true;
      const char sep = text_[pos_++];
      if (sep == ',') {
        if (pos_ >= text_.size()) {  // a trailing comma ends with one empty field
          finish_field();
          return true;
        }
        continue;
      }
      if (sep == '\r') {
        if (pos_ >= text_.size() || text_[pos_] != '\n') structural(line_, "CR without LF");
        ++pos_;
      }
      ++line_;
      return true;
    }
  }
}

std::string csv_field(std::string_view value) {
  bool quote = !value.empty() && (value.front() == ' ' || value.back() == ' ');
  for (char c : value)
    if (c == ',' || c == '"' || c == '\r' || c == '\n') quote = true;
  if (!quote) return std::string(value);
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('"');
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void append_csv_record(std::string& out, const std::vector<std::string>& fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(',');
    out += csv_field(fields[i]);
  }
  out += "\r\n";
}

}  // namespace eryxon
