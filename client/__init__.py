"""The `scriptbox` command-line client: it speaks to a Scriptbox service over
GraphQL (HTTP and graphql-transport-ws) exactly as any other client would, and
imports nothing of the server's packages (a contract in pyproject.toml), so it
could ship on its own."""
