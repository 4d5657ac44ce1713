#!/usr/bin/env bash
# startup.sh: runs tgcollector's gateway as a daemon, and the demo.
#
#   ./startup.sh demo             on a fresh machine: build, start telesim with its demo world,
#                                 import its accounts, make a demo key, start the gateway, and
#                                 run a few sealed queries against it
#   ./startup.sh start            start the gateway (`tgcollector serve`, a release build, made
#                                 first when missing or older than the sources) with $TGC_CONFIG
#                                 (default config.properties); waits until it listens, or says
#                                 why it did not start
#   ./startup.sh stop [NAME]      stop the gateway and telesim (or only NAME): SIGTERM, wait for
#                                 a clean exit, and only then SIGKILL
#   ./startup.sh restart          stop, then start the gateway again (with the configuration it
#                                 was last started with, unless $TGC_CONFIG is set)
#   ./startup.sh status           which daemons run, with their pids
#   ./startup.sh logs [NAME]      follow a daemon's log (default: gateway)
#
# Each daemon has a pid file and a log file under $TGC_RUN_DIR (default ./run); logs are
# appended to, never truncated (rotate them with logrotate's copytruncate). `stop` sends
# SIGTERM (the gateway then stops accepting, finishes the requests in flight, saves the live
# stream's state and exits 0), waits up to $TGC_STOP_TIMEOUT seconds (default 60: longer
# than the default server.request_timeout of 30 s, plus the stream's last save) for the exit,
# and only then sends SIGKILL. The demo runs debug builds; start and restart run release.
set -euo pipefail
cd "$(dirname "$0")"

RUN_DIR=${TGC_RUN_DIR:-run}
STOP_TIMEOUT=${TGC_STOP_TIMEOUT:-60}
DEMO_DIR=$RUN_DIR/demo
TELESIM_PORT=${TGC_DEMO_TELESIM_PORT:-24443}
CONTROL_PORT=${TGC_DEMO_CONTROL_PORT:-24444}
DEMO_API=${TGC_DEMO_API:-127.0.0.1:28080}
DEMO_OPERATOR=${TGC_DEMO_OPERATOR:-127.0.0.1:29090}
BIN=target/debug
RELEASE_BIN=target/release

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
  # Appended, never truncated: an earlier run's last lines are what explains its end.
  printf '=== %s: starting %s ===\n' "$(date -u +%FT%TZ)" "$*" >>"$RUN_DIR/$name.log"
  LOG_START=$(stat -c %s "$RUN_DIR/$name.log")
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
    pid_of "$name" >/dev/null || {
      say "$name exited at start; its log says:"
      tail -c +$((${LOG_START:-0} + 1)) "$RUN_DIR/$name.log" | tail -n 20 >&2
      return 1
    }
    sleep 0.1
  done
  say "$name did not report '$pattern' within ${seconds}s"; return 1
}

# ensure_release: target/release/tgcollector, built when missing or older than any source.
ensure_release() {
  local binary=$RELEASE_BIN/tgcollector
  if [ -x "$binary" ] && [ -z "$(find src service model common Cargo.toml Cargo.lock \
      -newer "$binary" \( -name '*.rs' -o -name '*.toml' -o -name '*.lock' -o -name '*.json' \) \
      -print -quit)" ]; then
    return 0
  fi
  say "building the release binary (from clean, several minutes)"
  cargo build --release --quiet -p tgcollector || { say "the release build failed"; return 1; }
}

# start_gateway CONFIG [BIN]: `tgcollector serve` as the `gateway` daemon, up when it listens.
# BIN defaults to the release build. The configuration and BIN are remembered, so `restart`
# brings back the same gateway (e.g. the demo's).
start_gateway() {
  local config=$1 bin=${2:-$RELEASE_BIN}
  mkdir -p "$RUN_DIR"
  echo "$config" >"$RUN_DIR/gateway.config"
  echo "$bin" >"$RUN_DIR/gateway.bin"
  if [ "$bin" = "$RELEASE_BIN" ]; then ensure_release; fi
  [ -x "$bin/tgcollector" ] || { say "no $bin/tgcollector: build it first (cargo build)"; return 1; }
  [ -f "$config" ] || { say "no configuration file $config (set TGC_CONFIG)"; return 1; }
  "$bin/tgcollector" --config "$config" config check >/dev/null 2>&1 \
    || { say "the configuration $config is not valid:"; "$bin/tgcollector" --config "$config" config check >&2 || true; return 1; }
  start_daemon gateway "$bin/tgcollector" --config "$config" serve
  wait_for_log gateway "listening" 60
}

