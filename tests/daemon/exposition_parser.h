// Reads a Prometheus text exposition (format 0.0.4) the way a scraper does, strictly: every
// sample belongs to a family announced before it with # HELP and # TYPE (a histogram's
// _bucket, _sum and _count belong to it), names and label names are valid, label values are
// quoted with only \\, \" and \n escapes, values parse, no series appears twice, and a
// histogram's buckets are cumulative and end with le="+Inf" equal to its _count.

#ifndef OMNIROUTE_TESTS_DAEMON_EXPOSITION_PARSER_H_
#define OMNIROUTE_TESTS_DAEMON_EXPOSITION_PARSER_H_

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace omniroute::testing {

struct Exposition {
  // "name{a=\"x\",b=\"y\"}" (labels as written, unescaped) -> value.
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> counter / gauge / histogram
  std::vector<std::string> errors;

  // The value of `series` (e.g. `omniroute_agents{presence="available"}`), if present.
  std::optional<double> Get(const std::string& series) const {
    auto it = samples.find(series);
    if (it == samples.end()) return std::nullopt;
    return it->second;
  }
};

namespace exposition_internal {

inline bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
inline bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

inline std::string FamilyOf(const std::string& name,
                            const std::map<std::string, std::string>& types) {
  if (types.count(name) > 0) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return "";
}

}  // namespace exposition_internal

inline Exposition ParseExposition(const std::string& text) {
  using namespace exposition_internal;
  Exposition out;
  std::set<std::string> helped;
  // histogram series (labels without le) -> (le, cumulative count) in order
  std::map<std::string, std::vector<std::pair<double, double>>> buckets;
  size_t pos = 0;
  int line_no = 0;
  auto error = [&](const std::string& what) {
    out.errors.push_back("line " + std::to_string(line_no) + ": " + what);
  };
  if (!text.empty() && text.back() != '\n') {
    out.errors.push_back("the exposition does not end with a newline");
  }
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.rfind("# HELP ", 0) == 0) {
        const std::string rest = line.substr(7);
        const std::string name = rest.substr(0, rest.find(' '));
        if (!helped.insert(name).second) error("second HELP for " + name);
      } else if (line.rfind("# TYPE ", 0) == 0) {
        const std::string rest = line.substr(7);
        const size_t sp = rest.find(' ');
        const std::string name = rest.substr(0, sp);
        const std::string type = sp == std::string::npos ? "" : rest.substr(sp + 1);
        if (type != "counter" && type != "gauge" && type != "histogram") {
          error("type \"" + type + "\" of " + name);
        }
        if (helped.count(name) == 0) error("TYPE before HELP for " + name);
        if (!out.types.emplace(name, type).second) error("second TYPE for " + name);
      }
      continue;
    }
    // name{labels} value
    size_t i = 0;
    if (!IsNameStart(line[0])) {
      error("bad metric name: " + line);
      continue;
    }
    while (i < line.size() && IsNameChar(line[i])) ++i;
    const std::string name = line.substr(0, i);
    std::string series = name;
    std::string le;
    std::string labels_without_le;
    if (i < line.size() && line[i] == '{') {
      ++i;
      series += '{';
      bool first = true;
      while (i < line.size() && line[i] != '}') {
        size_t j = i;
        while (j < line.size() && IsNameChar(line[j])) ++j;
        const std::string label = line.substr(i, j - i);
        if (label.empty() || j + 1 >= line.size() || line[j] != '=' || line[j + 1] != '"') {
          error("bad label in: " + line);
          break;
        }
        j += 2;
        std::string value;
        while (j < line.size() && line[j] != '"') {
          if (line[j] == '\\') {
            if (j + 1 >= line.size()) break;
            const char e = line[j + 1];
            if (e == 'n') {
              value += '\n';
            } else if (e == '\\' || e == '"') {
              value += e;
            } else {
              error(std::string("bad escape \\") + e + " in: " + line);
            }
            j += 2;
          } else {
            value += line[j++];
          }
        }
        if (j >= line.size()) {
          error("unterminated label value in: " + line);
          break;
        }
        ++j;  // closing quote
        if (!first) series += ',';
        series += label + "=\"" + value + "\"";
        if (label == "le") {
          le = value;
        } else {
          if (!labels_without_le.empty()) labels_without_le += ',';
          labels_without_le += label + "=\"" + value + "\"";
        }
        first = false;
        if (j < line.size() && line[j] == ',') ++j;
        i = j;
      }
      if (i >= line.size()) {
        error("unterminated labels in: " + line);
        continue;
      }
      ++i;  // '}'
      series += '}';
    }
    if (i >= line.size() || line[i] != ' ') {
      error("no value in: " + line);
      continue;
    }
    const std::string value_text = line.substr(i + 1);
    double value = 0;
    if (value_text == "+Inf") {
      value = INFINITY;
    } else if (value_text == "-Inf") {
      value = -INFINITY;
    } else if (value_text == "NaN") {
      value = NAN;
    } else {
      char* end = nullptr;
      value = std::strtod(value_text.c_str(), &end);
      if (end == value_text.c_str() || *end != '\0') error("bad value in: " + line);
    }
    const std::string family = FamilyOf(name, out.types);
    if (family.empty()) error("sample of an unannounced family: " + line);
    if (!out.samples.emplace(series, value).second) error("series twice: " + series);
    if (family != name && name.size() > 7 && name.compare(name.size() - 7, 7, "_bucket") == 0) {
      const double bound = le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
      buckets[family + "{" + labels_without_le + "}"].emplace_back(bound, value);
    }
  }
  for (const auto& [key, list] : buckets) {
    for (size_t k = 1; k < list.size(); ++k) {
      if (!(list[k].first > list[k - 1].first)) {
        out.errors.push_back(key + ": bucket bounds not increasing");
      }
      if (list[k].second < list[k - 1].second) {
        out.errors.push_back(key + ": buckets not cumulative");
      }
    }
    if (list.empty() || !std::isinf(list.back().first)) {
      out.errors.push_back(key + ": no le=\"+Inf\" bucket");
      continue;
    }
    const std::string family = key.substr(0, key.find('{'));
    const std::string labels = key.substr(key.find('{'));
    const std::string count_series = family + "_count" + (labels == "{}" ? std::string() : labels);
    auto it = out.samples.find(count_series);
    if (it == out.samples.end() || it->second != list.back().second) {
      out.errors.push_back(key + ": +Inf bucket differs from " + count_series);
    }
  }
  return out;
}

}  // namespace omniroute::testing

#endif  // OMNIROUTE_TESTS_DAEMON_EXPOSITION_PARSER_H_
