// Folders of the caller's own tree: create, rename, move (from the menu, or
// by dragging a folder or a script onto a folder or the tree's top), and
// delete after a confirmation that says how much goes with it.

import { api } from "./session.js";
import { $, button, clearMessage, confirmAction, describe, showError, showMessage } from "./messages.js";

const CREATE = `mutation($name: String!, $parentId: ID) { createFolder(name: $name, parentId: $parentId) { id path } }`;
const RENAME = `mutation($id: ID!, $name: String!) { renameFolder(id: $id, name: $name) { id path } }`;
const MOVE = `mutation($id: ID!, $parentId: ID) { moveFolder(id: $id, parentId: $parentId) { id path } }`;
const MOVE_SCRIPT = `mutation($id: ID!, $folderId: ID) { moveScript(id: $id, folderId: $folderId) { id path } }`;
const DELETE = `mutation($id: ID!) { deleteFolder(id: $id) }`;

// What a drag carries: { kind: "folder" | "script", id, path }.
const DRAG_TYPE = "application/x-scriptbox-item";

let changed = async () => {};
let folders = []; // every own folder, flat: { id, path, name, folders, scripts }
let open = null; // the folder the menu is for

/** onChanged(): the tree changed; load it again. */
export function initFolders(onChanged) {
  changed = onChanged;
  $("#new-folder-form").addEventListener("submit", createFolder);
  $("#folder-rename-form").addEventListener("submit", renameFolder);
  $("#folder-move-form").addEventListener("submit", (event) => {
    event.preventDefault();
    move({ kind: "folder", id: open.id, path: open.path }, $("#folder-move-to").value || null);
  });
  $("#folder-delete").addEventListener("click", deleteFolder);
  $("#folder-close").addEventListener("click", () => $("#folder-dialog").close());
  dropZone($("#tree"), null);
}

/** The own tree's folders, for the choices of a parent. */
export function setFolders(top) {
  folders = [];
  const walk = (level) => {
    for (const folder of level) {
      folders.push(folder);
      walk(folder.folders || []);
    }
  };
  walk(top);
  $("#new-folder-parent").replaceChildren(new Option("(top)", ""), ...folders.map((f) => new Option(f.path, f.id)));
}

/** A folder's line in the own tree: its menu, dragging, and dropping onto it. */
export function decorateFolder(summary, folder) {
  const menu = button("⋯", (event) => {
    event.preventDefault();
    openMenu(folder);
  }, "folder-menu");
  menu.title = `Rename, move or delete ${folder.path}`;
  summary.append(" ", menu);
  draggable(summary, { kind: "folder", id: folder.id, path: folder.path });
  dropZone(summary, folder);
}

export function decorateScript(element, script) {
  draggable(element, { kind: "script", id: script.id, path: script.path });
}

function draggable(element, item) {
  element.draggable = true;
  element.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData(DRAG_TYPE, JSON.stringify(item));
    event.dataTransfer.effectAllowed = "move";
    event.stopPropagation();
  });
}

/** Dropping a folder or script here moves it into `folder` (null: the top). */
function dropZone(element, folder) {
  element.addEventListener("dragover", (event) => {
    if (!event.dataTransfer.types.includes(DRAG_TYPE)) return;
    event.preventDefault();
    event.stopPropagation();
    element.classList.add("drop-target");
  });
  element.addEventListener("dragleave", () => element.classList.remove("drop-target"));
  element.addEventListener("drop", (event) => {
    element.classList.remove("drop-target");
    const data = event.dataTransfer.getData(DRAG_TYPE);
    if (!data) return;
    event.preventDefault();
    event.stopPropagation();
    move(JSON.parse(data), folder ? folder.id : null);
  });
}

async function move(item, parentId) {
  clearMessage();
  const target = parentId ? folders.find((f) => f.id === parentId) : null;
  if (item.kind === "folder" && target && (target.path === item.path || target.path.startsWith(`${item.path}/`))) {
    showMessage(`${item.path} cannot move into itself.`);
    return;
  }
  try {
    const data =
      item.kind === "folder"
        ? (await api(MOVE, { id: item.id, parentId })).moveFolder
        : (await api(MOVE_SCRIPT, { id: item.id, folderId: parentId })).moveScript;
    $("#folder-dialog").close();
    showMessage(`Moved ${item.path} to ${data.path}.`, "note");
    await changed();
  } catch (err) {
    if ($("#folder-dialog").open) $("#folder-error").textContent = describe(err);
    else showError(err);
  }
}

function openMenu(folder) {
  open = folder;
  $("#folder-dialog-path").textContent = folder.path;
  $("#folder-new-name").value = folder.name;
  $("#folder-error").textContent = "";
  // Not into itself or anything below it.
  const choices = folders.filter((f) => f.path !== folder.path && !f.path.startsWith(`${folder.path}/`));
  $("#folder-move-to").replaceChildren(new Option("(top)", ""), ...choices.map((f) => new Option(f.path, f.id)));
  $("#folder-dialog").showModal();
}

async function createFolder(event) {
  event.preventDefault();
  clearMessage();
  try {
    const data = await api(CREATE, { name: $("#new-folder-name").value.trim(), parentId: $("#new-folder-parent").value || null });
    $("#new-folder-name").value = "";
    showMessage(`Created ${data.createFolder.path}.`, "note");
    await changed();
  } catch (err) {
    showError(err);
  }
}

async function renameFolder(event) {
  event.preventDefault();
  try {
    const data = await api(RENAME, { id: open.id, name: $("#folder-new-name").value.trim() });
    $("#folder-dialog").close();
    showMessage(`Renamed ${open.path} to ${data.renameFolder.path}.`, "note");
    await changed();
  } catch (err) {
    $("#folder-error").textContent = describe(err);
  }
}

/** Scripts and folders below a folder, to say what a delete takes with it. */
function contents(folder) {
  let scripts = folder.scripts.length;
  let subfolders = 0;
  for (const sub of folder.folders || []) {
    const inner = contents(sub);
    scripts += inner.scripts;
    subfolders += 1 + inner.subfolders;
  }
  return { scripts, subfolders };
}

async function deleteFolder() {
  const folder = open;
  const { scripts, subfolders } = contents(folder);
  $("#folder-dialog").close();
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const confirmed = await confirmAction(
    `Delete ${folder.path} and everything inside it (${plural(scripts, "script")}, ${plural(subfolders, "folder")})? This cannot be undone.`,
  );
  if (!confirmed) return;
  try {
    await api(DELETE, { id: folder.id });
    showMessage(`Deleted ${folder.path}.`, "note");
    await changed();
  } catch (err) {
    showError(err);
  }
}
