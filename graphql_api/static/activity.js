// Runs and failures per day for the last 30 days, as an SVG bar chart drawn
// here: thirty bars and two axes are a few dozen lines, smaller than any
// charting library and free of the inline styles the page's CSP forbids.

import { api } from "./session.js";
import { $, showError } from "./messages.js";

export const CHART_DAYS = 30;
const STATS = `query($days: Int!) { executionStats(days: $days) { label runs failures medianDurationMs } }`;

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

/** The chart of `days` ([{label, runs, failures}], oldest first). */
export function drawChart(days) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const top = niceMax(Math.max(0, ...days.map((d) => d.runs)));
  const y = (count) => MARGIN.top + plotHeight - (count / top) * plotHeight;
  const step = plotWidth / Math.max(days.length, 1);
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", class: "chart" });
  chart.append(svg("title", {}, `Runs and failures per day, last ${days.length} days`));

  for (const tick of [0, top / 2, top].filter(Number.isInteger)) {
    chart.append(
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(tick), y2: y(tick), class: "grid" }),
      svg("text", { x: MARGIN.left - 6, y: y(tick) + 4, class: "axis", "text-anchor": "end" }, String(tick)),
    );
  }
  days.forEach((day, index) => {
    const x = MARGIN.left + index * step + step * 0.15;
    const width = step * 0.7;
    const group = svg("g", { class: "day", "data-day": day.label, "data-runs": day.runs, "data-failures": day.failures });
    const median = day.medianDurationMs === null || day.medianDurationMs === undefined ? "" : `, median ${Math.round(day.medianDurationMs)} ms`;
    group.append(svg("title", {}, `${day.label}: ${day.runs} runs, ${day.failures} failed${median}`));
    group.append(svg("rect", { x, width, y: y(day.runs), height: y(0) - y(day.runs), class: "runs" }));
    group.append(svg("rect", { x, width, y: y(day.failures), height: y(0) - y(day.failures), class: "failures" }));
    if (index % 5 === 0 || index === days.length - 1) {
      group.append(svg("text", { x: x + width / 2, y: HEIGHT - MARGIN.bottom + 16, class: "axis", "text-anchor": "middle" }, day.label.slice(5)));
    }
    chart.append(group);
  });
  const legend = svg("g", { class: "legend" });
  legend.append(
    svg("rect", { x: MARGIN.left + 8, y: 4, width: 10, height: 10, class: "runs" }),
    svg("text", { x: MARGIN.left + 22, y: 13, class: "axis" }, "runs"),
    svg("rect", { x: MARGIN.left + 62, y: 4, width: 10, height: 10, class: "failures" }),
    svg("text", { x: MARGIN.left + 76, y: 13, class: "axis" }, "failed"),
  );
  chart.append(legend);
  return chart;
}

export async function loadChart() {
  try {
    const data = await api(STATS, { days: CHART_DAYS });
    const days = data.executionStats;
    const runs = days.reduce((sum, d) => sum + d.runs, 0);
    const failures = days.reduce((sum, d) => sum + d.failures, 0);
    $("#chart-summary").textContent = `${runs} runs, ${failures} failed in the last ${days.length} days.`;
    $("#chart").replaceChildren(drawChart(days));
    $("#chart").dataset.loaded = "true";
  } catch (err) {
    showError(err);
  }
}
