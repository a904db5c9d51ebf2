// Aligned text for terminals: tables with a header row, and "key: value" descriptions.
//
//   Table t({"ID", "PRESENCE", "LOAD"});
//   t.AlignRight(2);
//   t.AddRow({"eng-1001", "available", "20/60"});
//   std::cout << t.Render();
//   // ID        PRESENCE   LOAD
//   // eng-1001  available  20/60
//
//   Fields f;
//   f.Add("Queue", "repair");
//   f.Add("Strategy", "longest_idle");
//   std::cout << f.Render();
//   // Queue:     repair
//   // Strategy:  longest_idle
//
// Widths are display widths: UTF-8 text counts one column per character, two for East Asian
// wide characters (CJK names such as "李娜" take four columns), so columns stay aligned in a
// terminal. Lines carry no trailing spaces. Not thread-safe; plain values.

#ifndef OMNIROUTE_CTL_TABLE_H_
#define OMNIROUTE_CTL_TABLE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace omniroute::ctl {

// The number of terminal columns `utf8` takes (see above). Invalid UTF-8 bytes count one each.
size_t DisplayWidth(absl::string_view utf8);

// `text` padded with spaces to `width` display columns (left- or right-aligned); text wider
// than `width` is returned as it is.
std::string Pad(absl::string_view text, size_t width, bool right = false);

class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // Right-aligns a column (numbers). Columns are left-aligned by default.
  void AlignRight(size_t column);

  // Adds a row; missing trailing cells are empty, extra cells are an error of the caller and
  // are dropped. An empty cell is shown as it is (callers write "-" for "none").
  void AddRow(std::vector<std::string> cells);

  // Adds a line under the last row, indented by `indent` spaces, that takes no part in the
  // column widths (e.g. the candidates of a history entry).
  void AddDetail(std::string line, size_t indent = 4);

  size_t row_count() const { return rows_.size(); }

  // The header, then every row, each line ending with '\n'; columns separated by two spaces.
  std::string Render() const;

 private:
  struct Row {
    std::vector<std::string> cells;
    std::vector<std::string> details;  // already indented
  };
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<Row> rows_;
};

// "Key: value" lines with the values aligned; sections with a title line and indented keys.
class Fields {
 public:
  // Adds a line. A value with newlines continues on lines aligned under the first.
  void Add(std::string key, std::string value);
  // Starts a section: a blank line, `title` (e.g. "Live (last 15m):"), and every following
  // Add indented by two spaces.
  void Section(std::string title);

  std::string Render() const;

 private:
  struct Line {
    bool is_title = false;
    size_t indent = 0;
    std::string key;
    std::string value;
  };
  std::vector<Line> lines_;
  size_t indent_ = 0;
};

}  // namespace omniroute::ctl

#endif  // OMNIROUTE_CTL_TABLE_H_
