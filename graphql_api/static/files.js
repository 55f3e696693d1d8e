// The caller's files (upload, list, download, delete) and the files a run
// wrote (its artifacts). Downloads from this service carry the user's
// token, so they are fetched and handed to the browser as a blob; a
// presigned S3 URL needs no token and is opened as it is.

import { api, apiUpload, authorizedGet } from "./session.js";
import { $, button, clearMessage, confirmAction, element, formatSize, formatTime, showError, showMessage } from "./messages.js";

const FILES = `query { files { key size contentType createdAt downloadUrl } }`;
const UPLOAD = `mutation($file: Upload!, $prefix: String, $replace: Boolean!) {
  uploadFile(file: $file, prefix: $prefix, replace: $replace) { key size }
}`;
const DELETE = `mutation($key: String!) { deleteFile(key: $key) }`;

export function initFiles() {
  $("#upload-form").addEventListener("submit", upload);
}

/** Save what `url` serves as `name` on the user's machine. */
export async function download(url, name) {
  const target = new URL(url, window.location.href);
  const link = document.createElement("a");
  link.download = name;
  if (target.origin !== window.location.origin) {
    link.href = target.href;
    link.rel = "noopener";
    link.click();
    return;
  }
  const response = await authorizedGet(target.href);
  const href = URL.createObjectURL(await response.blob());
  link.href = href;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has started the download by now; the blob can go later.
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

/** A "name (size)" download button for a file or an artifact. */
export function downloadButton(name, size, url, label = name) {
  const control = button(`${label} (${formatSize(size)})`, async () => {
    clearMessage();
    try {
      await download(url, name.split("/").pop());
    } catch (err) {
      showError(err);
    }
  }, "link download");
  control.dataset.name = name;
  return control;
}

export async function loadFiles() {
  try {
    const data = await api(FILES);
    const rows = data.files.map((file) => {
      const row = element("tr");
      row.dataset.key = file.key;
      const actions = element("td");
      actions.append(
        downloadButton(file.key, file.size, file.downloadUrl, "Download"),
        button("Delete", () => deleteFile(file.key), "link delete"),
      );
      row.append(element("td", file.key), element("td", formatSize(file.size)), element("td", file.contentType), element("td", formatTime(file.createdAt)), actions);
      return row;
    });
    if (!rows.length) {
      const row = element("tr");
      const cell = element("td", "No files yet.", "muted");
      cell.colSpan = 5;
      row.append(cell);
      rows.push(row);
    }
    $("#files tbody").replaceChildren(...rows);
    $("#files").dataset.loaded = "true";
  } catch (err) {
    showError(err);
  }
}

async function upload(event) {
  event.preventDefault();
  clearMessage();
  const file = $("#upload-file").files[0];
  if (!file) return;
  try {
    const data = await apiUpload(UPLOAD, { prefix: $("#upload-prefix").value.trim() || null, replace: $("#upload-replace").checked }, file);
    showMessage(`Uploaded ${data.uploadFile.key} (${formatSize(data.uploadFile.size)}).`, "note");
    $("#upload-form").reset();
    await loadFiles();
  } catch (err) {
    showError(err);
  }
}

async function deleteFile(key) {
  if (!(await confirmAction(`Delete the file ${key}?`))) return;
  clearMessage();
  try {
    await api(DELETE, { key });
    await loadFiles();
  } catch (err) {
    showError(err);
  }
}
