// The Services tab: the caller's services (scripts kept running until
// stopped) with their state, start one from the open script, stop, restart
// or delete one, follow a service's output live, read its events, and a
// 30-day chart of deployments and failures.

import { subscribe } from "./graphql.js";
import { api, renew, session } from "./session.js";
import { $, button, clearMessage, confirmAction, element, formatSize, formatTime, showError } from "./messages.js";
import { drawBarChart } from "./chart.js";

export const CHART_DAYS = 30;
// The output kept on the page: a chatty service would otherwise grow the
// DOM without end while someone watches it.
export const MAX_LOG_LINES = 1000;
// How often the list is read again while the tab is open: uptime, memory
// and CPU change without a change of status (which arrives at once).
const REFRESH_SECONDS = 5;

const FIELDS = `id name version status restartPolicy restarts startedAt uptimeSeconds lastExitCode
  http public url worker resources { peakMemoryBytes cpuUserSeconds cpuSystemSeconds } script { id path }`;
const SERVICES = `{ services { ${FIELDS} } }`;
const EVENTS = `query($id: ID!) { service(id: $id) { id events(first: 50) { at kind version exitCode message } } }`;
const STATS = `query($days: Int!, $tz: String!) { serviceStats(days: $days, timeZone: $tz) { label deployments failures } }`;
const START = `mutation($input: StartServiceInput!) { startService(input: $input) { ${FIELDS} } }`;
const STOP = `mutation($id: ID!) { stopService(id: $id) { id status } }`;
const RESTART = `mutation($id: ID!, $current: Boolean!) { restartService(id: $id, toCurrentVersion: $current) { id status version } }`;
const DELETE = `mutation($id: ID!) { deleteService(id: $id) }`;
const LOGS = `subscription($id: ID!) { serviceLogs(serviceId: $id) }`;
const CHANGES = `subscription { myServices { id } }`;

const DOWN = new Set(["STOPPED", "FAILED"]);

let script = () => null;
let services = []; // as last read
let selected = null; // the id of the service whose output and events are shown
let following = null; // stops the serviceLogs subscription
let watchingChanges = null; // stops the myServices subscription
let refresher = null;

/**
 * The answers to the latest of several overlapping reads: a status change,
 * the timer and a button can each read the list at once, and an answer
 * that arrives late must not put an older state back on the page.
 */
function latestOnly() {
  let asked = 0;
  let shown = 0;
  return async (read, show) => {
    const ticket = ++asked;
    const answer = await read();
    if (ticket < shown) return;
    shown = ticket;
    show(answer);
  };
}
const listReads = latestOnly();
const eventReads = latestOnly();
const chartReads = latestOnly();

export function initServices(current) {
  script = current;
  $("#new-service-form").addEventListener("submit", startService);
  $("#reload-services").addEventListener("click", loadServices);
}

/** The browser's IANA time zone: the chart's days are the reader's days. */
export const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** Called when the tab is shown: read everything, then keep it current. */
export async function showServices() {
  showScriptChoice();
  watchChanges();
  if (!refresher) refresher = setInterval(refreshWhileShown, REFRESH_SECONDS * 1000);
  await Promise.all([loadServices(), loadServiceChart()]);
  // Its output was not followed while the tab was hidden: replay it.
  if (selected && !following) select(selected);
}

/** Called when another tab is shown: nothing runs for a hidden tab. */
export function hideServices() {
  if (refresher) clearInterval(refresher);
  refresher = null;
  if (watchingChanges) watchingChanges();
  watchingChanges = null;
  stopFollowing();
}

function refreshWhileShown() {
  if ($("#tab-services").hidden) hideServices();
  else loadServices();
}

function showScriptChoice() {
  const open = script();
  $("#service-script").textContent = open ? open.path : "the open script";
  $("#start-service").disabled = !open;
  $("#start-service").title = open ? "" : "Open a script from the tree first.";
}

// ---- The list -----------------------------------------------------------------

const titled = (node, title) => Object.assign(node, { title });

/** "1 deployment", "2 failures". */
export const counted = (count, noun) => `${count} ${noun}${count === 1 ? "" : "s"}`;

