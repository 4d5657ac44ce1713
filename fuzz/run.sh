#!/usr/bin/env bash
# Fuzzes what tgcollector reads from outside, with cargo fuzz (libFuzzer, nightly):
#   fuzz/run.sh [SECONDS]     each target for SECONDS (default 60), then one line per target:
#                             executions, corpus size and crashes
# Targets: envelope (any bytes as a sealed request), request_plaintext (any bytes as an
# authentic request's plaintext), params_and_chats (chat forms and method params),
# properties (config.properties text), session_file (any bytes as a session file),
# message_parser (any bytes as Telegram's TL messages, parsed into the schema).
# The corpus in fuzz/corpus/<target> is committed and grows with each run; a crash is saved
# under fuzz/artifacts/<target>/ and must become a regression test before it is fixed.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
failed=0
for target in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$target" "artifacts/$target"
  log=$(mktemp)
  if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    failed=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  crashes=$(find "artifacts/$target" -type f | wc -l)
  corpus=$(find "corpus/$target" -type f | wc -l)
  echo "$target: $execs executions in ${seconds}s, corpus $corpus, crashes $crashes"
  [ "$crashes" -eq 0 ] || tail -n 30 "$log"
  rm -f "$log"
done
exit "$failed"
