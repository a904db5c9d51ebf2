#include "daemon/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace omniroute::daemon {
namespace {

std::atomic<int> g_level{v1::LOG_LEVEL_INFO};

absl::string_view LevelName(v1::LogLevel level) {
  switch (level) {
    case v1::LOG_LEVEL_DEBUG: return "debug";
    case v1::LOG_LEVEL_WARNING: return "warning";
    case v1::LOG_LEVEL_ERROR: return "error";
    default: return "info";
  }
}

bool NeedsQuotes(absl::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
  }
  return false;
}

void AppendValue(std::string* out, absl::string_view v) {
  if (!NeedsQuotes(v)) {
    out->append(v.data(), v.size());
    return;
  }
  out->push_back('"');
  for (char c : v) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out->append("\\x");
          out->push_back(kHex[(c >> 4) & 0xf]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

LogField::LogField(absl::string_view k, long long v) : key(k), value(absl::StrCat(v)) {}
LogField::LogField(absl::string_view k, unsigned long long v) : key(k), value(absl::StrCat(v)) {}
LogField::LogField(absl::string_view k, double v) : key(k), value(absl::StrCat(v)) {}

void SetLogLevel(v1::LogLevel level) {
  g_level.store(level == v1::LOG_LEVEL_UNSPECIFIED ? v1::LOG_LEVEL_INFO : level,
                std::memory_order_relaxed);
}

bool LogEnabled(v1::LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

std::string FormatLogRecord(absl::string_view timestamp, v1::LogLevel level,
                            absl::string_view message, std::initializer_list<LogField> fields) {
  std::string line = absl::StrCat("ts=", timestamp, " level=", LevelName(level), " msg=");
  AppendValue(&line, message);
  for (const LogField& f : fields) {
    line.push_back(' ');
    line.append(f.key.data(), f.key.size());
    line.push_back('=');
    AppendValue(&line, f.value);
  }
  line.push_back('\n');
  return line;
}

void Log(v1::LogLevel level, absl::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  const std::string ts =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  const std::string line = FormatLogRecord(ts, level, message, fields);
  // One write per record: lines from different threads never interleave.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace omniroute::daemon
