#include "sim/svg.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <utility>

#include "core/engine/assert.h"

namespace failover::sim::svg {
namespace {

constexpr double kCharWidth = 6.6;  // average advance of a 12 px sans-serif glyph
constexpr double kLegendRow = 18.0;
constexpr double kPlotHeight = 240.0;
constexpr double kBottom = 50.0;  // x tick labels and the x axis label
constexpr double kRight = 24.0;
constexpr double kLaneHeight = 14.0;
constexpr double kLaneGap = 4.0;
constexpr double kGroupHeader = 18.0;
constexpr const char* kSpanFill = "#fbe3d6";
constexpr const char* kGrid = "#e6e6e6";
constexpr const char* kInk = "#333333";
constexpr const char* kSpanInk = "#a0522d";  // span labels: the span's hue, darker
constexpr double kSpanLabelRow = 13.0;
constexpr int kSpanLabelRows = 3;
constexpr double kSpanCharWidth = 5.6;  // at 10 px

double text_width(std::string_view text) {
  return kCharWidth * static_cast<double>(text.size());
}

// Maps data to pixels on one axis.
struct Scale {
  double lo = 0.0;
  double hi = 1.0;
  bool log = false;
  double from_px = 0.0;  // pixel of lo
  double to_px = 1.0;    // pixel of hi

