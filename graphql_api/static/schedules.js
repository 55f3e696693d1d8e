// Schedules of the open script: create one, pause and resume it, see its
// next fire times (the service computes them from the cron expression).

import { api } from "./session.js";
import { $, button, clearMessage, confirmAction, element, showError } from "./messages.js";

const NEXT_RUNS = 3;
const SCHEDULES = `query($id: ID!) { schedules(scriptId: $id) {
  id name cron timezone enabled nextRuns(count: ${NEXT_RUNS}) lastRun { id status }
} }`;
const CREATE = `mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { id } }`;
const PAUSE = `mutation($id: ID!) { pauseSchedule(id: $id) { id enabled } }`;
const RESUME = `mutation($id: ID!) { resumeSchedule(id: $id) { id enabled } }`;
const DELETE = `mutation($id: ID!) { deleteSchedule(id: $id) }`;

let script = () => null;

export function initSchedules(current) {
  script = current;
  $("#new-schedule-form").addEventListener("submit", createSchedule);
}

/** "2026-12-04 13:15 UTC": fire times in UTC, the zone the service gives them in. */
export const formatFireTime = (iso) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

export async function loadSchedules() {
  const open = script();
  if (!open) return;
  try {
    const data = await api(SCHEDULES, { id: open.id });
    const rows = data.schedules.map((schedule) => {
      const row = element("tr");
      row.dataset.id = schedule.id;
      row.dataset.enabled = String(schedule.enabled);
      const next = element("td", schedule.enabled ? schedule.nextRuns.map(formatFireTime).join("\n") : "—", "next-runs");
      const toggle = schedule.enabled
        ? button("Pause", () => change(PAUSE, schedule.id), "link pause")
        : button("Resume", () => change(RESUME, schedule.id), "link resume");
      const remove = button("Delete", () => deleteSchedule(schedule), "link delete");
      const actions = element("td");
      actions.append(toggle, remove);
      row.append(
        element("td", schedule.name || ""),
        element("td", `${schedule.cron} (${schedule.timezone})`),
        element("td", schedule.enabled ? "Active" : "Paused", "state"),
        next,
        element("td", schedule.lastRun ? schedule.lastRun.status : "never"),
        actions,
      );
      return row;
    });
    if (!rows.length) {
      const row = element("tr");
      const cell = element("td", "No schedules.", "muted");
      cell.colSpan = 6;
      row.append(cell);
      rows.push(row);
    }
    $("#schedules tbody").replaceChildren(...rows);
    $("#schedules").dataset.loaded = "true";
  } catch (err) {
    showError(err);
  }
}

async function createSchedule(event) {
  event.preventDefault();
  clearMessage();
  let input = null;
  const text = $("#schedule-input").value.trim();
  if (text) {
    try {
      input = JSON.parse(text);
    } catch (err) {
      showError(new Error(`the input is not valid JSON: ${err.message}`));
      return;
    }
  }
  try {
    await api(CREATE, {
      input: {
        scriptId: script().id,
        cron: $("#schedule-cron").value.trim(),
        timezone: $("#schedule-timezone").value.trim() || "UTC",
        name: $("#schedule-name").value.trim() || null,
        input,
      },
    });
    $("#schedule-cron").value = "";
    $("#schedule-name").value = "";
    $("#schedule-input").value = "";
    await loadSchedules();
  } catch (err) {
    showError(err);
  }
}

async function change(mutation, id) {
  clearMessage();
  try {
    await api(mutation, { id });
    await loadSchedules();
  } catch (err) {
    showError(err);
  }
}

async function deleteSchedule(schedule) {
  if (!(await confirmAction(`Delete the schedule ${schedule.name || schedule.cron}?`))) return;
  await change(DELETE, schedule.id);
}
