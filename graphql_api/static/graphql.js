// GraphQL over HTTP (fetch) and over WebSocket (the graphql-transport-ws
// protocol, written out here so the page needs no build step and no CDN).

/** A GraphQL error, or a failure to reach the service, in words. */
export class ApiError extends Error {
  constructor(message, code = null, details = {}) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.details = details;
  }
}

function fromGraphQLErrors(errors) {
  const first = errors[0] || {};
  const extensions = first.extensions || {};
  return new ApiError(first.message || "The service refused the request.", extensions.code || null, extensions);
}

/** POST a query; resolves to `data`, rejects with ApiError. */
export async function request(query, variables = {}, token = null) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return post({ method: "POST", headers, body: JSON.stringify({ query, variables }) });
}

/**
 * POST a GraphQL multipart request (github.com/jaydenseric/graphql-multipart-request-spec)
 * with one file as `variables.file`. The Authorization header it carries is
 * also what lets the service tell it from a cross-site form post.
 */
export async function sendUpload(query, variables, file, token) {
  const form = new FormData();
  form.append("operations", JSON.stringify({ query, variables: { ...variables, file: null } }));
  form.append("map", JSON.stringify({ 0: ["variables.file"] }));
  form.append("0", file, file.name);
  return post({ method: "POST", headers: { Accept: "application/json", Authorization: `Bearer ${token}` }, body: form });
}

async function post(init) {
  let response;
  try {
    response = await fetch("/graphql", init);
  } catch (err) {
    throw new ApiError(`Cannot reach the service (${err.message}).`, "NETWORK_ERROR");
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The service answered HTTP ${response.status} without a GraphQL response.`, "BAD_RESPONSE");
  }
  if (body.errors && body.errors.length) throw fromGraphQLErrors(body.errors);
  if (!response.ok || !body.data) throw new ApiError(`The service answered HTTP ${response.status}.`, "BAD_RESPONSE");
  return body.data;
}

// Close codes of graphql-transport-ws, in words.
const CLOSE_REASONS = {
  4400: "The service could not understand a message.",
  4401: "The connection was not initialised.",
  4403: "The service refused the connection: log in again.",
  4406: "The service does not speak graphql-transport-ws.",
  4408: "The service did not acknowledge the connection in time.",
  4409: "A subscription with this id is already running.",
  4429: "Too many connection attempts.",
  1006: "The connection to the service was lost.",
  1011: "The service had an internal error.",
};

export function closeReason(code, reason) {
  return CLOSE_REASONS[code] || `The connection closed (code ${code}${reason ? `: ${reason}` : ""}).`;
}

/**
 * Run one subscription on its own WebSocket.
 * handlers: { next(data), error(ApiError), complete() }; exactly one of
 * error/complete is called, once. Returns a function that stops it.
 */
export function subscribe(query, variables, token, handlers) {
  const url = new URL("/graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url.toString(), "graphql-transport-ws");
  const id = "1";
  let finished = false;

  const finish = (err) => {
    if (finished) return;
    finished = true;
    if (err) handlers.error(err);
    else handlers.complete();
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000, "Normal Closure");
  };
  const send = (message) => ws.send(JSON.stringify(message));

  ws.addEventListener("open", () => {
    send({ type: "connection_init", payload: token ? { authorization: `Bearer ${token}` } : {} });
  });
  ws.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      finish(new ApiError("The service sent a message that is not JSON.", "BAD_RESPONSE"));
      return;
    }
    switch (message.type) {
      case "connection_ack":
        send({ id, type: "subscribe", payload: { query, variables } });
        break;
      case "ping":
        send({ type: "pong" });
        break;
      case "pong":
        break;
      case "next":
        if (message.id !== id || finished) break;
        if (message.payload.errors && message.payload.errors.length) {
          finish(fromGraphQLErrors(message.payload.errors));
        } else {
          handlers.next(message.payload.data);
        }
        break;
      case "error":
        if (message.id === id) finish(fromGraphQLErrors(message.payload || []));
        break;
      case "complete":
        if (message.id === id) finish(null);
        break;
      default:
        finish(new ApiError(`The service sent an unknown message (${message.type}).`, "BAD_RESPONSE"));
    }
  });
  ws.addEventListener("close", (event) => {
    finish(new ApiError(closeReason(event.code, event.reason), event.code === 4403 ? "UNAUTHENTICATED" : "CONNECTION_CLOSED", { closeCode: event.code }));
  });

  return () => {
    if (finished) return;
    finished = true;
    if (ws.readyState === WebSocket.OPEN) {
      send({ id, type: "complete" });
      ws.close(1000, "Normal Closure");
    } else {
      ws.close();
    }
  };
}
