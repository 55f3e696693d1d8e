// Follow one execution's output live with graphql-ws, the reference client
// of the graphql-transport-ws protocol. Prints one JSON line per event.
//   node web/examples/watch-execution.mjs http://127.0.0.1:8000 "$TOKEN" <executionId>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [base, token, executionId] = process.argv.slice(2);
const client = createClient({
  url: `${base.replace(/^http/, "ws")}/graphql`,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
  retryAttempts: 0,
  on: { closed: (event) => console.error(`closed ${event.code} ${event.reason}`) },
});

const query = `subscription($id: ID!) { executionUpdates(executionId: $id) {
  seq status stream data execution { status result error { code message } } } }`;
try {
  for await (const event of client.iterate({ query, variables: { id: executionId } })) {
    if (event.errors) throw new Error(JSON.stringify(event.errors));
    console.log(JSON.stringify(event.data.executionUpdates));
  }
} catch (err) {
  // A missing or bad token: the socket closes with code 4403 (Forbidden).
  console.error(`failed: ${err.code ?? ""} ${err.reason ?? err.message}`);
  process.exitCode = 1;
} finally {
  await client.dispose();
}
