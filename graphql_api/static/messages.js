// Errors and notes in words, in the message box at the top of the page.

import { ApiError } from "./graphql.js";

export const $ = (selector) => document.querySelector(selector);

const CODE_WORDS = {
  UNAUTHENTICATED: "You are not logged in, or your session has ended.",
  FORBIDDEN: "Your role does not allow that.",
  NOT_FOUND: "It does not exist (any more).",
  BAD_USER_INPUT: "The request was not valid.",
  ALREADY_EXISTS: "Something with that name already exists.",
  SCRIPT_EXISTS_REPLACE_REQUIRED: "A script with that name already exists.",
  INVALID_SCRIPT: "The script has a syntax error.",
  PAYLOAD_TOO_LARGE: "That is too large.",
  RATE_LIMITED: "Too many attempts; wait a little.",
  CONFLICT: "Someone changed it at the same time; reload and try again.",
  SERVICE_UNAVAILABLE: "The service is not available right now.",
  INTERNAL_SERVER_ERROR: "The service had an internal error.",
  NETWORK_ERROR: "The service cannot be reached.",
};

export function describe(err) {
  if (!(err instanceof ApiError)) return `Something went wrong: ${err && err.message ? err.message : err}`;
  const lead = CODE_WORDS[err.code];
  let text = lead && lead !== err.message ? `${lead} ${err.message}` : err.message;
  if (err.details && err.details.line && !text.includes(`line ${err.details.line}`)) text += ` (line ${err.details.line})`;
  if (err.details && err.details.retryAfterSeconds) text += ` Try again in ${err.details.retryAfterSeconds} s.`;
  if (err.details && err.details.requestId) text += ` (request ${err.details.requestId})`;
  return text;
}

export function showMessage(text, kind = "error") {
  const box = $("#message");
  box.textContent = text;
  box.className = kind;
  box.hidden = !text;
}
export const showError = (err) => showMessage(describe(err), "error");
export const clearMessage = () => showMessage("");

/** Ask before something that cannot be undone; resolves to true when confirmed. */
export function confirmAction(text, action = "Delete") {
  const dialog = $("#confirm-dialog");
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = action;
  dialog.showModal();
  return new Promise((resolve) => {
    const answer = (ok) => () => {
      $("#confirm-ok").onclick = $("#confirm-cancel").onclick = dialog.onclose = null;
      dialog.close();
      resolve(ok);
    };
    $("#confirm-ok").onclick = answer(true);
    $("#confirm-cancel").onclick = dialog.onclose = answer(false); // Escape closes it too
  });
}

/** A table cell, a button, ...: an element with its text (never HTML). */
export function element(tag, text = "", className = "") {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (className) node.className = className;
  return node;
}

export function button(text, onClick, className = "link") {
  const node = element("button", text, className);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

/** Bytes as a person reads sizes. */
export function formatSize(bytes) {
  if (bytes === null || bytes === undefined) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 2 ** 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** A time from the service, in the reader's time zone. */
export const formatTime = (iso) => (iso ? new Date(iso).toLocaleString() : "");