/** "3 h 12 min", "45 s": how long it has been up. */
export function formatUptime(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function cpuNow(resources) {
  if (!resources || (resources.cpuUserSeconds === null && resources.cpuSystemSeconds === null)) return "";
  return `${((resources.cpuUserSeconds || 0) + (resources.cpuSystemSeconds || 0)).toFixed(2)} s`;
}

export async function loadServices() {
  try {
    await listReads(() => api(SERVICES), showList);
  } catch (err) {
    showError(err);
  }
}

function showList(data) {
  services = data.services;
  const rows = services.map(serviceRow);
  if (!rows.length) {
    const row = element("tr");
    const cell = element("td", "No services.", "muted");
    cell.colSpan = 12;
    row.append(cell);
    rows.push(row);
  }
  $("#services tbody").replaceChildren(...rows);
  $("#services").dataset.loaded = "true";
  if (selected && !services.some((s) => s.id === selected)) closeDetail();
}

function serviceRow(service) {
  const row = element("tr");
  row.dataset.id = service.id;
  row.dataset.status = service.status;
  if (service.id === selected) row.classList.add("selected");
  const url = element("td");
  if (service.url) {
    const link = element("a", service.url);
    link.href = service.url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    url.append(link);
  }
  const status = element("td", service.status, "status state");
  status.dataset.status = service.status;
  const actions = element("td", "", "actions");
  actions.append(button("Output", () => select(service.id), "link output"));
  if (DOWN.has(service.status)) {
    actions.append(button("Start", () => restart(service, false), "link restart"));
  } else {
    actions.append(
      button("Stop", () => change(STOP, { id: service.id }), "link stop"),
      button("Restart", () => restart(service, false), "link restart"),
    );
  }
  actions.append(
    titled(button("Redeploy", () => restart(service, true), "link redeploy"), "Restart on the script's current version"),
    button("Delete", () => deleteService(service), "link delete"),
  );
  const name = element("td", service.name, "name");
  name.title = `restart: ${service.restartPolicy.toLowerCase().replace("_", " ")}${service.public ? ", public" : ""}`;
  row.append(
    name,
    element("td", service.script.path),
    status,
    element("td", String(service.version), "version"),
    element("td", formatUptime(service.uptimeSeconds), "uptime"),
    element("td", String(service.restarts), "restarts"),
    element("td", service.lastExitCode === null ? "" : String(service.lastExitCode), "exit"),
    element("td", service.resources ? formatSize(service.resources.peakMemoryBytes) : "", "memory"),
    element("td", cpuNow(service.resources), "cpu"),
    element("td", service.worker || "", "worker"),
    url,
    actions,
  );
  return row;
}

/** Each change of status of the caller's services reads the list again at once. */
function watchChanges(renewed = false) {
  if (watchingChanges || !session) return;
  const stop = subscribe(CHANGES, {}, session.accessToken, {
    next(data) {
      loadServices();
      if (data.myServices.id === selected) loadEvents(selected);
    },
    error(err) {
      if (watchingChanges === stop) watchingChanges = null;
      if (err.code === "UNAUTHENTICATED" && !renewed) renew().then((ok) => ok && watchChanges(true));
    },
    complete() {
      if (watchingChanges === stop) watchingChanges = null;
    },
  });
  watchingChanges = stop;
}

// ---- Starting and operating ------------------------------------------------------

async function startService(event) {
  event.preventDefault();
  clearMessage();
  const open = script();
  if (!open) return;
  let input = null;
  const text = $("#service-input").value.trim();
  if (text) {
    try {
      input = JSON.parse(text);
    } catch (err) {
      showError(new Error(`the input is not valid JSON: ${err.message}`));
      return;
    }
  }
  $("#start-service").disabled = true;
  try {
    const data = await api(START, {
      input: {
        scriptId: open.id,
        name: $("#service-name").value.trim() || null,
        restartPolicy: $("#service-restart").value,
        http: $("#service-http").checked,
        public: $("#service-public").checked,
        input,
      },
    });
    $("#service-name").value = "";
    $("#service-input").value = "";
    selected = data.startService.id;
    await loadServices();
    select(selected);
    loadServiceChart();
  } catch (err) {
    showError(err);
  } finally {
    $("#start-service").disabled = false;
  }
}

async function change(mutation, variables) {
  clearMessage();
  try {
    await api(mutation, variables);
    await loadServices();
    if (selected) loadEvents(selected);
    loadServiceChart();
  } catch (err) {
    showError(err);
  }
}

function restart(service, toCurrentVersion) {
  return change(RESTART, { id: service.id, current: toCurrentVersion });
}

async function deleteService(service) {
  if (!(await confirmAction(`Delete the service ${service.name}? It is stopped first; its history stays in the chart.`))) return;
  if (selected === service.id) closeDetail();
  await change(DELETE, { id: service.id });
}

// ---- One service: output and events --------------------------------------------

function select(id) {
  selected = id;
  const service = services.find((s) => s.id === id);
  for (const row of document.querySelectorAll("#services tbody tr")) row.classList.toggle("selected", row.dataset.id === id);
  $("#service-title").textContent = service ? `${service.name}: output and events` : "";
  $("#service-detail").hidden = false;
  $("#service-detail").dataset.id = id;
  follow(id);
  loadEvents(id);
}

function closeDetail() {
  stopFollowing();
  selected = null;
  $("#service-detail").hidden = true;
  delete $("#service-detail").dataset.id;
}

function stopFollowing() {
  if (following) {
    following();
    setFollowState("PAUSED");
  }
  following = null;
}

/**
 * Add `text` to `box`, then drop the oldest lines beyond `maxLines` (an
 * unfinished last line counts as one). Each chunk is one text node, so
 * dropping a line is cutting through the next newline from the front:
 * whole nodes, then the start of one.
 */
export function appendBounded(box, text, maxLines = MAX_LOG_LINES) {
  box.append(document.createTextNode(text));
  const all = box.textContent;
  const lines = (all.match(/\n/g) || []).length + (all && !all.endsWith("\n") ? 1 : 0);
  let extra = lines - maxLines;
  while (extra > 0 && box.firstChild) {
    const node = box.firstChild;
    const value = node.textContent;
    let cut = 0;
    while (extra > 0) {
      const at = value.indexOf("\n", cut);
      if (at < 0) break;
      cut = at + 1;
      extra -= 1;
    }
    // A node without the newline that ends its last line goes whole: the
    // rest of that line opens the next node, cut on the next turn.
    if (extra > 0 || cut === value.length) node.remove();
    else node.textContent = value.slice(cut);
  }
  box.dataset.lines = String(Math.min(lines, maxLines));
}

/** Its last lines (the service replays them), then its output as it is printed. */
function follow(id, renewed = false) {
  stopFollowing();
  const box = $("#service-logs");
  box.replaceChildren();
  box.dataset.serviceId = id;
  box.dataset.lines = "0";
  setFollowState("CONNECTING");
  const stop = subscribe(LOGS, { id }, session.accessToken, {
    next(data) {
      setFollowState("LIVE");
      const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
      appendBounded(box, data.serviceLogs);
      if (atBottom) box.scrollTop = box.scrollHeight;
    },
    error(err) {
      if (following === stop) following = null;
      setFollowState("DISCONNECTED");
      if (err.code === "UNAUTHENTICATED" && !renewed) {
        renew().then((ok) => ok && selected === id && follow(id, true));
        return;
      }
      showError(err);
    },
    complete() {
      if (following === stop) following = null;
      setFollowState("ENDED");
    },
  });
  following = stop;
}

function setFollowState(state) {
  const box = $("#service-follow");
  box.textContent = state === "LIVE" ? "live" : state.toLowerCase();
  box.dataset.status = state;
}

async function loadEvents(id) {
  try {
    await eventReads(() => api(EVENTS, { id }), showEvents);
  } catch (err) {
    showError(err);
  }
}

function showEvents(data) {
  if (!data.service || selected !== data.service.id) return;
  const rows = data.service.events.map((event) => {
    const row = element("tr");
    row.dataset.kind = event.kind;
    row.append(
      element("td", formatTime(event.at)),
      element("td", event.kind, "kind"),
      element("td", event.version === null ? "" : String(event.version)),
      element("td", event.exitCode === null ? "" : String(event.exitCode)),
      element("td", event.message || ""),
    );
    return row;
  });
  $("#service-events tbody").replaceChildren(...rows);
  $("#service-events").dataset.loaded = "true";
}

// ---- The chart ------------------------------------------------------------------

export function drawServiceChart(days) {
  return drawBarChart(days, {
    title: `Deployments and failures per day, last ${days.length} days`,
    series: [
      { key: "deployments", legend: "deployments" },
      { key: "failures", legend: "failures" },
    ],
    describe: (day) => `${day.label}: ${counted(day.deployments, "deployment")}, ${counted(day.failures, "failure")}`,
  });
}

export async function loadServiceChart() {
  const zone = timeZone();
  try {
    await chartReads(() => api(STATS, { days: CHART_DAYS, tz: zone }), (data) => showServiceChart(data.serviceStats, zone));
  } catch (err) {
    showError(err);
  }
}

function showServiceChart(days, zone) {
  const deployments = days.reduce((sum, d) => sum + d.deployments, 0);
  const failures = days.reduce((sum, d) => sum + d.failures, 0);
  $("#service-chart-title").textContent = `Deployments and failures per day, last ${days.length} days (${zone})`;
  $("#service-chart-summary").textContent = `${counted(deployments, "deployment")}, ${counted(failures, "failure")} in the last ${days.length} days.`;
  $("#service-chart").replaceChildren(drawServiceChart(days));
  $("#service-chart").dataset.loaded = "true";
  $("#service-chart").dataset.timeZone = zone;
}
