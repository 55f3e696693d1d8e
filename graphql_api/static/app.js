// The Scriptbox web page: log in, browse the tree, edit, save and run a
// script, and watch its output arrive live; the panels of folders,
// versions, schedules, files, secrets, activity and services live in their own
// modules. Plain DOM, no framework, no build step; every text from the
// service goes in with textContent, never as HTML.

import { ApiError, request, subscribe } from "./graphql.js";
import { api, endSession, onSessionEnd, renew, saveSession, session } from "./session.js";
import { $, clearMessage, describe, element, showError, showMessage } from "./messages.js";
import { createEditor } from "./editor.js";
import { decorateFolder, decorateScript, initFolders, setFolders } from "./folders.js";
import { initVersions, loadVersions } from "./versions.js";
import { initSchedules, loadSchedules } from "./schedules.js";
import { downloadButton, initFiles, loadFiles } from "./files.js";
import { initSecrets, loadSecrets } from "./secrets.js";
import { loadChart } from "./activity.js";
import { hideServices, initServices, showServices } from "./services.js";

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELLED"]);

// ---- GraphQL documents -------------------------------------------------

const AUTH_FIELDS = "accessToken refreshToken user { username isAdmin }";
const LOGIN = `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { ${AUTH_FIELDS} } }`;
const REGISTER = `mutation($u: String!, $p: String!) { register(username: $u, password: $p) { ${AUTH_FIELDS} } }`;

const SCRIPT_FIELDS = "scripts { id name path }";

/** The whole tree in one request: folders nested as deep as the service allows. */
export function treeQuery(depth) {
  let folders = "";
  for (let level = 0; level < depth; level += 1) {
    folders = `folders { id name path ${SCRIPT_FIELDS} ${folders} }`;
  }
  return `query ScriptboxTree { tree { ${SCRIPT_FIELDS} ${folders} } }`;
}

/** The folders others shared with the caller, as deep as the tree. */
export function sharedQuery(depth) {
  let folders = "";
  for (let level = 1; level < depth; level += 1) {
    folders = `folders { id name path ${SCRIPT_FIELDS} ${folders} }`;
  }
  return `query ScriptboxShared { sharedWithMe { id name path myRole owner { username } ${SCRIPT_FIELDS} ${folders} } }`;
}

const SHARE = `mutation($folderId: ID!, $username: String!, $role: Role!) {
  shareFolder(folderId: $folderId, username: $username, role: $role) { id role }
}`;

const SCRIPT = `query($id: ID!) { script(id: $id) {
  id path name language version updatedAt content
} }`;
const UPDATE = `mutation($id: ID!, $content: String!) { updateScript(id: $id, input: { content: $content }) {
  id version updatedAt
} }`;
const CREATE = `mutation($input: CreateScriptInput!) { createScript(input: $input) { id path } }`;
const RUN = `mutation($input: RunScriptInput!) { runScript(input: $input) { id status scriptVersion } }`;
const CANCEL = `mutation($id: ID!) { cancelExecution(id: $id) { id status } }`;
const RESOURCES = "resources { peakMemoryBytes cpuUserSeconds cpuSystemSeconds wallSeconds }";
const ARTIFACTS = "artifacts { name size downloadUrl }";
const EXECUTIONS = `query($scriptId: ID!) { executions(scriptId: $scriptId, first: 10) {
  id status scriptVersion queuedAt durationMs exitCode attempt worker error { code message } ${RESOURCES} ${ARTIFACTS}
} }`;
const UPDATES = `subscription($id: ID!) { executionUpdates(executionId: $id) {
  seq status stream data
  execution { id status result exitCode durationMs outputTruncated attempt worker error { code message } image ${RESOURCES} ${ARTIFACTS} }
} }`;
const STATS_DAYS = 7;
const STATS = `query($days: Int!) { executionStats(days: $days) {
  label runs failures cpuSeconds peakMemoryBytes
} }`;

// ---- Errors in words ----------------------------------------------------

const OUTCOME_WORDS = {
  SCRIPT_ERROR: "The script raised an exception.",
  NON_ZERO_EXIT: "The script exited with a non-zero code.",
  OUT_OF_MEMORY: "The script ran out of memory.",
  INVALID_RESULT: "The script's result is not JSON.",
  RESULT_TOO_LARGE: "The script's result is too large.",
  TIMEOUT: "The script ran out of time.",
  CANCELLED: "The run was cancelled.",
  WORKER_LOST: "The service stopped while the script ran.",
  SANDBOX_UNAVAILABLE: "The sandbox is not available.",
};

