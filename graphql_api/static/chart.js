// A bar chart of counts per day, as SVG drawn here: thirty bars and two axes
// are a few dozen lines, smaller than any charting library and free of the
// inline styles the page's CSP forbids. The Activity tab (runs, failed) and
// the Services tab (deployments, failures) draw with it.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 220;
const MARGIN = { top: 26, right: 8, bottom: 28, left: 40 };

function svg(tag, attributes = {}, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

/** The y axis's top: the largest count rounded up to 1, 2 or 5 times a power of ten. */
export function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * The chart of `days` (oldest first, each with a `label` YYYY-MM-DD and a
 * count per series).
 *
 * - `title`: what the whole chart shows, for screen readers.
 * - `series`: [{ key, legend }, ...]; each bar is a rect of class `key`,
 *   each day's group carries `data-<key>`; the first series is drawn in the
 *   accent colour, the second in the colour of trouble.
 * - `nested`: the second series is a part of the first (failed runs among
 *   runs): its bar is drawn over the first's. Otherwise the bars stand side
 *   by side, since a part could outgrow the whole (a crash loop fails more
 *   often than it was deployed).
 * - `describe(day)`: the day's hover text.
 */
export function drawBarChart(days, { title, series, nested = false, describe }) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const counts = days.flatMap((day) => series.map((s) => day[s.key]));
  const top = niceMax(Math.max(0, ...counts));
  const y = (count) => MARGIN.top + plotHeight - (count / top) * plotHeight;
  const step = plotWidth / Math.max(days.length, 1);
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "chart" });
  chart.append(svg("title", {}, title));

  for (const tick of [0, top / 2, top].filter(Number.isInteger)) {
    chart.append(
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(tick), y2: y(tick), class: "grid" }),
      svg("text", { x: MARGIN.left - 6, y: y(tick) + 4, class: "axis", "text-anchor": "end" }, String(tick)),
    );
  }
  const barWidth = nested ? step * 0.7 : (step * 0.7) / series.length;
  days.forEach((day, index) => {
    const left = MARGIN.left + index * step + step * 0.15;
    const group = svg("g", { class: "day", "data-day": day.label });
    for (const s of series) group.setAttribute(`data-${s.key}`, day[s.key]);
    group.append(svg("title", {}, describe(day)));
    series.forEach((s, place) => {
      const x = nested ? left : left + place * barWidth;
      const count = day[s.key];
      group.append(svg("rect", { x, width: barWidth, y: y(count), height: y(0) - y(count), class: `${s.key} series-${place}` }));
    });
    if (index % 5 === 0 || index === days.length - 1) {
      group.append(svg("text", { x: left + (step * 0.7) / 2, y: HEIGHT - MARGIN.bottom + 16, class: "axis", "text-anchor": "middle" }, day.label.slice(5)));
    }
    chart.append(group);
  });
  const legend = svg("g", { class: "legend" });
  let x = MARGIN.left + 8;
  series.forEach((s, place) => {
    legend.append(
      svg("rect", { x, y: 4, width: 10, height: 10, class: `${s.key} series-${place}` }),
      svg("text", { x: x + 14, y: 13, class: "axis" }, s.legend),
    );
    x += 24 + 7 * s.legend.length;
  });
  chart.append(legend);
  return chart;
}
