#!/usr/bin/env bash
# startup.sh: runs tgcollector's processes as daemons, and the demo.
#
#   ./startup.sh demo          build, start telesim with its demo world, import its accounts, list them
#   ./startup.sh stop          stop every daemon this script started (clean stop, then escalate)
#   ./startup.sh status        which daemons run, with their pids
#   ./startup.sh logs [NAME]   follow a daemon's log (default: telesim)
#
# Each daemon has a pid file and a log file under $TGC_RUN_DIR (default ./run). `stop` sends
# SIGTERM, waits up to $TGC_STOP_TIMEOUT seconds (default 30) for a clean exit, and only then
# sends SIGKILL. The gateway's own `serve` daemon (start/restart) joins this script with the HTTP
# gateway; until then the demo runs the simulated datacenter and the account tooling.
set -euo pipefail
cd "$(dirname "$0")"

RUN_DIR=${TGC_RUN_DIR:-run}
STOP_TIMEOUT=${TGC_STOP_TIMEOUT:-30}
DEMO_DIR=$RUN_DIR/demo
TELESIM_PORT=${TGC_DEMO_TELESIM_PORT:-24443}
CONTROL_PORT=${TGC_DEMO_CONTROL_PORT:-24444}
BIN=target/debug

say() { printf '[startup] %s\n' "$*" >&2; }

pid_of() {
  local file=$RUN_DIR/$1.pid pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# start_daemon NAME COMMAND...: detached, in its own session, output to RUN_DIR/NAME.log.
start_daemon() {
  local name=$1; shift
  if pid=$(pid_of "$name"); then
    say "$name already runs (pid $pid)"; return 0
  fi
  mkdir -p "$RUN_DIR"
  : >"$RUN_DIR/$name.log"
  setsid "$@" >>"$RUN_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
  say "$name started (pid $!), log: $RUN_DIR/$name.log"
}

stop_daemon() {
  local name=$1 pid
  if ! pid=$(pid_of "$name"); then
    rm -f "$RUN_DIR/$name.pid"; return 0
  fi
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$RUN_DIR/$name.pid"; say "$name stopped"; return 0; }
    sleep 0.1
  done
  say "$name did not exit within ${STOP_TIMEOUT}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$RUN_DIR/$name.pid"
}

# wait_for_log NAME PATTERN SECONDS: until the daemon's log shows PATTERN, or fail if it died.
wait_for_log() {
  local name=$1 pattern=$2 seconds=$3
  for _ in $(seq 1 $((seconds * 10))); do
    grep -q "$pattern" "$RUN_DIR/$name.log" 2>/dev/null && return 0
    pid_of "$name" >/dev/null || { say "$name exited:"; tail -n 20 "$RUN_DIR/$name.log" >&2; return 1; }
    sleep 0.1
  done
  say "$name did not report '$pattern' within ${seconds}s"; return 1
}

demo() {
  say "building tgcollector and telesim (a clean debug build takes about 2 minutes)"
  cargo build --quiet -p tgcollector -p telesim --bins
  stop_daemon telesim
  rm -rf "$DEMO_DIR"
  mkdir -p "$DEMO_DIR"
  start_daemon telesim "$BIN/telesim" serve --world demo --port "$TELESIM_PORT" \
    --control-port "$CONTROL_PORT" --sessions-out "$DEMO_DIR/telesim-sessions"
  wait_for_log telesim "listening" 30
  export TGC_SESSIONS_DIR=$PWD/$DEMO_DIR/sessions TGC_DATA_DIR=$PWD/$DEMO_DIR/data
  say "importing the demo accounts into $TGC_SESSIONS_DIR"
  for file in "$DEMO_DIR"/telesim-sessions/*.session; do
    "$BIN/tgcollector" accounts import --telethon-file "$file" >/dev/null
  done
  "$BIN/tgcollector" accounts list
  cat <<TXT

telesim serves the demo world on 127.0.0.1:$TELESIM_PORT (control: 127.0.0.1:$CONTROL_PORT,
JSON lines; see tests/telesim/src/control.rs). The accounts above are its demo accounts,
imported from Telethon-layout session files exactly as an existing collector's would be.
Stop it with: ./startup.sh stop
TXT
}

case "${1:-}" in
  demo) demo ;;
  stop) stop_daemon telesim ;;
  status)
    for name in telesim; do
      if pid=$(pid_of "$name"); then echo "$name: running (pid $pid)"; else echo "$name: stopped"; fi
    done ;;
  logs) exec tail -n 50 -F "$RUN_DIR/${2:-telesim}.log" ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
