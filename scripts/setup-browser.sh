#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests/graphql_api/web): Debian's `chromium`
# package, installed only when /usr/bin/chromium is missing. Idempotent; a
# no-op in milliseconds when it is already there. Prints the browser's path.
set -euo pipefail

CHROMIUM=${SCRIPTBOX_CHROMIUM:-/usr/bin/chromium}

if [[ ! -x "$CHROMIUM" ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup-browser: $CHROMIUM is missing; run as root to install it (apt)" >&2
        exit 1
    fi
    echo "setup-browser: installing Debian's chromium (apt)" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Serialise with other apt users (docker-up.sh installs docker.io).
    apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
    apt_get update -qq
    apt_get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

echo "$CHROMIUM"
