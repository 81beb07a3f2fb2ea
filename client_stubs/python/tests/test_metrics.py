"""The server's Prometheus metrics (--metrics_listen), read by the ecosystem's own parser while calls run.

``tools/with_stack`` starts the server with ``--metrics_listen`` on a free loopback port and exports it as
PCUSAGE_METRICS. Every scrape is parsed with ``prometheus_client.parser.text_string_to_metric_families``, so a
format mistake fails here whatever our own tests think of it. The suite runs serially, so the deltas between two
scrapes are this test's own calls.
"""

from __future__ import annotations

import os
import pathlib
import urllib.request
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import wait_until
from pcusage_client import UsageRecordsClient, error_details

LIST_METHOD = "partnercenter.usage.v1.UsageRecordsService/ListUsageRecords"
VERSION_FILE = pathlib.Path(__file__).resolve().parents[3] / "VERSION"


@dataclass(frozen=True)
class Scrape:
    """One scrape of /metrics: each family's type, and each sample's value by name and labels."""

    types: dict[str, str]
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a labelled series not yet shown (the server shows a series once used)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def series(self, name: str) -> list[tuple[dict[str, str], float]]:
        return [(dict(labels), value) for (sample, labels), value in self.samples.items() if sample == name]


@pytest.fixture(scope="session")
def metrics_address() -> str:
    address = os.environ.get("PCUSAGE_METRICS")
    if not address:
        pytest.fail("PCUSAGE_METRICS is not set: run the tests through tools/with_stack", pytrace=False)
    return address


def scrape(address: str) -> Scrape:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode("utf-8")
    types: dict[str, str] = {}
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"{key} appears twice"
            samples[key] = sample.value
    return Scrape(types, samples)


def test_the_catalog_parses_with_its_types(metrics_address: str) -> None:
    scraped = scrape(metrics_address)
    # The parser names a counter family without its _total suffix, as OpenMetrics does.
    expected = {
        "pcusage_build_info": "gauge",
        "pcusage_rpcs": "counter",
        "pcusage_active_streams": "gauge",
        "pcusage_records_streamed": "counter",
        "pcusage_messages_streamed": "counter",
        "pcusage_upstream_requests": "counter",
        "pcusage_upstream_request_duration_seconds": "histogram",
        "pcusage_upstream_retries": "counter",
        "pcusage_upstream_retry_wait_seconds": "counter",
        "pcusage_token_refreshes": "counter",
        "pcusage_snapshot_opens": "counter",
    }
    assert {name: scraped.types.get(name) for name in expected} == expected
    build = scraped.series("pcusage_build_info")
    assert len(build) == 1 and build[0][1] == 1.0, build
    assert build[0][0]["version"] == VERSION_FILE.read_text().strip()
    assert set(build[0][0]) == {"version", "commit", "build_mode"}


def test_a_stream_is_counted_while_it_runs_and_when_it_ends(
    client: UsageRecordsClient, metrics_address: str, raw_pages: list[dict[str, Any]], faults
) -> None:
    # Page 1 trickles in over 3 s, so the stream is certainly mid-way when the second scrape is taken.
    faults([{"page": 1, "fault": "slow_body", "chunk_ms": 50, "duration_ms": 3000}])
    before = scrape(metrics_address)
    records_before = before.value("pcusage_records_streamed_total")
    active_before = before.value("pcusage_active_streams", method=LIST_METHOD)

    with client.list_usage_records(timeout=60) as stream:
        responses = stream.responses()
        first = next(responses)
        assert first.usage_records
        # The first message's records are counted once gRPC has them (the scrape may just precede that).
        assert wait_until(
            lambda: scrape(metrics_address).value("pcusage_records_streamed_total") - records_before
            == len(first.usage_records)
        )
        during = scrape(metrics_address)
        assert during.value("pcusage_records_streamed_total") - records_before == len(first.usage_records)
        assert during.value("pcusage_active_streams", method=LIST_METHOD) == active_before + 1
        rest = list(responses)

    after = scrape(metrics_address)
    listed = len(first.usage_records) + sum(len(response.usage_records) for response in rest)
    assert listed == sum(len(page["items"]) for page in raw_pages)
    assert after.value("pcusage_records_streamed_total") - records_before == listed
    assert after.value("pcusage_messages_streamed_total") - before.value("pcusage_messages_streamed_total") == 1 + len(
        rest
    )
    # A call's status is counted before it is sent: the caller has it only afterwards.
    ok_delta = after.value("pcusage_rpcs_total", method=LIST_METHOD, code="OK") - before.value(
        "pcusage_rpcs_total", method=LIST_METHOD, code="OK"
    )
    assert ok_delta == 1
    assert after.value("pcusage_active_streams", method=LIST_METHOD) == active_before

    # Every page was one upstream request answered 200, each timed in the page latency histogram.
    pages = len(raw_pages)
    ok_pages = after.value("pcusage_upstream_requests_total", upstream="partner_center", status="200") - before.value(
        "pcusage_upstream_requests_total", upstream="partner_center", status="200"
    )
    assert ok_pages == pages
    histogram = "pcusage_upstream_request_duration_seconds"
    count = after.value(f"{histogram}_count", upstream="partner_center")
    assert count - before.value(f"{histogram}_count", upstream="partner_center") == pages
    assert after.value(f"{histogram}_sum", upstream="partner_center") > before.value(
        f"{histogram}_sum", upstream="partner_center"
    )
    buckets = sorted(
        (float(labels["le"]), value)
        for labels, value in after.series(f"{histogram}_bucket")
        if labels["upstream"] == "partner_center"
    )
    assert buckets[-1] == (float("inf"), count), "the +Inf bucket holds every observation"
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), f"buckets are cumulative: {buckets}"


def test_an_unauthenticated_call_is_counted_with_its_code(channel: grpc.Channel, metrics_address: str) -> None:
    before = scrape(metrics_address)
    with pytest.raises(grpc.RpcError) as failure:
        list(UsageRecordsClient(channel).list_usage_records(timeout=30))
    assert error_details(failure.value).code == grpc.StatusCode.UNAUTHENTICATED
    after = scrape(metrics_address)
    for code, delta in (("UNAUTHENTICATED", 1), ("OK", 0)):
        moved = after.value("pcusage_rpcs_total", method=LIST_METHOD, code=code) - before.value(
            "pcusage_rpcs_total", method=LIST_METHOD, code=code
        )
        assert moved == delta, code
    assert after.value("pcusage_records_streamed_total") == before.value("pcusage_records_streamed_total")


def test_a_throttled_page_counts_the_429_the_retry_and_the_retry_after_waited(
    client: UsageRecordsClient, metrics_address: str, faults
) -> None:
    faults([{"page": 0, "fault": "throttle", "retry_after": "1"}])
    before = scrape(metrics_address)
    with client.list_usage_records(timeout=60) as stream:
        assert list(stream), "the retry after Retry-After succeeds"
    after = scrape(metrics_address)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved("pcusage_upstream_requests_total", upstream="partner_center", status="429") == 1
    assert moved("pcusage_upstream_retries_total", reason="throttled") == 1
    assert moved("pcusage_upstream_retry_wait_seconds_total", reason="throttled") == 1.0
    assert moved("pcusage_rpcs_total", method=LIST_METHOD, code="OK") == 1
