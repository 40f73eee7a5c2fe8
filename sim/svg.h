// SVG charts: two small chart kinds drawn as hand-written SVG 1.1 text -- line charts
// (time series with axes, ticks, a legend, shaded intervals and markers) and lane charts
// (coloured bands per lane, for breaker states). It decides layout and markup only;
// what is plotted, in which colour and with which tick labels is the report's choice.
// Output depends on nothing but the input: numbers are printed with fixed precision.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace failover::sim::svg {

struct Point {
  double x = 0.0;
  double y = 0.0;
};

// A plotted line. Each segment is drawn as one connected run of points; a gap in the
// data (no successes in a bucket, so no latency) separates segments. A line is drawn
// as one <path class="line"> (or class="ref" for reference lines such as a capacity).
struct Line {
  std::string name;    // legend label and tooltip; empty: not in the legend
  std::string colour;  // any SVG colour, e.g. "#0072b2"
  std::vector<std::vector<Point>> segments;
  bool dashed = false;
  bool reference = false;
  double width = 2.0;
};

struct Tick {
  double value = 0.0;
  std::string label;
};

struct Axis {
  std::string label;
  double lo = 0.0;
  double hi = 1.0;
  bool log = false;         // log10 scale; lo must then be > 0
  std::vector<Tick> ticks;  // drawn as given (values outside [lo, hi] are skipped)
};

// A shaded x-interval behind the data (a fault window). Its label (e.g. "anthropic:
// 503 at 94%") is its tooltip and, where there is room, is written in a strip above
// the plot at the span's start; a span with the same label as the one just labelled
// (a flapping fault's many windows) is not labelled again.
struct Span {
  double from = 0.0;
  double to = 0.0;
  std::string label;
};

// A dot on the plot with a tooltip (the moment a buffer first overflowed).
struct Marker {
  Point at;
  std::string colour;
  std::string label;
};

struct LegendEntry {
  std::string label;
  std::string colour;
  bool dashed = false;
  bool block = false;  // a filled square (bands, spans) instead of a line
};

struct LineChart {
  std::string title;
  std::string subtitle;
  Axis x;
  Axis y;
  std::vector<Line> lines;
  std::vector<Span> spans;
  std::string span_label;  // legend label for the spans, if any
  std::vector<Marker> markers;
};

struct Band {
  double from = 0.0;
  double to = 0.0;
  std::string colour;
};

struct Lane {
  std::string label;
  std::vector<Band> bands;  // drawn over a neutral lane background
};

struct LaneGroup {
  std::string label;  // e.g. the policy name, drawn in `colour` above its lanes
  std::string colour;
  std::vector<Lane> lanes;
};

struct LaneChart {
  std::string title;
  std::string subtitle;
  Axis x;
  std::vector<LaneGroup> groups;
  std::vector<LegendEntry> legend;
  std::vector<Span> spans;
  std::string span_label;
};

inline constexpr int kWidth = 800;

// Renders a complete SVG document. Preconditions: x.hi > x.lo and y.hi > y.lo (and
// y.lo > 0 on a log axis); points outside the axes are clipped to the plot area.
std::string render(const LineChart& chart);
std::string render(const LaneChart& chart);

// Tick values for [lo, hi] at a step of 1, 2 or 5 x 10^k, at most `count_max` of them
// (count_max >= 2), starting at the first multiple of the step at or above lo.
std::vector<double> linear_ticks(double lo, double hi, int count_max);
// The smallest 1, 2 or 5 x 10^k at or above v (v > 0); 1 for v <= 0. For axis tops.
double nice_ceiling(double v);

// Text and attribute escaping for XML: & < > " ' become entities; characters XML 1.0
// forbids (control characters other than tab, newline, return) are dropped.
std::string xml_escape(std::string_view text);
// v with `digits` decimals, never "-0"; non-finite values print as "0".
std::string fixed(double v, int digits);

}  // namespace failover::sim::svg
