#!/usr/bin/env bash
# Installs the Python side of Scriptbox into .venv, pinned by requirements.lock.
# Idempotent: does nothing when the lock file has not changed since last time.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=.venv/.scriptbox-installed
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi

python=${PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv with pip" >&2
  "$python" -m pip install --quiet uv
fi
if [[ ! -x .venv/bin/python ]]; then
  uv venv --quiet --python "$python" .venv
fi
uv pip sync --quiet --python .venv/bin/python requirements.lock
# compat mode: a .pth that puts the repo on sys.path, so packages added
# later are importable without reinstalling.
uv pip install --quiet --python .venv/bin/python --no-deps \
  --config-settings editable_mode=compat -e .
echo "$want" > "$stamp"
echo "bootstrap: Python environment ready in .venv" >&2
