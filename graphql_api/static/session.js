// The logged-in user's tokens and every request made with them: renews the
// access token once when it has expired, and ends the session when it can't.

import { ApiError, request, sendUpload } from "./graphql.js";

const SESSION_KEY = "scriptbox.session";
const AUTH_FIELDS = "accessToken refreshToken user { username isAdmin }";
const REFRESH = `mutation($t: String!) { refreshToken(refreshToken: $t) { ${AUTH_FIELDS} } }`;

export let session = loadSession();
const endListeners = [];

function loadSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

export function saveSession(auth) {
  session = { accessToken: auth.accessToken, refreshToken: auth.refreshToken, username: auth.user.username };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

/** listener(text): the session ended (text says why, or is empty on logout). */
export function onSessionEnd(listener) {
  endListeners.push(listener);
}

export function endSession(text) {
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
  for (const listener of endListeners) listener(text);
}

export async function renew() {
  if (!session || !session.refreshToken) return false;
  try {
    const data = await request(REFRESH, { t: session.refreshToken });
    saveSession(data.refreshToken);
    return true;
  } catch {
    endSession("Your session has ended; log in again.");
    return false;
  }
}

async function withRenewal(attempt) {
  if (!session) throw new ApiError("Log in first.", "UNAUTHENTICATED");
  try {
    return await attempt(session.accessToken);
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "UNAUTHENTICATED" || !(await renew())) throw err;
    return attempt(session.accessToken);
  }
}

/** A GraphQL request as the logged-in user. */
export const api = (query, variables = {}) => withRenewal((token) => request(query, variables, token));

/** A GraphQL multipart request (one file in `variables.file`) as the logged-in user. */
export const apiUpload = (query, variables, file) => withRenewal((token) => sendUpload(query, variables, file, token));

/** A GET of this service's own URL (a download) with the user's token. */
export const authorizedGet = (url) =>
  withRenewal(async (token) => {
    let response;
    try {
      response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    } catch (err) {
      throw new ApiError(`Cannot reach the service (${err.message}).`, "NETWORK_ERROR");
    }
    if (response.ok) return response;
    let first = {};
    try {
      first = (await response.json()).errors[0];
    } catch {
      // not the GraphQL shape: the status says enough
    }
    const extensions = first.extensions || {};
    throw new ApiError(first.message || `The service answered HTTP ${response.status}.`, extensions.code || null, extensions);
  });
