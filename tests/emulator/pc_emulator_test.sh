#!/usr/bin/env bash
# Runs pc_emulator as a supervisor would: --port_file, the start-up line, a few
# requests with curl, a fault script from --faults and /emulator/faults, a clean
# exit on SIGTERM, and exit status 2 for bad flags.
set -euo pipefail

emulator="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

for bad in --dataset=other --customers=-1 --page_size=0 '--faults=not json' \
  '--faults=[{"page": 0, "fault": "teapot"}]'; do
  status=0
  "${emulator}" "${bad}" 2>"${tmp}/bad.err" || status=$?
  [[ ${status} -eq 2 ]] || fail "${bad} exited ${status}, want 2"
  grep -q "^pc_emulator: " "${tmp}/bad.err" || fail "${bad} printed no error"
done
grep -q 'unknown fault "teapot"' "${tmp}/bad.err" || fail "--faults error: $(cat "${tmp}/bad.err")"

port_file="${tmp}/port"
"${emulator}" --dataset=generated --customers=5 --page_size=2 \
  --faults='[{"page": 0, "fault": "throttle", "retry_after": "1"}]' \
  --port_file="${port_file}" 2>"${tmp}/stderr" &
pid=$!
trap 'kill "${pid}" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [[ -s ${port_file} ]] && break
  sleep 0.05
done
port="$(cat "${port_file}" 2>/dev/null || true)"
[[ ${port} =~ ^[0-9]+$ ]] || fail "port file holds '${port}'"
grep -qx "pc_emulator: serving generated on http://127.0.0.1:${port}" \
  "${tmp}/stderr" || fail "start-up line: $(cat "${tmp}/stderr")"

url="http://127.0.0.1:${port}"
[[ $(curl -s "${url}/healthz") == ok ]] || fail "healthz"
auth='Authorization: Bearer emulator-token'
code="$(curl -s -D "${tmp}/throttled" -o /dev/null -w '%{http_code}' -H "${auth}" \
  "${url}/v1/customers/usagerecords")"
[[ ${code} == 429 ]] || fail "the --faults throttle answered ${code}"
grep -qi '^Retry-After: 1' "${tmp}/throttled" || fail "no Retry-After: $(cat "${tmp}/throttled")"
code="$(curl -s -o "${tmp}/page0" -w '%{http_code}' -H "${auth}" "${url}/v1/customers/usagerecords")"
[[ ${code} == 200 ]] || fail "usagerecords answered ${code}"
grep -q '"MS-ContinuationToken"' "${tmp}/page0" || fail "page 0 has no next link"
code="$(curl -s -o /dev/null -w '%{http_code}' "${url}/v1/customers/usagerecords")"
[[ ${code} == 401 ]] || fail "no token answered ${code}"

code="$(curl -s -o "${tmp}/set" -w '%{http_code}' -X POST \
  --data '[{"page": 0, "fault": "http_status", "status": 503}]' "${url}/emulator/faults")"
[[ ${code} == 200 ]] || fail "POST /emulator/faults answered ${code}: $(cat "${tmp}/set")"
code="$(curl -s -o /dev/null -w '%{http_code}' -H "${auth}" "${url}/v1/customers/usagerecords")"
[[ ${code} == 503 ]] || fail "the posted fault answered ${code}"
code="$(curl -s -o "${tmp}/invalid" -w '%{http_code}' -X POST --data '[{"page": 0}]' \
  "${url}/emulator/faults")"
[[ ${code} == 400 ]] || fail "an invalid script answered ${code}"
grep -q '"fault" is required' "${tmp}/invalid" || fail "invalid script: $(cat "${tmp}/invalid")"
curl -s -o /dev/null -X POST --data '[{"page": 0, "times": -1, "fault": "html"}]' "${url}/emulator/faults"
code="$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${url}/emulator/faults")"
[[ ${code} == 200 ]] || fail "DELETE /emulator/faults answered ${code}"
content_type="$(curl -s -o /dev/null -w '%{content_type}' -H "${auth}" "${url}/v1/customers/usagerecords")"
[[ ${content_type} == application/json* ]] || fail "faults not cleared: ${content_type}"
curl -s "${url}/emulator/requests" | grep -q '"fault":"throttle"' || fail "the log does not name the fault"

kill -TERM "${pid}"
status=0
wait "${pid}" || status=$?
[[ ${status} -eq 0 ]] || fail "exited ${status} on SIGTERM, want 0"

if ((failures)); then
  echo "${failures} failed" >&2
  exit 1
fi
echo "pc_emulator_test: all checks passed"
