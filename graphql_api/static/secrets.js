// Secret names: set (create or replace) and delete. A value goes to the
// service once and is never asked for or shown again; the field is
// emptied as soon as it is sent.

import { api } from "./session.js";
import { $, button, clearMessage, confirmAction, element, formatTime, showError, showMessage } from "./messages.js";

const SECRETS = `query { secrets { name updatedAt } }`;
const SET = `mutation($name: String!, $value: String!) { setSecret(name: $name, value: $value) { name } }`;
const DELETE = `mutation($name: String!) { deleteSecret(name: $name) }`;

export function initSecrets() {
  $("#secret-form").addEventListener("submit", setSecret);
}

export async function loadSecrets() {
  try {
    const data = await api(SECRETS);
    const rows = data.secrets.map((secret) => {
      const row = element("tr");
      row.dataset.name = secret.name;
      const actions = element("td");
      actions.append(button("Delete", () => deleteSecret(secret.name), "link delete"));
      row.append(element("td", secret.name), element("td", formatTime(secret.updatedAt)), actions);
      return row;
    });
    if (!rows.length) {
      const row = element("tr");
      const cell = element("td", "No secrets yet.", "muted");
      cell.colSpan = 3;
      row.append(cell);
      rows.push(row);
    }
    $("#secrets tbody").replaceChildren(...rows);
    $("#secrets").dataset.loaded = "true";
  } catch (err) {
    showError(err);
  }
}

async function setSecret(event) {
  event.preventDefault();
  clearMessage();
  const name = $("#secret-name").value.trim();
  const value = $("#secret-value").value;
  $("#secret-value").value = "";
  try {
    await api(SET, { name, value });
    $("#secret-name").value = "";
    showMessage(`Secret ${name} set.`, "note");
    await loadSecrets();
  } catch (err) {
    showError(err);
  }
}

async function deleteSecret(name) {
  if (!(await confirmAction(`Delete the secret ${name}? Scripts that use it stop receiving it.`))) return;
  clearMessage();
  try {
    await api(DELETE, { name });
    await loadSecrets();
  } catch (err) {
    showError(err);
  }
}
