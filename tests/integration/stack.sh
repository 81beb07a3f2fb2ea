# Sourced by the shell integration tests: starts pc_emulator and pcusage_server on free loopback ports and stops
# them when the test exits. After start_stack, $server is the server's host:port and $work a scratch directory.

runfiles="${TEST_SRCDIR}/pcusage"
work="$(mktemp -d "${TEST_TMPDIR}/stack.XXXXXX")"
pids=()

stop_stack() {
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "${pid}" 2>/dev/null || true; done
}
trap stop_stack EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- server log" >&2
  cat "${work}/server.log" >&2 || true
  exit 1
}

# Prints the port a process wrote to file $1, waiting up to 30 s.
wait_for_port() {
  for _ in $(seq 300); do
    [[ -s $1 ]] && { cat "$1"; return 0; }
    sleep 0.1
  done
  fail "no port in $1"
}

# start_stack [pc_emulator flags...]: the emulator (token "emulator-token") and a server passing callers' tokens.
start_stack() {
  "${runfiles}/tests/emulator/pc_emulator" --port=0 --port_file="${work}/emulator.port" \
    --access_token=emulator-token "$@" 2>"${work}/emulator.log" &
  pids+=($!)
  local emulator_port
  emulator_port="$(wait_for_port "${work}/emulator.port")"
  "${runfiles}/server/pcusage_server" --listen=127.0.0.1:0 --port_file="${work}/server.port" \
    --partner_center_url="http://127.0.0.1:${emulator_port}" 2>"${work}/server.log" &
  pids+=($!)
  server="127.0.0.1:$(wait_for_port "${work}/server.port")"
}
