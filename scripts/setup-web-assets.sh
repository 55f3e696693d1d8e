#!/usr/bin/env bash
# Browser assets: npm packages of web/ (GraphiQL and what it loads, Swagger
# UI for the REST API page, CodeMirror and diff for the web page, the
# graphql-ws reference client for the tests and examples), and the copies of
# their files that the service serves instead of a CDN, with the page's
# import map (graphql_api/static/vendor/, gitignored).
#
# Idempotent and fast when done: `npm ci` runs only when web/node_modules is
# missing or was installed from another package.json / package-lock.json;
# the copy step compares files and rewrites only what changed.
#
# Environment (optional): PYTHON (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup-web-assets: %s\n' "$*" >&2; }

PYTHON=${PYTHON:-.venv/bin/python}
STAMP=web/node_modules/.scriptbox-installed

# One at a time: `npm ci` removes node_modules before it installs.
exec 9>"/tmp/scriptbox-web-assets-$(pwd | sha256sum | cut -c1-12).lock"
flock 9

if ! command -v npm >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || { log "npm is missing; install Node.js 20 and npm"; exit 1; }
    log "installing Debian's nodejs and npm (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

want=$(cat web/package.json web/package-lock.json | sha256sum | cut -c1-64)
if [[ ! -f $STAMP || "$(cat "$STAMP")" != "$want" ]]; then
    log "npm ci in web/"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$STAMP"
fi

"$PYTHON" -m graphql_api.web vendor web/node_modules