onSessionEnd((text) => {
  stopWatching();
  hideServices();
  render();
  if (text) showMessage(text, "error");
});

// ---- Views ------------------------------------------------------------------

function render() {
  const loggedIn = Boolean(session);
  $("#login-view").hidden = loggedIn;
  $("#app-view").hidden = !loggedIn;
  $("#logout").hidden = !loggedIn;
  $("#whoami").textContent = loggedIn ? `Logged in as ${session.username}` : "";
  if (loggedIn) {
    loadTree();
    loadStats();
  } else $("#username").focus();
}

async function authenticate(mutation) {
  const username = $("#username").value.trim();
  const password = $("#password").value;
  if (!username || !password) {
    showMessage("Enter a user name and a password.");
    return;
  }
  clearMessage();
  try {
    const data = await request(mutation, { u: username, p: password });
    saveSession(data.login || data.register);
    $("#password").value = "";
    render();
  } catch (err) {
    showError(err);
  }
}

// ---- Tree -------------------------------------------------------------------

let current = null; // the open script: { id, path, language, version, content }
let editor = null; // the CodeMirror editor (editor.js)

async function loadTree() {
  const tree = $("#tree");
  const depth = Number(document.querySelector('meta[name="scriptbox-tree-depth"]').content) || 8;
  try {
    const data = await api(treeQuery(depth));
    tree.replaceChildren(renderLevel(data.tree.folders, data.tree.scripts));
    if (!data.tree.folders.length && !data.tree.scripts.length) {
      const empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = "No scripts yet: create one below.";
      tree.append(empty);
    }
    fillFolderChoice(data.tree.folders);
    setFolders(data.tree.folders);
    tree.dataset.loaded = "true";
  } catch (err) {
    tree.replaceChildren();
    showError(err);
  }
  await loadShared(depth);
}

async function loadShared(depth) {
  const shared = $("#shared");
  try {
    const data = await api(sharedQuery(depth));
    const roots = data.sharedWithMe;
    $("#shared-view").hidden = !roots.length;
    const list = document.createElement("ul");
    for (const root of roots) {
      const item = document.createElement("li");
      const details = document.createElement("details");
      details.open = true;
      const summary = document.createElement("summary");
      summary.className = "folder shared-root";
      summary.dataset.path = root.path;
      const name = document.createElement("span");
      name.textContent = root.name;
      const who = document.createElement("span");
      who.className = "muted owner-role";
      who.textContent = ` ${root.owner.username} · ${root.myRole || ""}`;
      summary.append(name, who);
      details.append(summary, renderLevel(root.folders || [], root.scripts, false));
      item.append(details);
      list.append(item);
    }
    shared.replaceChildren(list);
    shared.dataset.loaded = "true";
  } catch (err) {
    shared.replaceChildren();
    showError(err);
  }
}

async function shareFolder(event) {
  event.preventDefault();
  const form = $("#share-form");
  try {
    await api(SHARE, {
      folderId: form.dataset.folderId,
      username: $("#share-username").value.trim(),
      role: $("#share-role").value,
    });
    showMessage(`Shared ${form.dataset.folderPath} with ${$("#share-username").value.trim()}.`, "note");
    $("#share-dialog").close();
  } catch (err) {
    $("#share-error").textContent = describe(err);
  }
}

function openShareDialog(folder) {
  const form = $("#share-form");
  form.dataset.folderId = folder.id;
  form.dataset.folderPath = folder.path;
  $("#share-folder").textContent = folder.path;
  $("#share-error").textContent = "";
  $("#share-username").value = "";
  $("#share-dialog").showModal();
}

function renderLevel(folders, scripts, own = true) {
  const list = document.createElement("ul");
  for (const folder of folders) {
    const item = document.createElement("li");
    const details = document.createElement("details");
    details.open = true;
    const summary = document.createElement("summary");
    summary.textContent = folder.name;
    summary.className = "folder";
    summary.dataset.path = folder.path;
    if (own) {
      const share = document.createElement("button");
      share.type = "button";
      share.className = "share";
      share.textContent = "Share";
      share.title = `Share ${folder.path}`;
      share.addEventListener("click", (event) => {
        event.preventDefault();
        openShareDialog(folder);
      });
      summary.append(" ", share);
      decorateFolder(summary, folder);
    }
    details.append(summary, renderLevel(folder.folders || [], folder.scripts, own));
    item.append(details);
    list.append(item);
  }
  for (const script of scripts) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "script";
    button.textContent = script.name;
    button.dataset.path = script.path;
    button.dataset.id = script.id;
    if (current && current.id === script.id) button.classList.add("selected");
    button.addEventListener("click", () => openScript(script.id));
    if (own) decorateScript(button, script);
    item.append(button);
    list.append(item);
  }
  return list;
}

