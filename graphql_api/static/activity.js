// Runs and failures per day for the last 30 days, as a bar chart (chart.js).

import { api } from "./session.js";
import { $, showError } from "./messages.js";
import { drawBarChart } from "./chart.js";

export const CHART_DAYS = 30;
const STATS = `query($days: Int!) { executionStats(days: $days) { label runs failures medianDurationMs } }`;

/** The chart of `days` ([{label, runs, failures, medianDurationMs}], oldest first). */
export function drawChart(days) {
  return drawBarChart(days, {
    title: `Runs and failures per day, last ${days.length} days`,
    series: [
      { key: "runs", legend: "runs" },
      { key: "failures", legend: "failed" },
    ],
    nested: true,
    describe(day) {
      const median = day.medianDurationMs === null || day.medianDurationMs === undefined ? "" : `, median ${Math.round(day.medianDurationMs)} ms`;
      return `${day.label}: ${day.runs} runs, ${day.failures} failed${median}`;
    },
  });
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
