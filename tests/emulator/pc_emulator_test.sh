#!/usr/bin/env bash
# Runs pc_emulator as a supervisor would: --port_file, the start-up line, a few
# requests with curl, a fault script from --faults and /emulator/faults, a clean
# exit on SIGTERM, and exit status 2 for bad flags; then over HTTPS with a test
# PKI from make_test_pki, with the token endpoint, its faults and token expiry.
set -euo pipefail

emulator="$1"
make_test_pki="$2"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

for bad in --dataset=other --customers=-1 --page_size=0 '--faults=not json' \
  '--faults=[{"route": "token", "fault": "throttle"}]' --tls_cert_file=/dev/null \
  '--faults=[{"page": 0, "fault": "teapot"}]'; do
  status=0
  "${emulator}" "${bad}" 2>"${tmp}/bad.err" || status=$?
  [[ ${status} -eq 2 ]] || fail "${bad} exited ${status}, want 2"
  grep -q "^pc_emulator: " "${tmp}/bad.err" || fail "${bad} printed no error"
done
grep -q 'unknown fault "teapot"' "${tmp}/bad.err" || fail "--faults error: $(cat "${tmp}/bad.err")"
status=0
"${emulator}" --refresh_token=rt --token_lifetime=500ms 2>"${tmp}/bad.err" || status=$?
if [[ ${status} -ne 2 ]] || ! grep -q "token_lifetime must be at least 1s" "${tmp}/bad.err"; then
  fail "--token_lifetime=500ms exited ${status}: $(cat "${tmp}/bad.err")"
fi

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

# HTTPS with the token endpoint: a confidential client, 2 s tokens, and one failed token request first.
"${make_test_pki}" "${tmp}/pki" >/dev/null || fail "make_test_pki"
rm -f "${port_file}"
"${emulator}" --tls_cert_file="${tmp}/pki/server.pem" --tls_key_file="${tmp}/pki/server.key" \
  --refresh_token=rt-initial-5d2e --client_secret=secret-9b1c --token_lifetime=2s \
  --faults='[{"route": "token", "fault": "http_status", "status": 503}]' \
  --port_file="${port_file}" 2>"${tmp}/stderr" &
pid=$!
for _ in $(seq 100); do
  [[ -s ${port_file} ]] && break
  sleep 0.05
done
port="$(cat "${port_file}" 2>/dev/null || true)"
grep -qx "pc_emulator: serving seed on https://127.0.0.1:${port}" \
  "${tmp}/stderr" || fail "HTTPS start-up line: $(cat "${tmp}/stderr")"

url="https://127.0.0.1:${port}"
tls=(--cacert "${tmp}/pki/ca.pem")
[[ $(curl -s "${tls[@]}" "${url}/healthz") == ok ]] || fail "healthz over HTTPS"
status=0
curl -s --cacert "${tmp}/pki/other-ca.pem" "${url}/healthz" >/dev/null || status=$?
[[ ${status} -eq 60 ]] || fail "a client trusting another CA: curl exited ${status}, want 60"

grant() {
  curl -s "${tls[@]}" -o "${tmp}/token" -w '%{http_code}' -d grant_type=refresh_token \
    -d client_id=pcusage-test-client -d client_secret=secret-9b1c -d "refresh_token=$1" \
    -d resource=https://api.partnercenter.microsoft.com "${url}/contoso.onmicrosoft.com/oauth2/token"
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "${tmp}/token"; }
code="$(grant rt-initial-5d2e)"
[[ ${code} == 503 ]] || fail "the token fault answered ${code}"
code="$(grant rt-initial-5d2e)"
[[ ${code} == 200 ]] || fail "the token grant answered ${code}: $(cat "${tmp}/token")"
access_token="$(field access_token)"
refresh_token="$(field refresh_token)"
[[ $(field expires_in) == 2 ]] || fail "expires_in: $(cat "${tmp}/token")"
[[ -n ${access_token} && -n ${refresh_token} && ${refresh_token} != rt-initial-5d2e ]] ||
  fail "token response: $(cat "${tmp}/token")"
code="$(grant rt-initial-5d2e)"
if [[ ${code} != 400 ]] || ! grep -q '"error":"invalid_grant"' "${tmp}/token"; then
  fail "a used refresh token answered ${code}: $(cat "${tmp}/token")"
fi
curl -s "${tls[@]}" "${url}/emulator/tokens" >"${tmp}/tokens"
grep -q "\"current_refresh_token\":\"${refresh_token}\"" "${tmp}/tokens" || fail "tokens: $(cat "${tmp}/tokens")"
grep -q '"token_requests":3' "${tmp}/tokens" || fail "tokens: $(cat "${tmp}/tokens")"

usage() {
  curl -s "${tls[@]}" -o "${tmp}/usage" -w '%{http_code}' -H "Authorization: Bearer ${access_token}" \
    "${url}/v1/customers/usagerecords"
}
code="$(usage)"
[[ ${code} == 200 ]] || fail "the issued token answered ${code}"
for _ in $(seq 100); do
  code="$(usage)"
  [[ ${code} == 200 ]] || break
  sleep 0.1
done
if [[ ${code} != 401 ]] || ! grep -q 'The access token has expired' "${tmp}/usage"; then
  fail "after its lifetime the issued token answered ${code}: $(cat "${tmp}/usage")"
fi

curl -s "${tls[@]}" "${url}/emulator/requests" >"${tmp}/requests"
grep -q '"path":"/contoso.onmicrosoft.com/oauth2/token"' "${tmp}/requests" || fail "token requests not logged"
for secret in rt-initial-5d2e secret-9b1c "${refresh_token}"; do
  if grep -qF -- "${secret}" "${tmp}/requests" "${tmp}/stderr"; then fail "${secret} was logged"; fi
done

kill -TERM "${pid}"
status=0
wait "${pid}" || status=$?
[[ ${status} -eq 0 ]] || fail "the HTTPS emulator exited ${status} on SIGTERM, want 0"

if ((failures)); then
  echo "${failures} failed" >&2
  exit 1
fi
echo "pc_emulator_test: all checks passed"
