// A script's versions: what changed between one of them and the current
// version (a line diff by the `diff` package from npm: a tested Myers diff
// beats one written here), and reverting to it, which saves its content as
// the next version.

import { diffLines } from "diff";
import { api } from "./session.js";
import { $, button, clearMessage, element, formatSize, formatTime, showError, showMessage } from "./messages.js";

const VERSIONS = `query($id: ID!) { script(id: $id) { id version versions { version size createdAt } } }`;
const CONTENT = `query($id: ID!, $version: Int!) { script(id: $id) { content(version: $version) } }`;
const REVERT = `mutation($id: ID!, $version: Int!) { revertScript(id: $id, version: $version) {
  id version content updatedAt
} }`;

let script = () => null; // the open script: { id, version, content }
let reverted = () => {};
let shown = null; // the version whose diff is shown

/** current(): the open script; onReverted(script): it has a new current version. */
export function initVersions(current, onReverted) {
  script = current;
  reverted = onReverted;
  $("#revert").addEventListener("click", revert);
}

export async function loadVersions() {
  const open = script();
  if (!open) return;
  $("#diff-view").hidden = true;
  shown = null;
  try {
    const data = await api(VERSIONS, { id: open.id });
    const rows = data.script.versions
      .slice()
      .reverse()
      .map((version) => {
        const row = element("tr");
        row.dataset.version = String(version.version);
        const isCurrent = version.version === data.script.version;
        const action = element("td");
        if (isCurrent) action.append(element("span", "current", "muted"));
        else action.append(button("Compare", () => showDiff(version.version)));
        row.append(element("td", `v${version.version}`), element("td", formatTime(version.createdAt)), element("td", formatSize(version.size)), action);
        return row;
      });
    $("#versions tbody").replaceChildren(...rows);
    $("#versions").dataset.loaded = String(data.script.version);
  } catch (err) {
    showError(err);
  }
}

/** Lines of `before` -> `after`, each marked added, removed or the same. */
export function diffRows(before, after) {
  const rows = [];
  for (const part of diffLines(before, after)) {
    const kind = part.added ? "added" : part.removed ? "removed" : "same";
    const lines = part.value.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    for (const text of lines) rows.push({ kind, text });
  }
  return rows;
}

async function showDiff(version) {
  const open = script();
  clearMessage();
  try {
    const data = await api(CONTENT, { id: open.id, version });
    const rows = diffRows(data.script.content, open.content);
    const marks = { added: "+ ", removed: "- ", same: "  " };
    $("#diff").replaceChildren(...rows.map((row) => element("span", `${marks[row.kind]}${row.text}`, row.kind)));
    const added = rows.filter((r) => r.kind === "added").length;
    const removed = rows.filter((r) => r.kind === "removed").length;
    $("#diff-title").textContent = `Version ${version} → current (v${open.version}): +${added} −${removed} lines`;
    $("#revert").textContent = `Revert to version ${version}`;
    $("#diff-view").hidden = false;
    $("#diff").dataset.version = String(version);
    $("#diff-view").scrollIntoView({ block: "nearest" });
    shown = version;
  } catch (err) {
    showError(err);
  }
}

async function revert() {
  const open = script();
  if (!open || shown === null) return;
  clearMessage();
  try {
    const data = await api(REVERT, { id: open.id, version: shown });
    showMessage(`Reverted to version ${shown}: saved as version ${data.revertScript.version}.`, "note");
    reverted(data.revertScript);
    await loadVersions();
  } catch (err) {
    showError(err);
  }
}
