// Aligned text for terminals: see table.h.

#include "ctl/table.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_split.h"

namespace omniroute::ctl {
namespace {

// East Asian wide and fullwidth ranges (Unicode EastAsianWidth W and F, the blocks that
// matter for names and text in a terminal).
bool IsWide(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) ||    // Hangul Jamo initials
         (cp >= 0x2E80 && cp <= 0x303E) ||    // CJK radicals, punctuation
         (cp >= 0x3041 && cp <= 0x33FF) ||    // kana, CJK symbols
         (cp >= 0x3400 && cp <= 0x4DBF) ||    // CJK extension A
         (cp >= 0x4E00 && cp <= 0x9FFF) ||    // CJK unified ideographs
         (cp >= 0xA000 && cp <= 0xA4CF) ||    // Yi
         (cp >= 0xAC00 && cp <= 0xD7A3) ||    // Hangul syllables
         (cp >= 0xF900 && cp <= 0xFAFF) ||    // CJK compatibility ideographs
         (cp >= 0xFE30 && cp <= 0xFE4F) ||    // CJK compatibility forms
         (cp >= 0xFF00 && cp <= 0xFF60) ||    // fullwidth forms
         (cp >= 0xFFE0 && cp <= 0xFFE6) ||    // fullwidth signs
         (cp >= 0x1F300 && cp <= 0x1F64F) ||  // pictographs, emoticons
         (cp >= 0x1F900 && cp <= 0x1F9FF) ||  // supplemental pictographs
         (cp >= 0x20000 && cp <= 0x3FFFD);    // CJK extensions B..
}

}  // namespace

size_t DisplayWidth(absl::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = 1;
    uint32_t cp = c;
    if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else if (c >= 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0x80) {
      ++width;  // a stray continuation or invalid byte
      ++i;
      continue;
    }
    if (i + len > s.size()) {
      width += s.size() - i;
      break;
    }
    bool valid = true;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        valid = false;
        break;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!valid) {
      ++width;
      ++i;
      continue;
    }
    // Combining marks (U+0300..U+036F) take no column of their own.
    if (!(cp >= 0x300 && cp <= 0x36F)) width += IsWide(cp) ? 2 : 1;
    i += len;
  }
  return width;
}

std::string Pad(absl::string_view text, size_t width, bool right) {
  const size_t w = DisplayWidth(text);
  if (w >= width) return std::string(text);
  const std::string fill(width - w, ' ');
  return right ? fill + std::string(text) : std::string(text) + fill;
}

namespace {

void TrimRight(std::string* line) {
  while (!line->empty() && line->back() == ' ') line->pop_back();
}

}  // namespace

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), right_(headers_.size(), false) {}

void Table::AlignRight(size_t column) {
  if (column < right_.size()) right_[column] = true;
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(Row{std::move(cells), {}});
}

void Table::AddDetail(std::string line, size_t indent) {
  if (rows_.empty()) return;
  rows_.back().details.push_back(std::string(indent, ' ') + std::move(line));
}

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = DisplayWidth(headers_[c]);
  for (const Row& row : rows_) {
    for (size_t c = 0; c < row.cells.size(); ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(row.cells[c]));
    }
  }
  auto render_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) line += "  ";
      // The last column is not padded on the left-aligned side (no trailing spaces).
      line += Pad(cells[c], c + 1 == cells.size() && !right_[c] ? 0 : widths[c], right_[c]);
    }
    TrimRight(&line);
    line.push_back('\n');
    return line;
  };
  std::string out = render_line(headers_);
  for (const Row& row : rows_) {
    out += render_line(row.cells);
    for (const std::string& detail : row.details) {
      std::string line = detail;
      TrimRight(&line);
      out += line + "\n";
    }
  }
  return out;
}

void Fields::Add(std::string key, std::string value) {
  lines_.push_back(Line{false, indent_, std::move(key), std::move(value)});
}

void Fields::Section(std::string title) {
  lines_.push_back(Line{true, 0, std::move(title), ""});
  indent_ = 2;
}

std::string Fields::Render() const {
  // Keys are aligned within each run of lines between titles.
  std::string out;
  size_t i = 0;
  while (i < lines_.size()) {
    if (lines_[i].is_title) {
      if (!out.empty()) out += "\n";
      out += lines_[i].key + "\n";
      ++i;
      continue;
    }
    size_t end = i;
    size_t key_width = 0;
    while (end < lines_.size() && !lines_[end].is_title) {
      key_width = std::max(key_width, lines_[end].indent + DisplayWidth(lines_[end].key) + 1);
      ++end;
    }
    for (; i < end; ++i) {
      const Line& l = lines_[i];
      const std::string lead = std::string(l.indent, ' ') + l.key + ":";
      const std::string pad(key_width + 2 - DisplayWidth(lead), ' ');
      bool first = true;
      for (absl::string_view part : absl::StrSplit(l.value, '\n')) {
        std::string line = first ? lead + pad + std::string(part)
                                 : std::string(key_width + 2, ' ') + std::string(part);
        first = false;
        TrimRight(&line);
        out += line + "\n";
      }
    }
  }
  return out;
}

}  // namespace omniroute::ctl
