#!/usr/bin/env bash
# Runs every test of tgcollector: the Rust workspace (unit, integration, and the end-to-end tests
# against telesim and RabbitMQ) and, through them, the Python cross-checks against Telethon and
# `cryptography`. It first makes sure what those tests talk to is there, installing what is
# missing, so it works the same on a fresh machine, a developer's, and CI:
#   - a Python venv in .venv with tests/py/requirements.txt (Telethon, cryptography);
#   - RabbitMQ listening on 127.0.0.1:5672 (started if installed, installed if absent).
# Extra arguments go to `cargo test` (e.g. `./test.sh -p tgc-model`).
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '[test.sh] %s\n' "$*" >&2; }

ensure_venv() {
  local req=tests/py/requirements.txt stamp=.venv/.requirements.sha256 want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  say "preparing the Python venv (.venv) from $req"
  command -v python3 >/dev/null || { say "python3 is missing"; exit 1; }
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_rabbitmq() {
  port_open 5672 && return
  if ! command -v rabbitmq-server >/dev/null; then
    say "installing RabbitMQ (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq rabbitmq-server >/dev/null
  fi
  say "starting RabbitMQ"
  rabbitmq-server -detached || true
  for _ in $(seq 1 120); do
    port_open 5672 && { say "RabbitMQ is up on 127.0.0.1:5672"; return; }
    sleep 1
  done
  say "RabbitMQ did not come up on 127.0.0.1:5672 within 120 s"; exit 1
}

ensure_venv
ensure_rabbitmq
export TGC_TEST_PYTHON="$PWD/.venv/bin/python"
cargo test --workspace "$@"