demo() {
  # The workspace's binaries, with the workspace's features: the same artifacts ./test.sh
  # builds, so after it only the crates whose features the tests' dev-dependencies widen
  # are compiled again. Cargo's own progress shows what it is doing.
  say "building tgcollector and telesim (after ./test.sh, seconds; from clean, about 3 minutes)"
  cargo build --workspace --bins
  stop_daemon gateway
  stop_daemon telesim
  rm -rf "$DEMO_DIR"
  mkdir -p "$DEMO_DIR"
  start_daemon telesim "$BIN/telesim" serve --world demo --port "$TELESIM_PORT" \
    --control-port "$CONTROL_PORT" --sessions-out "$DEMO_DIR/telesim-sessions"
  # telesim writes the session files after it listens and before its control port opens.
  wait_for_log telesim "control listening" 30

  # Live messages go to RabbitMQ when one answers on 127.0.0.1:5672; the demo runs without.
  local rabbitmq=false
  if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then rabbitmq=true; fi
  say "RabbitMQ on 127.0.0.1:5672: rabbitmq.enabled = $rabbitmq"

  # A configuration of its own, with a fresh key: run/ is never committed.
  local key config=$DEMO_DIR/demo.properties
  key=$("$BIN/tgcollector" keygen 2>/dev/null | sed -n 's/^crypto\.keys = //p')
  [ -n "$key" ] || { say "tgcollector keygen printed no key"; return 1; }
  cat >"$config" <<PROPS
# The demo's configuration, written by ./startup.sh demo (paths are relative to this file).
telegram.api_id = 2040
telegram.api_hash = b18441a1ff607e10a989891a5462e627
sessions.dir = sessions
data.dir = data
server.listen = $DEMO_API
server.operator_listen = $DEMO_OPERATOR
crypto.keys = $key
log.level = info
rabbitmq.enabled = $rabbitmq
rabbitmq.exchange = tgc.demo
media.storage = local
media.storage.local.dir = data/media
PROPS
  chmod 600 "$config"

  say "importing the demo accounts into $DEMO_DIR/sessions"
  # Each account is checked with (simulated) Telegram as it is imported.
  "$BIN/tgcollector" --config "$config" accounts import --telethon-dir "$DEMO_DIR/telesim-sessions"
  "$BIN/tgcollector" --config "$config" accounts list

  start_gateway "$config" "$BIN"
  local query=("$BIN/tgcollector" --config "$config" query)
  run() {
    printf '\n$ tgcollector query %s' "$1"; [ $# -lt 2 ] || printf " '%s'" "$2"; printf '\n'
    "${query[@]}" "$@"
  }
  run resolve '{"params": {"chat": "@telesim_news"}}'
  run history '{"params": {"chat": "https://t.me/tech_digest", "limit": 2}}'
  run search '{"params": {"chat": "telesim_news", "query": "launch", "limit": 1}}'
  run accounts
  printf '\n$ tgcollector query history %s   (20 messages; their media is queued)\n' \
    "'{\"params\": {\"chat\": \"@telesim_news\", \"limit\": 20}}'"
  "${query[@]}" history '{"params": {"chat": "@telesim_news", "limit": 20}}' >/dev/null
  sleep 2
  run media '{"params": {"media_id": 9301}}'
  printf '\n$ ls %s\n' "$DEMO_DIR/data/media"
  ls -l "$DEMO_DIR/data/media"
  if command -v curl >/dev/null; then
    printf '\n$ curl -s http://%s/readyz\n' "$DEMO_OPERATOR"
    curl -s "http://$DEMO_OPERATOR/readyz"
  fi
  cat <<TXT

The gateway serves the sealed API on $DEMO_API (operator endpoints: http://$DEMO_OPERATOR
/healthz, /readyz, /metrics), in front of telesim's demo world on 127.0.0.1:$TELESIM_PORT.
Query it yourself:
  $BIN/tgcollector --config $config query history '{"params": {"chat": "@telesim_news"}}'
Logs: ./startup.sh logs gateway      Stop everything: ./startup.sh stop
TXT
}

case "${1:-}" in
  demo) demo ;;
  start) start_gateway "${TGC_CONFIG:-config.properties}" ;;
  stop)
    if [ -n "${2:-}" ]; then stop_daemon "$2"; else stop_daemon gateway; stop_daemon telesim; fi ;;
  restart)
    stop_daemon gateway
    start_gateway "${TGC_CONFIG:-$(cat "$RUN_DIR/gateway.config" 2>/dev/null || echo config.properties)}" \
      "$(cat "$RUN_DIR/gateway.bin" 2>/dev/null || echo "$RELEASE_BIN")" ;;
  status)
    for name in gateway telesim; do
      if pid=$(pid_of "$name"); then echo "$name: running (pid $pid)"; else echo "$name: stopped"; fi
    done ;;
  logs) exec tail -n 50 -F "$RUN_DIR/${2:-gateway}.log" ;;
  *) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
