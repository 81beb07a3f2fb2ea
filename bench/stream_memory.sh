#!/usr/bin/env bash
# Streams generated data sets of growing size through pcusage_server and reports, per size: wall time, records per
# second, and the server's peak resident memory (VmHWM). The claim it checks: memory stays bounded by one Partner
# Center page, whatever the number of records. Writes a Markdown table to stdout (docs/benchmarks.md quotes it).
#
#   bench/stream_memory.sh [SIZES...]     default sizes: 1000 10000 50000
#
# Needs the binaries: bazel build //server:pcusage_server //tests/emulator:pc_emulator //client_stubs/cpp:pcusage_cli
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${repo_root}/bazel-bin"
sizes=("$@")
((${#sizes[@]})) || sizes=(1000 10000 50000)
readonly partner_center_page_size=100

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "${pid}" 2>/dev/null || true; done
  rm -rf "${work}"
}
trap cleanup EXIT

wait_for_port() {
  for _ in $(seq 600); do
    [[ -s $1 ]] && { cat "$1"; return 0; }
    sleep 0.1
  done
  echo "no port in $1" >&2
  return 1
}

echo "| records | Partner Center pages | wall time (s) | records/s | server peak RSS (MiB) |"
echo "|---:|---:|---:|---:|---:|"
for size in "${sizes[@]}"; do
  rm -f "${work}"/*.port
  "${bin}/tests/emulator/pc_emulator" --port=0 --port_file="${work}/emulator.port" --dataset=generated \
    "--customers=${size}" "--page_size=${partner_center_page_size}" 2>/dev/null &
  emulator_pid=$!
  pids+=("${emulator_pid}")
  emulator_port="$(wait_for_port "${work}/emulator.port")"
  # Sharing off: this measures what one stream holds, not what a held snapshot of the whole list takes.
  "${bin}/server/pcusage_server" --listen=127.0.0.1:0 --port_file="${work}/server.port" \
    --partner_center_url="http://127.0.0.1:${emulator_port}" --snapshot_max_staleness=0 2>/dev/null &
  server_pid=$!
  pids+=("${server_pid}")
  server_port="$(wait_for_port "${work}/server.port")"

  start=$(date +%s.%N)
  PCUSAGE_ACCESS_TOKEN=emulator-token "${bin}/client_stubs/cpp/pcusage_cli" list --server="127.0.0.1:${server_port}" \
    --format=jsonl --page_size=1000 --timeout=10m >"${work}/out.jsonl" 2>"${work}/cli.err"
  end=$(date +%s.%N)
  records=$(wc -l <"${work}/out.jsonl")
  [[ ${records} -eq ${size} ]] || { echo "expected ${size} records, got ${records}" >&2; exit 1; }
  peak_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/${server_pid}/status")
  awk -v n="${size}" -v p="${partner_center_page_size}" -v s="${start}" -v e="${end}" -v k="${peak_kib}" \
    'BEGIN {t = e - s; printf "| %d | %d | %.2f | %.0f | %.1f |\n", n, (n + p - 1) / p, t, n / t, k / 1024}'

  kill "${server_pid}" "${emulator_pid}"
  wait "${server_pid}" "${emulator_pid}" 2>/dev/null || true
  pids=()
done