  [[nodiscard]] double operator()(double v) const {
    double a = log ? std::log10(std::max(v, lo)) : v;
    const double l = log ? std::log10(lo) : lo;
    const double h = log ? std::log10(hi) : hi;
    a = std::clamp(a, l, h);
    return from_px + (a - l) / (h - l) * (to_px - from_px);
  }
};

Scale make_scale(const Axis& axis, double from_px, double to_px) {
  FAILOVER_ASSERT(axis.hi > axis.lo);
  FAILOVER_ASSERT(!axis.log || axis.lo > 0.0);
  return Scale{axis.lo, axis.hi, axis.log, from_px, to_px};
}

bool in_range(const Axis& axis, double v) {
  return v >= axis.lo && v <= axis.hi;
}

std::string px(double v) {
  return fixed(v, 1);
}

// The subtitle in one line, or two when one would run past the right edge: broken at the
// last " · " (else the last space) that fits.
std::vector<std::string> subtitle_lines(const std::string& subtitle) {
  const auto fits = static_cast<std::size_t>((kWidth - 32.0) / kCharWidth);
  if (subtitle.size() <= fits) return {subtitle};
  std::size_t cut = subtitle.rfind(" \u00b7 ", fits);
  std::size_t skip = std::string_view(" \u00b7 ").size();
  if (cut == std::string::npos || cut == 0) {
    cut = subtitle.rfind(' ', fits);
    skip = 1;
  }
  if (cut == std::string::npos || cut == 0) return {subtitle};
  return {subtitle.substr(0, cut), subtitle.substr(cut + skip)};
}

// Where the legend starts: below the title and the subtitle's lines.
double header_height(const std::string& subtitle) {
  return 48.0 + 16.0 * static_cast<double>(subtitle_lines(subtitle).size() - 1);
}

void open_document(std::string& out, double height, const std::string& title, const std::string& subtitle) {
  const std::string h = px(height);
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + std::to_string(kWidth) +
         "\" height=\"" + h + "\" viewBox=\"0 0 " + std::to_string(kWidth) + " " + h +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "<title>" + xml_escape(title) + "</title>\n";
  out += "<desc>" + xml_escape(subtitle) + "</desc>\n";
  out += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(kWidth) + "\" height=\"" + h + "\" fill=\"#ffffff\"/>\n";
  out += "<text x=\"16\" y=\"24\" font-size=\"16\" font-weight=\"bold\" fill=\"" + std::string(kInk) + "\">" +
         xml_escape(title) + "</text>\n";
  double y = 42.0;
  for (const std::string& line : subtitle_lines(subtitle)) {
    out += "<text x=\"16\" y=\"" + px(y) + "\" fill=\"#666666\">" + xml_escape(line) + "</text>\n";
    y += 16.0;
  }
}

void legend_swatch(std::string& out, double x, double y, const LegendEntry& e) {
  if (e.block) {
    out += "<rect x=\"" + px(x) + "\" y=\"" + px(y - 9.0) + "\" width=\"18\" height=\"10\" fill=\"" + e.colour +
           "\" stroke=\"#999999\" stroke-width=\"0.5\"/>\n";
    return;
  }
  out += "<line x1=\"" + px(x) + "\" y1=\"" + px(y - 4.0) + "\" x2=\"" + px(x + 18.0) + "\" y2=\"" + px(y - 4.0) +
         "\" stroke=\"" + e.colour + "\" stroke-width=\"2.5\"" +
         (e.dashed ? std::string(" stroke-dasharray=\"6 3\"") : std::string()) + "/>\n";
}

// Draws the legend in rows from `top`; returns the y below it.
double draw_legend(std::string& out, const std::vector<LegendEntry>& entries, double top) {
  if (entries.empty()) return top;
  double x = 16.0;
  double y = top + 12.0;
  for (const LegendEntry& e : entries) {
    const double w = 24.0 + text_width(e.label) + 18.0;
    if (x + w > kWidth - kRight && x > 16.0) {
      x = 16.0;
      y += kLegendRow;
    }
    legend_swatch(out, x, y, e);
    out += "<text x=\"" + px(x + 24.0) + "\" y=\"" + px(y) + "\" fill=\"" + kInk + "\">" + xml_escape(e.label) +
           "</text>\n";
    x += w;
  }
  return y + 10.0;
}

// How tall the legend will be, to size the document before drawing it.
double legend_height(const std::vector<LegendEntry>& entries) {
  std::string scratch;
  return draw_legend(scratch, entries, 0.0);
}

void draw_x_axis(std::string& out, const Axis& axis, const Scale& sx, double top, double bottom) {
  for (const Tick& t : axis.ticks) {
    if (!in_range(axis, t.value)) continue;
    const std::string x = px(sx(t.value));
    out += "<line x1=\"" + x + "\" y1=\"" + px(top) + "\" x2=\"" + x + "\" y2=\"" + px(bottom) + "\" stroke=\"" +
           kGrid + "\" stroke-width=\"1\"/>\n";
    out += "<line x1=\"" + x + "\" y1=\"" + px(bottom) + "\" x2=\"" + x + "\" y2=\"" + px(bottom + 5.0) +
           "\" stroke=\"" + kInk + "\" stroke-width=\"1\"/>\n";
    out += "<text x=\"" + x + "\" y=\"" + px(bottom + 18.0) + "\" text-anchor=\"middle\" fill=\"" + kInk + "\">" +
           xml_escape(t.label) + "</text>\n";
  }
  out += "<line x1=\"" + px(sx.from_px) + "\" y1=\"" + px(bottom) + "\" x2=\"" + px(sx.to_px) + "\" y2=\"" +
         px(bottom) + "\" stroke=\"" + kInk + "\" stroke-width=\"1\"/>\n";
  out += "<text x=\"" + px((sx.from_px + sx.to_px) / 2.0) + "\" y=\"" + px(bottom + 38.0) +
         "\" text-anchor=\"middle\" fill=\"" + kInk + "\">" + xml_escape(axis.label) + "</text>\n";
}

void draw_y_axis(std::string& out, const Axis& axis, const Scale& sy, double left, double right) {
  for (const Tick& t : axis.ticks) {
    if (!in_range(axis, t.value)) continue;
    const std::string y = px(sy(t.value));
    out += "<line x1=\"" + px(left) + "\" y1=\"" + y + "\" x2=\"" + px(right) + "\" y2=\"" + y + "\" stroke=\"" +
           kGrid + "\" stroke-width=\"1\"/>\n";
    out += "<text x=\"" + px(left - 6.0) + "\" y=\"" + px(sy(t.value) + 4.0) + "\" text-anchor=\"end\" fill=\"" + kInk +
           "\">" + xml_escape(t.label) + "</text>\n";
  }
  out += "<line x1=\"" + px(left) + "\" y1=\"" + px(sy.from_px) + "\" x2=\"" + px(left) + "\" y2=\"" + px(sy.to_px) +
         "\" stroke=\"" + kInk + "\" stroke-width=\"1\"/>\n";
  const std::string cy = px((sy.from_px + sy.to_px) / 2.0);
  out += "<text x=\"16\" y=\"" + cy + "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " + cy + ")\" fill=\"" +
         kInk + "\">" + xml_escape(axis.label) + "</text>\n";
}

void draw_spans(std::string& out, const std::vector<Span>& spans, const Scale& sx, double top, double bottom) {
  for (const Span& s : spans) {
    const double x0 = sx(s.from);
    const double x1 = sx(s.to);
    if (x1 <= x0) continue;
    out += "<rect x=\"" + px(x0) + "\" y=\"" + px(top) + "\" width=\"" + px(x1 - x0) + "\" height=\"" +
           px(bottom - top) + "\" fill=\"" + kSpanFill + "\">";
    out += s.label.empty() ? "</rect>\n" : "<title>" + xml_escape(s.label) + "</title></rect>\n";
  }
}

struct SpanLabel {
  double x = 0.0;
  int row = 0;
  const std::string* text = nullptr;
};

// Where the span labels go: each at its span's start, in the first of kSpanLabelRows
// rows where it does not overlap the label before it. A span that starts within a label's
// width of the end of the last span with the same label continues it (a flapping fault's
// windows) and is not labelled again; a label that fits nowhere is left to the span's
// tooltip. Spans are taken in order of start, so the layout does not depend on the order
// they were given in.
std::vector<SpanLabel> place_span_labels(const std::vector<Span>& spans, const Scale& sx) {
  std::vector<const Span*> order;
  for (const Span& s : spans) {
    if (!s.label.empty() && sx(s.to) > sx(s.from)) order.push_back(&s);
  }
  std::stable_sort(order.begin(), order.end(), [](const Span* a, const Span* b) { return a->from < b->from; });
  std::vector<SpanLabel> placed;
  std::vector<std::pair<const std::string*, double>> last_end;  // per label: where its last span ended (px)
  double row_end[kSpanLabelRows];
  std::fill(std::begin(row_end), std::end(row_end), -1e9);
  for (const Span* s : order) {
    const double x = sx(s->from);
    const double w = kSpanCharWidth * static_cast<double>(s->label.size());
    auto seen = std::find_if(last_end.begin(), last_end.end(), [s](const auto& e) { return *e.first == s->label; });
    const bool continues = seen != last_end.end() && x < seen->second + w;
    if (seen == last_end.end()) seen = last_end.insert(last_end.end(), {&s->label, 0.0});
    seen->second = std::max(seen->second, sx(s->to));
    if (continues || x + w > kWidth - 4.0) continue;
    for (int row = 0; row < kSpanLabelRows; ++row) {
      if (x < row_end[row] + 6.0) continue;
      placed.push_back(SpanLabel{x, row, &s->label});
      row_end[row] = x + w;
      break;
    }
  }
  return placed;
}

double span_label_height(const std::vector<SpanLabel>& labels) {
  int rows = 0;
  for (const SpanLabel& l : labels) rows = std::max(rows, l.row + 1);
  return kSpanLabelRow * static_cast<double>(rows);
}

// The labels in rows above the plot, row 0 nearest to it, each with a tick down to its span.
void draw_span_labels(std::string& out, const std::vector<SpanLabel>& labels, double top) {
  for (const SpanLabel& l : labels) {
    const double y = top - 4.0 - kSpanLabelRow * static_cast<double>(l.row);
    out += "<line x1=\"" + px(l.x) + "\" y1=\"" + px(y - 9.0) + "\" x2=\"" + px(l.x) + "\" y2=\"" + px(top) +
           "\" stroke=\"" + kSpanInk + "\" stroke-width=\"1\"/>\n";
    out += "<text x=\"" + px(l.x + 3.0) + "\" y=\"" + px(y) + "\" font-size=\"10\" fill=\"" + kSpanInk + "\">" +
           xml_escape(*l.text) + "</text>\n";
  }
}

void draw_line(std::string& out, const Line& line, const Scale& sx, const Scale& sy) {
  std::string d;
  for (const std::vector<Point>& segment : line.segments) {
    for (std::size_t i = 0; i < segment.size(); ++i) {
      d += (i == 0 ? (d.empty() ? "M" : " M") : " L");
      d += px(sx(segment[i].x)) + "," + px(sy(segment[i].y));
    }
  }
  if (d.empty()) d = "M " + px(sx.from_px) + "," + px(sy.from_px);  // an empty series still has its path
  out += "<path class=\"" + std::string(line.reference ? "ref" : "line") + "\" d=\"" + d +
         "\" fill=\"none\" stroke=\"" + line.colour + "\" stroke-width=\"" + fixed(line.width, 2) +
         "\" stroke-linejoin=\"round\"" + (line.dashed ? std::string(" stroke-dasharray=\"6 3\"") : std::string()) +
         "><title>" + xml_escape(line.name) + "</title></path>\n";
}

void draw_markers(std::string& out, const std::vector<Marker>& markers, const Scale& sx, const Scale& sy) {
  for (const Marker& m : markers) {
    out += "<circle cx=\"" + px(sx(m.at.x)) + "\" cy=\"" + px(sy(m.at.y)) + "\" r=\"4.5\" fill=\"" + m.colour +
           "\" stroke=\"#ffffff\" stroke-width=\"1.5\"><title>" + xml_escape(m.label) + "</title></circle>\n";
  }
}

std::vector<LegendEntry> line_legend(const LineChart& chart) {
  std::vector<LegendEntry> entries;
  for (const Line& line : chart.lines) {
    if (!line.name.empty()) entries.push_back(LegendEntry{line.name, line.colour, line.dashed, false});
  }
  if (!chart.spans.empty() && !chart.span_label.empty()) {
    entries.push_back(LegendEntry{chart.span_label, kSpanFill, false, true});
  }
  return entries;
}

double lane_label_width(const LaneChart& chart) {
  double w = 0.0;
  for (const LaneGroup& g : chart.groups) {
    for (const Lane& lane : g.lanes) w = std::max(w, text_width(lane.label));
  }
  return std::clamp(w + 24.0, 96.0, 320.0);
}

double lanes_height(const LaneChart& chart) {
  double h = 0.0;
  for (const LaneGroup& g : chart.groups) {
    h += kGroupHeader + static_cast<double>(g.lanes.size()) * (kLaneHeight + kLaneGap);
  }
  return std::max(h, kLaneHeight);
}

void draw_lane(std::string& out, const Lane& lane, const Scale& sx, double y) {
  const double left = sx.from_px;
  out += "<text x=\"" + px(left - 6.0) + "\" y=\"" + px(y + kLaneHeight - 3.0) + "\" text-anchor=\"end\" fill=\"" +
         kInk + "\">" + xml_escape(lane.label) + "</text>\n";
  out += "<rect x=\"" + px(left) + "\" y=\"" + px(y) + "\" width=\"" + px(sx.to_px - left) + "\" height=\"" +
         px(kLaneHeight) + "\" fill=\"#f2f2f2\"/>\n";
  for (const Band& b : lane.bands) {
    const double x0 = sx(b.from);
    const double x1 = sx(b.to);
    if (x1 <= x0) continue;
    out += "<rect x=\"" + px(x0) + "\" y=\"" + px(y) + "\" width=\"" + px(std::max(x1 - x0, 0.5)) + "\" height=\"" +
           px(kLaneHeight) + "\" fill=\"" + b.colour + "\"/>\n";
  }
}

}  // namespace

std::string render(const LineChart& chart) {
  const std::vector<LegendEntry> legend = line_legend(chart);
  const double left = 76.0;
  const double right = kWidth - kRight;
  const Scale sx = make_scale(chart.x, left, right);
  const std::vector<SpanLabel> span_labels = place_span_labels(chart.spans, sx);
  const double head = header_height(chart.subtitle);
  const double top = legend_height(legend) + head + 8.0 + span_label_height(span_labels);
  const double bottom = top + kPlotHeight;
  std::string out;
  open_document(out, bottom + kBottom, chart.title, chart.subtitle);
  draw_legend(out, legend, head);
  const Scale sy = make_scale(chart.y, bottom, top);
  draw_spans(out, chart.spans, sx, top, bottom);
  draw_span_labels(out, span_labels, top);
  draw_y_axis(out, chart.y, sy, left, right);
  draw_x_axis(out, chart.x, sx, top, bottom);
  out += "<g>\n";
  for (const Line& line : chart.lines) draw_line(out, line, sx, sy);
  draw_markers(out, chart.markers, sx, sy);
  out += "</g>\n</svg>\n";
  return out;
}

std::string render(const LaneChart& chart) {
  std::vector<LegendEntry> legend = chart.legend;
  if (!chart.spans.empty() && !chart.span_label.empty()) {
    legend.push_back(LegendEntry{chart.span_label, kSpanFill, false, true});
  }
  const double left = lane_label_width(chart);
  const Scale sx = make_scale(chart.x, left, kWidth - kRight);
  const std::vector<SpanLabel> span_labels = place_span_labels(chart.spans, sx);
  const double head = header_height(chart.subtitle);
  const double top = legend_height(legend) + head + 8.0 + span_label_height(span_labels);
  const double bottom = top + lanes_height(chart);
  std::string out;
  open_document(out, bottom + kBottom, chart.title, chart.subtitle);
  draw_legend(out, legend, head);
  draw_spans(out, chart.spans, sx, top, bottom);
  draw_span_labels(out, span_labels, top);
  draw_x_axis(out, chart.x, sx, top, bottom);
  double y = top;
  for (const LaneGroup& g : chart.groups) {
    out += "<g>\n<text x=\"16\" y=\"" + px(y + 13.0) + "\" font-weight=\"bold\" fill=\"" + g.colour + "\">" +
           xml_escape(g.label) + "</text>\n";
    y += kGroupHeader;
    for (const Lane& lane : g.lanes) {
      draw_lane(out, lane, sx, y);
      y += kLaneHeight + kLaneGap;
    }
    out += "</g>\n";
  }
  out += "</svg>\n";
  return out;
}

std::vector<double> linear_ticks(double lo, double hi, int count_max) {
  FAILOVER_ASSERT(hi > lo);
  FAILOVER_ASSERT(count_max >= 2);
  const double raw = (hi - lo) / static_cast<double>(count_max - 1);
  const double step = nice_ceiling(raw);
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (int i = 0; i <= count_max; ++i) {
    const double v = first + step * static_cast<double>(i);
    if (v > hi + step * 1e-9) break;
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  }
  return ticks;
}

double nice_ceiling(double v) {
  if (!(v > 0.0) || !std::isfinite(v)) return 1.0;
  const double decade = std::pow(10.0, std::floor(std::log10(v)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * decade >= v * (1.0 - 1e-12)) return m * decade;
  }
  return 10.0 * decade;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (u >= 0x20 || c == '\t' || c == '\n' || c == '\r') out += c;
        break;
    }
  }
  return out;
}

std::string fixed(double v, int digits) {
  FAILOVER_ASSERT(digits >= 0);
  FAILOVER_ASSERT(digits <= 12);
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  std::string s(buf);
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);  // "-0.0" -> "0.0"
  return s;
}

}  // namespace failover::sim::svg
