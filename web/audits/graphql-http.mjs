// The GraphQL-over-HTTP spec's server audits (npm graphql-http) against one
// URL; prints one JSON line per audit: {"id", "name", "status", "reason"}.
// Usage: node web/audits/graphql-http.mjs http://127.0.0.1:8000/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: graphql-http.mjs <url of the GraphQL endpoint>');
  process.exit(2);
}

for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  console.log(
    JSON.stringify({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.status === 'ok' ? null : result.reason,
    }),
  );
}