function fillFolderChoice(folders) {
  const select = $("#new-script-folder");
  const options = [new Option("(top)", "")];
  const walk = (level) => {
    for (const folder of level) {
      options.push(new Option(folder.path, folder.id));
      walk(folder.folders || []);
    }
  };
  walk(folders);
  select.replaceChildren(...options);
}

async function createScript(event) {
  event.preventDefault();
  const name = $("#new-script-name").value.trim();
  const folderId = $("#new-script-folder").value || null;
  const content = name.endsWith(".sh")
    ? 'echo "hello from $(basename "$0")"\n'
    : /\.m?js$/.test(name)
      ? "export function main(data) {\n  console.log('input:', data);\n  return data;\n}\n"
      : "def main(data):\n    print('input:', data)\n    return data\n";
  clearMessage();
  try {
    const data = await api(CREATE, { input: { name, folderId, content } });
    $("#new-script-name").value = "";
    $("#new-script").open = false;
    await loadTree();
    await openScript(data.createScript.id);
  } catch (err) {
    showError(err);
  }
}

// ---- One script -------------------------------------------------------------

async function openScript(id) {
  clearMessage();
  stopWatching();
  try {
    const data = await api(SCRIPT, { id });
    if (!data.script) throw new ApiError("That script no longer exists.", "NOT_FOUND");
    current = data.script;
  } catch (err) {
    showError(err);
    return;
  }
  for (const button of document.querySelectorAll("#tree button.script")) {
    button.classList.toggle("selected", button.dataset.id === current.id);
  }
  $("#no-script").hidden = true;
  $("#script-panel").hidden = false;
  $("#script-path").textContent = current.path;
  editor.load(current.content, current.language);
  $("#output").replaceChildren();
  $("#outcome").replaceChildren();
  setStatus("");
  showMeta();
  showTab("script");
  await Promise.all([loadExecutions(), loadVersions(), loadSchedules()]);
}

/** After a revert: the service saved an older content as the current version. */
function reverted(script) {
  current.content = script.content;
  current.version = script.version;
  editor.load(current.content, current.language);
  showMeta();
}

function showMeta() {
  $("#script-meta").textContent = `${current.language.toLowerCase()}, version ${current.version}`;
  $("#save-state").textContent = isDirty() ? "Unsaved changes" : "Saved";
}

const isDirty = () => current && editor.value !== current.content;

async function save() {
  if (!current) return;
  clearMessage();
  const content = editor.value;
  editor.clearErrors();
  if (content === current.content) {
    $("#save-state").textContent = "Nothing to save";
    return;
  }
  $("#save").disabled = true;
  try {
    const data = await api(UPDATE, { id: current.id, content });
    current.content = content;
    current.version = data.updateScript.version;
    showMeta();
    $("#save-state").textContent = `Saved as version ${current.version}`;
    loadVersions();
  } catch (err) {
    showError(err);
    if (err instanceof ApiError && err.code === "INVALID_SCRIPT" && err.details.line) {
      editor.markError(err.details.line, err.details.column, err.message);
    }
  } finally {
    $("#save").disabled = false;
  }
}

// ---- Running and watching -------------------------------------------------------

let watching = null; // { executionId, stop }

function stopWatching() {
  if (watching) watching.stop();
  watching = null;
  $("#cancel").hidden = true;
}

function setStatus(status, detail = "") {
  const box = $("#status");
  box.textContent = status ? `${status}${detail ? ` — ${detail}` : ""}` : "";
  box.dataset.status = status;
}

async function run() {
  if (!current) return;
  clearMessage();
  let input;
  try {
    const text = $("#input").value.trim();
    input = text ? JSON.parse(text) : null;
  } catch (err) {
    showMessage(`The input is not valid JSON: ${err.message}`);
    return;
  }
  if (isDirty()) {
    showMessage(`You have unsaved changes: this run uses the saved version ${current.version}.`, "note");
  }
  $("#run").disabled = true;
  try {
    const data = await api(RUN, { input: { scriptId: current.id, input, wait: false } });
    watch(data.runScript.id);
    loadExecutions();
  } catch (err) {
    showError(err);
  } finally {
    $("#run").disabled = false;
  }
}

