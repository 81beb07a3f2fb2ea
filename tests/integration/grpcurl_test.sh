#!/usr/bin/env bash
# grpcurl against a real pcusage_server and the Partner Center emulator, as the README shows it: reflection
# (list, describe), the health service, and a streaming ListUsageRecords call with a deadline and metadata.
set -euo pipefail

source "${TEST_SRCDIR}/pcusage/tests/integration/stack.sh"
grpcurl="${TEST_SRCDIR}/grpcurl/grpcurl"
start_stack --dataset=seed

services="$("${grpcurl}" -plaintext -max-time 10 "${server}" list)" || fail "grpcurl list"
grep -qx "partnercenter.usage.v1.UsageRecordsService" <<<"${services}" || fail "service not listed: ${services}"
grep -qx "grpc.health.v1.Health" <<<"${services}" || fail "health not listed: ${services}"

description="$("${grpcurl}" -plaintext -max-time 10 "${server}" describe partnercenter.usage.v1.UsageRecordsService)" ||
  fail "grpcurl describe"
grep -q "rpc ListUsageRecords ( .partnercenter.usage.v1.ListUsageRecordsRequest ) returns ( stream .partnercenter.usage.v1.ListUsageRecordsResponse )" \
  <<<"${description}" || fail "unexpected description: ${description}"
"${grpcurl}" -plaintext -max-time 10 "${server}" describe partnercenter.usage.v1.CustomerMonthlyUsageRecord |
  grep -q "google.type.Decimal total_cost = 9;" || fail "describe CustomerMonthlyUsageRecord"

# The health service is described through reflection, like the API: no .proto file needed.
"${grpcurl}" -plaintext -max-time 10 "${server}" describe grpc.health.v1.Health |
  grep -q "rpc Check ( .grpc.health.v1.HealthCheckRequest ) returns ( .grpc.health.v1.HealthCheckResponse )" ||
  fail "describe grpc.health.v1.Health"
health="$("${grpcurl}" -plaintext -max-time 10 -d '{"service": "partnercenter.usage.v1.UsageRecordsService"}' \
  "${server}" grpc.health.v1.Health/Check)" || fail "health check"
grep -q '"status": "SERVING"' <<<"${health}" || fail "not serving: ${health}"

records="$("${grpcurl}" -plaintext -max-time 10 -H 'authorization: Bearer emulator-token' \
  -H 'x-ms-correlation-id: aaaa0000-bb11-2222-33cc-444444dddddd' \
  -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' -v -d '{"page_size": 2}' \
  "${server}" partnercenter.usage.v1.UsageRecordsService/ListUsageRecords)" || fail "ListUsageRecords: ${records}"
grep -q '"value": "120.5682999999995904716"' <<<"${records}" || fail "exact decimal missing: ${records}"
grep -q '"partner_center_total_count": "25"' <<<"${records}" || fail "total count missing: ${records}"
grep -qi 'x-ms-correlation-id: aaaa0000-bb11-2222-33cc-444444dddddd' <<<"${records}" || fail "correlation id"
[[ $(grep -c '"resource_id"' <<<"${records}") -eq 4 ]] || fail "expected 4 records: ${records}"
[[ $(grep -c '"usage_records"' <<<"${records}") -eq 2 ]] || fail "expected 2 messages of 2: ${records}"
# The call's summary event names its correlation id and the caller's W3C trace id.
grep 'ListUsageRecords finished' "${work}/server.log" | grep 'correlation_id=aaaa0000-bb11-2222-33cc-444444dddddd' |
  grep -q 'trace_id=4bf92f3577b34da6a3ce929d0e0e4736' || fail "no summary with correlation_id and trace_id"

set +e
denied="$("${grpcurl}" -plaintext -max-time 10 -H 'authorization: Bearer wrong' -d '{}' \
  "${server}" partnercenter.usage.v1.UsageRecordsService/ListUsageRecords 2>&1)"
status=$?
set -e
[[ ${status} -ne 0 ]] || fail "a wrong token succeeded"
grep -q "Code: Unauthenticated" <<<"${denied}" || fail "expected Unauthenticated: ${denied}"

echo "PASS"
