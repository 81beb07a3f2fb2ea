#!/usr/bin/env bash
# pcusage_cli watch against a real pcusage_server and the Partner Center emulator: the level and its end as JSON lines,
# a crossing after an edit of the emulator's data set, SIGINT and SIGTERM ending a watch with exit 0, the table
# format, a closed stdout (exit 0), and exit statuses 1 (the server refuses the watch, the deadline passes) and 2
# (usage errors). Every wait is bounded.
set -euo pipefail
source "${TEST_SRCDIR}/pcusage/tests/integration/stack.sh"
cli="${runfiles}/client_stubs/cpp/pcusage_cli"
export PCUSAGE_ACCESS_TOKEN=emulator-token

# 6 generated customers in one page (a walk is one request, so an edit never lands mid-walk): at or above 80 and 100
# are c0 (120.5682999999995904716), c3 (1234567890.12...) and c4 (602.84); c2 is at 42.
start_stack --dataset=generated --customers=6 --page_size=100
c2=3c6ef362-c0de-4002-8000-000000000002
c4=78dde6c4-c0de-4004-8000-000000000004
# $server keeps the default --min_watch_poll_interval (5m); a second server in front of the same emulator lets a
# watch poll every second.
emulator="127.0.0.1:$(cat "${work}/emulator.port")"
"${runfiles}/server/pcusage_server" --listen=127.0.0.1:0 --port_file="${work}/watch_server.port" \
  --partner_center_url="http://${emulator}" --min_watch_poll_interval=500ms 2>"${work}/watch_server.log" &
pids+=($!)
watch_server="127.0.0.1:$(wait_for_port "${work}/watch_server.port")"

# wait_for_line FILE REGEX: waits up to 30 s for a line of FILE matching the extended REGEX.
wait_for_line() {
  for _ in $(seq 300); do
    grep -qE "$2" "$1" && return 0
    sleep 0.1
  done
  fail "no line matching '$2' in $1: $(cat "$1")"
}

# end_and_check PID SIGNAL: sends SIGNAL and fails unless the process exits 0 within 10 s.
end_and_check() {
  kill "-$2" "$1"
  for _ in $(seq 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$1" 2>/dev/null && fail "pcusage_cli watch did not end on SIG$2"
  local status=0
  wait "$1" || status=$?
  [[ ${status} -eq 0 ]] || fail "SIG$2 should end a watch with 0, got ${status}"
}

# JSON lines: the level (3 customers at 80 and 100), its end, then a crossing up when c2 goes from 42 to 85.
"${cli}" watch --server="${watch_server}" --format=jsonl --poll_interval=1s >"${work}/watch.jsonl" \
  2>"${work}/watch.err" &
watcher=$!
pids+=("${watcher}")
wait_for_line "${work}/watch.jsonl" '^\{"initialStateComplete":\{"matchingCustomers":"6"\},"snapshotTime":"'
[[ $(wc -l <"${work}/watch.jsonl") -eq 7 && $(head -6 "${work}/watch.jsonl" | grep -c '"kind":"KIND_LEVEL"') -eq 6 ]] ||
  fail "expected 6 level events, then the end of the level: $(cat "${work}/watch.jsonl")"
head -1 "${work}/watch.jsonl" | grep -q '^{"budgetEvent":{"kind":"KIND_LEVEL","threshold":{"value":"80"},"record":{"id":"00000000-c0de-4000-8000-000000000000",.*"percentUsed":{"value":"120.5682999999995904716"}' ||
  fail "first level event: $(head -1 "${work}/watch.jsonl")"
curl --silent --show-error --fail --max-time 10 --data "[{\"resource_id\": \"${c2}\", \"percent_used\": \"85\"}]" \
  "http://${emulator}/emulator/dataset" >/dev/null || fail "editing the emulator's data set"
wait_for_line "${work}/watch.jsonl" "^\{\"budgetEvent\":\{\"kind\":\"KIND_CROSSED_UP\",\"threshold\":\{\"value\":\"80\"\},\"record\":\{\"id\":\"${c2}\",.*\"percentUsed\":\{\"value\":\"85\"\}.*\"previousPercentUsed\":\{\"value\":\"42\"\}"
end_and_check "${watcher}" INT
[[ ! -s ${work}/watch.err ]] || fail "a watch ended by SIGINT should print nothing on stderr: $(cat "${work}/watch.err")"

# The table: a line per event, thresholds as given (1E+3 is reached by c3 only, 600 by c3 and c4), ended by SIGTERM.
"${cli}" watch --server="${watch_server}" --thresholds=1E+3,600 --poll_interval=1s >"${work}/watch.table" \
  2>"${work}/watch.err" &
watcher=$!
pids+=("${watcher}")
wait_for_line "${work}/watch.table" '^[0-9T:-]+Z  COMPLETE      initial state complete, 6 matching customers$'
grep -qE "^[0-9T:-]+Z  LEVEL         600%  ${c4}  used 602\.84%  snapshot [0-9T:.-]+Z  " "${work}/watch.table" ||
  fail "table line of c4: $(cat "${work}/watch.table")"
[[ $(grep -c ' LEVEL ' "${work}/watch.table") -eq 3 && $(grep -c ' 1E+3%  ' "${work}/watch.table") -eq 1 ]] ||
  fail "expected 3 level lines, one at 1E+3: $(cat "${work}/watch.table")"
end_and_check "${watcher}" TERM

# A reader that goes away ends the watch at once, with 0, though no further event is coming.
set +e
timeout 30 "${cli}" watch --server="${watch_server}" --format=jsonl | head -1 >"${work}/first.jsonl"
status=${PIPESTATUS[0]}
set -e
[[ ${status} -eq 0 && $(wc -l <"${work}/first.jsonl") -eq 1 ]] || fail "watch | head -1 should exit 0, got ${status}"

# Ended by the server: a poll interval below its minimum, and the --timeout given.
set +e
timeout 30 "${cli}" watch --server="${server}" --poll_interval=1s >/dev/null 2>"${work}/err"
status=$?
set -e
[[ ${status} -eq 1 ]] || fail "a refused watch should exit 1, got ${status}"
grep -q '^pcusage_cli: INVALID_ARGUMENT: poll_interval must be a duration of at least 5m' "${work}/err" ||
  fail "$(cat "${work}/err")"
grep -q '^pcusage_cli: reason ' "${work}/err" || fail "no reason: $(cat "${work}/err")"
set +e
timeout 30 "${cli}" watch --server="${watch_server}" --timeout=2s >/dev/null 2>"${work}/err"
status=$?
set -e
[[ ${status} -eq 1 ]] && grep -q '^pcusage_cli: DEADLINE_EXCEEDED' "${work}/err" ||
  fail "a watch past its --timeout should exit 1 with DEADLINE_EXCEEDED, got ${status}: $(cat "${work}/err")"

for usage_error in "watch --thresholds=80%" "watch --thresholds=80,,100" "watch --thresholds=1E+1234567890123456789" "watch --format=csv" "watch --page_size=10" \
  "watch --min_percent_used=80" "watch --poll_interval=-1s" "list --thresholds=80" "list --poll_interval=5m"; do
  set +e
  # shellcheck disable=SC2086 # split on purpose
  timeout 30 "${cli}" ${usage_error} --server="${watch_server}" >/dev/null 2>"${work}/err"
  status=$?
  set -e
  [[ ${status} -eq 2 ]] || fail "'${usage_error}' should exit 2, got ${status}: $(cat "${work}/err")"
done
grep -q '^pcusage_cli: --poll_interval does not apply to list$' "${work}/err" || fail "$(cat "${work}/err")"

echo "PASS"
