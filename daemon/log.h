// Structured logs of the daemon: one line per record, logfmt style, on stderr.
//
//   ts=2026-11-23T08:54:12.123456Z level=info msg="listening" address=127.0.0.1:7400
//
// Values with spaces, quotes or `=` are quoted and escaped. Customer data (phone numbers,
// names, bot summaries, event details) is logged only at debug level: callers pass such values
// only to `Debug`. Thread-safe; a record is written with one write(2) so lines never interleave.

#ifndef OMNIROUTE_DAEMON_LOG_H_
#define OMNIROUTE_DAEMON_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "omniroute/v1/config.pb.h"

namespace omniroute::daemon {

struct LogField {
  absl::string_view key;
  std::string value;
  LogField(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  LogField(absl::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(absl::string_view k, const char* v) : key(k), value(v) {}
  LogField(absl::string_view k, long long v);
  LogField(absl::string_view k, unsigned long long v);
  LogField(absl::string_view k, long v) : LogField(k, static_cast<long long>(v)) {}
  LogField(absl::string_view k, unsigned long v)
      : LogField(k, static_cast<unsigned long long>(v)) {}
  LogField(absl::string_view k, int v) : LogField(k, static_cast<long long>(v)) {}
  LogField(absl::string_view k, unsigned v) : LogField(k, static_cast<unsigned long long>(v)) {}
  LogField(absl::string_view k, double v);
  LogField(absl::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
};

// The process-wide log level; records below it are dropped. Default LOG_LEVEL_INFO.
void SetLogLevel(v1::LogLevel level);
bool LogEnabled(v1::LogLevel level);

void Log(v1::LogLevel level, absl::string_view message, std::initializer_list<LogField> fields);
inline void LogDebug(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(v1::LOG_LEVEL_DEBUG, m, f);
}
inline void LogInfo(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(v1::LOG_LEVEL_INFO, m, f);
}
inline void LogWarning(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(v1::LOG_LEVEL_WARNING, m, f);
}
inline void LogError(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(v1::LOG_LEVEL_ERROR, m, f);
}

// One record as text (with its trailing newline), for tests.
std::string FormatLogRecord(absl::string_view timestamp, v1::LogLevel level,
                            absl::string_view message, std::initializer_list<LogField> fields);

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_LOG_H_