/** Show an execution's output from the start (the service replays it), live until it ends. */
function watch(executionId, renewed = false) {
  stopWatching();
  const output = $("#output");
  output.replaceChildren();
  $("#outcome").replaceChildren();
  output.dataset.executionId = executionId;
  setStatus("CONNECTING");
  $("#cancel").hidden = false;
  const stop = subscribe(UPDATES, { id: executionId }, session.accessToken, {
    next(data) {
      const event = data.executionUpdates;
      if (event.stream) {
        const chunk = document.createElement("span");
        chunk.className = event.stream.toLowerCase();
        chunk.textContent = event.data;
        output.append(chunk);
        output.scrollTop = output.scrollHeight;
      }
      setStatus(event.status);
      if (event.execution) showOutcome(event.execution);
    },
    error(err) {
      if (watching && watching.stop === stop) watching = null;
      $("#cancel").hidden = true;
      setStatus("DISCONNECTED");
      if (err.code === "UNAUTHENTICATED" && !renewed) {
        renew().then((ok) => ok && watch(executionId, true));
        return;
      }
      showError(err);
    },
    complete() {
      if (watching && watching.stop === stop) watching = null;
      $("#cancel").hidden = true;
      loadExecutions();
      loadStats();
    },
  });
  watching = { executionId, stop };
}

function showOutcome(execution) {
  const parts = [];
  if (execution.error) {
    const words = OUTCOME_WORDS[execution.error.code] || execution.error.code;
    parts.push(line("error", `${words} ${execution.error.message}`));
  }
  if (execution.result !== null && execution.result !== undefined) {
    parts.push(line("result", `Result: ${JSON.stringify(execution.result, null, 2)}`));
  }
  const facts = [];
  if (execution.exitCode !== null) facts.push(`exit code ${execution.exitCode}`);
  if (execution.durationMs !== null) facts.push(`${execution.durationMs} ms`);
  if (execution.outputTruncated) facts.push("output truncated");
  if (execution.attempt > 1) facts.push(`attempt ${execution.attempt}`);
  if (execution.worker) facts.push(`on ${execution.worker}`);
  if (facts.length) parts.push(line("muted", facts.join(", ")));
  const cost = describeCost(execution.resources);
  if (cost) {
    const costLine = line("muted", `Cost: ${cost}${execution.image ? ` (image ${execution.image})` : ""}`);
    costLine.id = "cost";
    parts.push(costLine);
  }
  if (execution.artifacts && execution.artifacts.length) parts.push(artifactList(execution.artifacts, "run-files"));
  $("#outcome").replaceChildren(...parts);
  setStatus(execution.status, execution.error ? execution.error.code : "");
}

// ---- What a run cost ---------------------------------------------------------

