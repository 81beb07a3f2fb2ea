#!/usr/bin/env bash
# pcusage_cli against a real pcusage_server and the Partner Center emulator: both output formats, the summary,
# error reporting and exit statuses (0 all delivered, 1 call failed, 2 usage error).
set -euo pipefail
source "${TEST_SRCDIR}/pcusage/tests/integration/stack.sh"
cli="${runfiles}/client_stubs/cpp/pcusage_cli"
start_stack --dataset=seed
export PCUSAGE_ACCESS_TOKEN=emulator-token

"${cli}" list --server="${server}" --format=jsonl --page_size=3 >"${work}/out.jsonl" 2>"${work}/err" ||
  fail "jsonl list failed: $(cat "${work}/err")"
[[ $(wc -l <"${work}/out.jsonl") -eq 4 ]] || fail "expected 4 JSON lines: $(cat "${work}/out.jsonl")"
grep -q '"totalCost":{"value":"120.5682999999995904716"}' "${work}/out.jsonl" || fail "exact decimal missing"
grep -q '^4 records in 2 messages; Partner Center totalCount 25; MS-CorrelationId ' "${work}/err" ||
  fail "unexpected summary: $(cat "${work}/err")"

"${cli}" list --server="${server}" >"${work}/out.table" 2>"${work}/err" || fail "table list failed"
head -1 "${work}/out.table" | grep -q '^CUSTOMER  *TENANT  *CURRENCY  *TOTAL COST' || fail "table header"
grep -q '^Modern Azure Customer SE .* SEK .*120\.5682999999995904716' "${work}/out.table" || fail "table row"

# Filters: the seed sample holds a legacy customer (no currency code), one in SEK at 602.84 % of a budget, and two in
# GBP, one without a budget amount.
"${cli}" list --server="${server}" --format=jsonl --currency_codes=gbp,EUR >"${work}/out.jsonl" 2>"${work}/err" ||
  fail "currency filter failed: $(cat "${work}/err")"
[[ $(grep -c '"currencyCode":"GBP"' "${work}/out.jsonl") -eq 2 && $(wc -l <"${work}/out.jsonl") -eq 2 ]] ||
  fail "expected the 2 GBP records: $(cat "${work}/out.jsonl")"
"${cli}" list --server="${server}" --format=jsonl --min_percent_used=602.84 --only_with_budget \
  >"${work}/out.jsonl" 2>"${work}/err" || fail "percent filter failed: $(cat "${work}/err")"
[[ $(wc -l <"${work}/out.jsonl") -eq 1 ]] && grep -q '"resourceId":"b1b1b1b1-' "${work}/out.jsonl" ||
  fail "expected the SEK record alone: $(cat "${work}/out.jsonl")"
"${cli}" list --server="${server}" --format=jsonl --min_percent_used=602.84000000000000000001 \
  >"${work}/out.jsonl" 2>"${work}/err" || fail "percent filter failed: $(cat "${work}/err")"
[[ $(wc -l <"${work}/out.jsonl") -eq 0 ]] || fail "602.84 is below 602.84000000000000000001: $(cat "${work}/out.jsonl")"
"${cli}" list --server="${server}" --format=jsonl --customer_ids=D3D3D3D3-EEEE-FFFF-AAAA-B4B4B4B4B4B4 \
  >"${work}/out.jsonl" 2>"${work}/err" || fail "customer filter failed: $(cat "${work}/err")"
[[ $(wc -l <"${work}/out.jsonl") -eq 1 ]] && grep -q '"resourceId":"d3d3d3d3-' "${work}/out.jsonl" ||
  fail "expected the one customer: $(cat "${work}/out.jsonl")"
# --min_percent_used is checked before any call, by the server's own parser (server/common/exact_decimal.h), so a
# value the server would refuse is a usage error (2) even with no server to ask: text that is not a decimal, and an
# exponent of more than 18 digits; one the server takes (1E+2, "-0.5", ".5") goes to it.
for minimum in "80%" "eighty" "80,100" "." "1E" "1E+1234567890123456789"; do
  set +e
  "${cli}" list --server=127.0.0.1:1 --timeout=5s --min_percent_used="${minimum}" >/dev/null 2>"${work}/err"
  status=$?
  set -e
  [[ ${status} -eq 2 ]] || fail "--min_percent_used=${minimum} should exit 2, got ${status}: $(cat "${work}/err")"
  grep -q '^pcusage_cli: --min_percent_used must be a decimal number such as 80 or 99.5: ' "${work}/err" ||
    fail "$(cat "${work}/err")"
done
for minimum in "1E+2" "-0.5" ".5"; do
  "${cli}" list --server="${server}" --format=jsonl --min_percent_used="${minimum}" >/dev/null 2>"${work}/err" ||
    fail "--min_percent_used=${minimum} was refused: $(cat "${work}/err")"
done

set +e
PCUSAGE_ACCESS_TOKEN=wrong "${cli}" list --server="${server}" >/dev/null 2>"${work}/err"
status=$?
set -e
[[ ${status} -eq 1 ]] || fail "a rejected token should exit 1, got ${status}"
grep -q '^pcusage_cli: UNAUTHENTICATED: Partner Center answered HTTP 401' "${work}/err" || fail "$(cat "${work}/err")"
grep -q '^pcusage_cli: reason PARTNER_CENTER_UNAUTHENTICATED$' "${work}/err" || fail "no reason: $(cat "${work}/err")"
if grep -q wrong "${work}/err"; then fail "the token was printed"; fi

for usage_error in "bogus" "list --format=xml" "list --page_size=-1" "list --no_such_flag=1" \
  "list --access_token_file=/nonexistent"; do
  set +e
  # shellcheck disable=SC2086 # split on purpose
  "${cli}" ${usage_error} --server="${server}" >/dev/null 2>&1
  status=$?
  set -e
  [[ ${status} -eq 2 ]] || fail "'${usage_error}' should exit 2, got ${status}"
done

set +e
"${cli}" list --server=127.0.0.1:1 --timeout=5s >/dev/null 2>"${work}/err"
status=$?
set -e
[[ ${status} -eq 1 ]] || fail "an unreachable server should exit 1, got ${status}"
grep -q '^pcusage_cli: UNAVAILABLE' "${work}/err" || fail "$(cat "${work}/err")"

echo "PASS"