/** Bytes in MiB, as a person reads memory sizes. */
export function formatBytes(bytes) {
  return bytes === null || bytes === undefined ? "" : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Seconds of CPU or wall time. */
export function formatSeconds(seconds) {
  return seconds === null || seconds === undefined ? "" : `${seconds.toFixed(2)} s`;
}

/** CPU user + system, or null when neither was measured. */
function cpuSeconds(resources) {
  if (!resources || (resources.cpuUserSeconds === null && resources.cpuSystemSeconds === null)) return null;
  return (resources.cpuUserSeconds || 0) + (resources.cpuSystemSeconds || 0);
}

/** "104.6 MiB peak memory, 0.52 s CPU (0.50 s user, 0.02 s system), 1.01 s wall"; only what was measured. */
export function describeCost(resources) {
  if (!resources) return "";
  const facts = [];
  if (resources.peakMemoryBytes !== null) facts.push(`${formatBytes(resources.peakMemoryBytes)} peak memory`);
  const cpu = cpuSeconds(resources);
  if (cpu !== null) {
    facts.push(
      `${formatSeconds(cpu)} CPU (${formatSeconds(resources.cpuUserSeconds || 0)} user, ` +
        `${formatSeconds(resources.cpuSystemSeconds || 0)} system)`,
    );
  }
  if (resources.wallSeconds !== null) facts.push(`${formatSeconds(resources.wallSeconds)} wall`);
  return facts.join(", ");
}

async function loadStats() {
  const body = $("#stats tbody");
  try {
    const data = await api(STATS, { days: STATS_DAYS });
    const rows = data.executionStats
      .slice()
      .reverse()
      .map((day) => {
        const row = document.createElement("tr");
        row.dataset.day = day.label;
        const cells = [
          day.label,
          String(day.runs),
          String(day.failures),
          formatSeconds(day.cpuSeconds),
          formatBytes(day.peakMemoryBytes),
        ].map((text) => {
          const cell = document.createElement("td");
          cell.textContent = text;
          return cell;
        });
        row.append(...cells);
        return row;
      });
    body.replaceChildren(...rows);
    $("#stats").dataset.loaded = "true";
  } catch (err) {
    showError(err);
  }
}

function line(className, text) {
  const element = document.createElement("pre");
  element.className = className;
  element.textContent = text;
  return element;
}

async function cancel() {
  if (!watching) return;
  try {
    await api(CANCEL, { id: watching.executionId });
  } catch (err) {
    showError(err);
  }
}

async function loadExecutions() {
  if (!current) return;
  const body = $("#executions tbody");
  try {
    const data = await api(EXECUTIONS, { scriptId: current.id });
    const rows = data.executions.map((execution) => {
      const row = document.createElement("tr");
      row.dataset.id = execution.id;
      row.dataset.status = execution.status;
      const cells = [
        new Date(execution.queuedAt).toLocaleString(),
        `v${execution.scriptVersion}`,
        execution.error ? `${execution.status} (${execution.error.code})` : execution.status,
        execution.durationMs === null ? "" : `${execution.durationMs} ms`,
        formatSeconds(cpuSeconds(execution.resources)),
        formatBytes(execution.resources ? execution.resources.peakMemoryBytes : null),
        execution.exitCode === null ? "" : String(execution.exitCode),
        String(execution.attempt),
        execution.worker || "",
      ].map((text) => {
        const cell = document.createElement("td");
        cell.textContent = text;
        return cell;
      });
      const show = document.createElement("button");
      show.type = "button";
      show.textContent = TERMINAL.has(execution.status) ? "Output" : "Watch";
      show.addEventListener("click", () => {
        clearMessage();
        watch(execution.id);
      });
      const files = element("td");
      if (execution.artifacts.length) files.append(artifactList(execution.artifacts));
      const last = document.createElement("td");
      last.append(show);
      row.append(...cells, files, last);
      return row;
    });
    if (!rows.length) {
      const row = document.createElement("tr");
      const cell = document.createElement("td");
      cell.colSpan = 11;
      cell.className = "muted";
      cell.textContent = "Not run yet.";
      row.append(cell);
      rows.push(row);
    }
    body.replaceChildren(...rows);
  } catch (err) {
    showError(err);
  }
}

/** The files a run wrote under /job/out/, each a download. */
function artifactList(artifacts, id = "") {
  const list = element("div", "", "artifacts");
  if (id) {
    list.id = id;
    list.append(element("span", "Files: ", "muted"));
  }
  for (const artifact of artifacts) list.append(downloadButton(artifact.name, artifact.size, artifact.downloadUrl));
  return list;
}

// ---- Tabs -------------------------------------------------------------------

const TAB_LOADERS = { script: () => {}, files: loadFiles, secrets: loadSecrets, activity: loadChart, services: showServices };

function showTab(name) {
  for (const tab of document.querySelectorAll("nav.tabs button")) tab.classList.toggle("selected", tab.dataset.tab === name);
  for (const panel of document.querySelectorAll(".tab-panel")) panel.hidden = panel.id !== `tab-${name}`;
  if (name !== "services") hideServices();
  TAB_LOADERS[name]();
}

// ---- Wiring -----------------------------------------------------------------

function start() {
  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    authenticate(LOGIN);
  });
  $("#register-button").addEventListener("click", () => authenticate(REGISTER));
  $("#logout").addEventListener("click", () => {
    current = null;
    $("#script-panel").hidden = true;
    $("#no-script").hidden = false;
    clearMessage();
    endSession("");
  });
  $("#reload-tree").addEventListener("click", loadTree);
  $("#share-form").addEventListener("submit", shareFolder);
  $("#share-cancel").addEventListener("click", () => $("#share-dialog").close());
  $("#new-script-form").addEventListener("submit", createScript);
  $("#save").addEventListener("click", save);
  editor = createEditor($("#editor"), { onChange: () => current && showMeta(), onSave: save });
  for (const tab of document.querySelectorAll("nav.tabs button")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  $("#reload-chart").addEventListener("click", loadChart);
  initFolders(loadTree);
  initVersions(() => current, reverted);
  initSchedules(() => current);
  initFiles();
  initSecrets();
  initServices(() => current);
  $("#run").addEventListener("click", run);
  $("#cancel").addEventListener("click", cancel);
  $("#reload-executions").addEventListener("click", loadExecutions);
  $("#reload-stats").addEventListener("click", loadStats);
  render();
}

start();
