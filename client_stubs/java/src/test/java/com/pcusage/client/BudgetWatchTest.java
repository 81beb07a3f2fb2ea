package com.pcusage.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.type.Decimal;
import com.pcusage.partnercenter.usage.v1.BudgetEvent;
import com.pcusage.partnercenter.usage.v1.CustomerMonthlyUsageRecord;
import com.pcusage.partnercenter.usage.v1.InitialStateComplete;
import com.pcusage.partnercenter.usage.v1.PollFailed;
import com.pcusage.partnercenter.usage.v1.WatchBudgetsResponse;
import com.pcusage.testing.FakeServer;
import com.pcusage.testing.FakeServer.WatchCall;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link BudgetWatch} against a scripted server ({@link FakeServer}): events in the server's order, the request and
 * metadata it sends, error mapping, bounded reconnects (and none where they would be wrong), deadlines, cancel and
 * close. Every blocking step is bounded.
 */
class BudgetWatchTest {
  private static final Duration BOUND = Duration.ofSeconds(20);
  private static final String A = "00000000-c0de-4000-8000-000000000000";
  private static final String B = "3c6ef362-c0de-4002-8000-000000000002";

  private FakeServer server;
  private ManagedChannel channel;
  private UsageRecordsClient client;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

  @BeforeEach
  void start() throws Exception {
    server = new FakeServer();
    channel = server.channel();
    client = new UsageRecordsClient(channel, "token-1");
  }

  @AfterEach
  void stop() throws Exception {
    scheduler.shutdownNow();
    channel.shutdownNow();
    channel.awaitTermination(10, TimeUnit.SECONDS);
    server.close();
  }

  private static CustomerMonthlyUsageRecord record(String id, String percent) {
    return CustomerMonthlyUsageRecord.newBuilder()
        .setId(id)
        .setResourceId(id)
        .setPercentUsed(Decimal.newBuilder().setValue(percent))
        .build();
  }

  static WatchBudgetsResponse level(String id, String threshold, String percent) {
    return WatchBudgetsResponse.newBuilder()
        .setBudgetEvent(
            BudgetEvent.newBuilder()
                .setKind(BudgetEvent.Kind.KIND_LEVEL)
                .setThreshold(Decimal.newBuilder().setValue(threshold))
                .setRecord(record(id, percent)))
        .build();
  }

  static WatchBudgetsResponse complete(long matching) {
    return WatchBudgetsResponse.newBuilder()
        .setInitialStateComplete(InitialStateComplete.newBuilder().setMatchingCustomers(matching))
        .build();
  }

  static WatchBudgetsResponse crossed(BudgetEvent.Kind kind, String id, String threshold, String now, String before) {
    return WatchBudgetsResponse.newBuilder()
        .setBudgetEvent(
            BudgetEvent.newBuilder()
                .setKind(kind)
                .setThreshold(Decimal.newBuilder().setValue(threshold))
                .setRecord(record(id, now))
                .setPreviousPercentUsed(Decimal.newBuilder().setValue(before)))
        .build();
  }

  static WatchBudgetsResponse pollFailed(int failures) {
    return WatchBudgetsResponse.newBuilder()
        .setPollFailed(
            PollFailed.newBuilder()
                .setCode(Status.Code.UNAVAILABLE.value())
                .setReason("PARTNER_CENTER_UNAVAILABLE")
                .setFailuresInARow(failures))
        .build();
  }

  /** Fast reconnects, so that the tests take milliseconds. */
  private static WatchOptions.Builder fast() {
    return WatchOptions.builder().reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(20));
  }

  private static List<WatchBudgetsResponse> take(BudgetWatch watch, int n) {
    return assertTimeoutPreemptively(
        BOUND,
        () -> {
          List<WatchBudgetsResponse> events = new ArrayList<>();
          for (int i = 0; i < n; i++) {
            assertTrue(watch.hasNext(), "event " + i);
            events.add(watch.next());
          }
          return events;
        });
  }

  private static StatusRuntimeException failure(BudgetWatch watch) {
    return assertTimeoutPreemptively(BOUND, () -> assertThrows(StatusRuntimeException.class, watch::hasNext));
  }

  private static final FakeServer.WatchScript HOLD_UNTIL_CANCELLED = call -> call.awaitCancel();

  @Test
  void eventsArriveInTheServersOrderWithTheRequestAndToken() throws Exception {
    List<WatchBudgetsResponse> script =
        List.of(
            level(A, "80", "120.5682999999995904716"),
            level(A, "100.0", "120.5682999999995904716"),
            complete(6),
            pollFailed(1),
            crossed(BudgetEvent.Kind.KIND_CROSSED_UP, B, "80", "85", "42"),
            crossed(BudgetEvent.Kind.KIND_CROSSED_DOWN, B, "80", "42", "85"));
    server.onWatch(
        call -> {
          script.forEach(call::send);
          call.awaitCancel();
        });
    WatchOptions options =
        WatchOptions.builder()
            .thresholds(new BigDecimal("80"), new BigDecimal("100.0"), new BigDecimal("79.99999999999999999999"))
            .customerIds(A, B)
            .currencyCodes("usd")
            .pollInterval(Duration.ofMillis(1500))
            .timeout(BOUND)
            .build();
    try (BudgetWatch watch = client.watchBudgets(options)) {
      assertEquals(script, take(watch, script.size()));
      assertEquals("fake-1", watch.correlationId().orElseThrow());
      assertEquals(0, watch.reconnects());
      assertTrue(watch.lastReconnectCause().isEmpty());
    }

    WatchCall call = server.watchCalls().get(0);
    assertEquals(
        List.of("80", "100.0", "79.99999999999999999999"),
        call.request.getThresholdsList().stream().map(Decimal::getValue).collect(Collectors.toList()));
    assertEquals(List.of(A, B), call.request.getCustomerIdsList());
    assertEquals(List.of("usd"), call.request.getCurrencyCodesList());
    assertEquals(1, call.request.getPollInterval().getSeconds());
    assertEquals(500_000_000, call.request.getPollInterval().getNanos());
    assertEquals("Bearer token-1", call.headers.get(UsageRecordsClient.AUTHORIZATION));
    assertTrue(call.awaitCancel(), "close() cancels the call");
    assertEquals(1, server.watchCalls().size());
  }

  @Test
  void defaultOptionsSendAnEmptyRequest() throws Exception {
    server.onWatch(call -> call.send(complete(0)), HOLD_UNTIL_CANCELLED);
    try (BudgetWatch watch = client.watchBudgets(WatchOptions.defaults())) {
      assertEquals(List.of(complete(0)), take(watch, 1));
    }
    assertEquals(
        com.pcusage.partnercenter.usage.v1.WatchBudgetsRequest.getDefaultInstance(),
        server.watchCalls().get(0).request);
  }

  @Test
  void aPermanentErrorEndsTheWatchWithItsDetailsAndNoReconnect() throws Exception {
    server.onWatch(
        call -> {
          call.send(level(A, "80", "90"), complete(1));
          call.out.onError(
              FakeServer.error(Status.Code.FAILED_PRECONDITION, "refresh token revoked", "REFRESH_TOKEN_INVALID"));
        });
    try (BudgetWatch watch = client.watchBudgets(fast().build())) {
      assertEquals(List.of(level(A, "80", "90"), complete(1)), take(watch, 2));
      StatusRuntimeException e = failure(watch);
      ErrorDetails details = ErrorDetails.from(e);
      assertEquals(Status.Code.FAILED_PRECONDITION, details.code());
      assertEquals("refresh token revoked", details.message());
      assertEquals("REFRESH_TOKEN_INVALID", details.reason());
      assertFalse(watch.hasNext(), "the watch has ended");
    }
    assertEquals(1, server.watchCalls().size());
  }

  @Test
  void invalidArgumentIsNotRetried() throws Exception {
    server.onWatch(
        call ->
            call.out.onError(
                FakeServer.error(Status.Code.INVALID_ARGUMENT, "poll_interval too short", "INVALID_ARGUMENT")));
    try (BudgetWatch watch = client.watchBudgets(fast().build())) {
      assertEquals(Status.Code.INVALID_ARGUMENT, failure(watch).getStatus().getCode());
    }
    assertEquals(1, server.watchCalls().size());
  }

  @Test
  void unavailableReconnectsAndTheLevelComesAgain() throws Exception {
    server.onWatch(
        call -> {
          call.send(level(A, "80", "90"), complete(2), crossed(BudgetEvent.Kind.KIND_CROSSED_UP, B, "80", "85", "42"));
          call.out.onError(FakeServer.error(Status.Code.UNAVAILABLE, "the server is draining", "SERVER_DRAINING"));
        },
        call -> {
          call.send(level(A, "80", "90"), level(B, "80", "85"), complete(2));
          call.awaitCancel();
        });
    try (BudgetWatch watch = client.watchBudgets(fast().build())) {
      List<WatchBudgetsResponse> first = take(watch, 3);
      assertEquals(0, watch.reconnects());
      assertEquals("fake-1", watch.correlationId().orElseThrow());
      List<WatchBudgetsResponse> second = take(watch, 3);
      assertEquals(1, watch.reconnects(), "the events after the reconnect are a new level");
      assertEquals(List.of(level(A, "80", "90"), level(B, "80", "85"), complete(2)), second);
      assertEquals(crossed(BudgetEvent.Kind.KIND_CROSSED_UP, B, "80", "85", "42"), first.get(2));
      assertEquals("fake-2", watch.correlationId().orElseThrow(), "each stream has its own correlation id");
      StatusRuntimeException cause = watch.lastReconnectCause().orElseThrow();
      assertEquals("SERVER_DRAINING", ErrorDetails.from(cause).reason());
    }
    List<WatchCall> calls = server.watchCalls();
    assertEquals(2, calls.size());
    assertEquals(calls.get(0).request, calls.get(1).request, "a reconnect asks the same");
    assertEquals("Bearer token-1", calls.get(1).headers.get(UsageRecordsClient.AUTHORIZATION));
  }

  @Test
  void reconnectsInARowAreBounded() throws Exception {
    FakeServer.WatchScript unavailable =
        call -> call.out.onError(Status.UNAVAILABLE.withDescription("down").asRuntimeException());
    server.onWatch(unavailable, unavailable, unavailable, unavailable, unavailable);
    try (BudgetWatch watch = client.watchBudgets(fast().maxReconnects(2).build())) {
      StatusRuntimeException e = failure(watch);
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
      assertEquals("down", e.getStatus().getDescription());
      assertFalse(watch.hasNext());
    }
    assertEquals(3, server.watchCalls().size(), "the first call and 2 reconnects");
  }

  @Test
  void aStreamThatReachesTheLevelStartsTheCountAgain() throws Exception {
    FakeServer.WatchScript levelThenDrain =
        call -> {
          call.send(complete(0));
          call.out.onError(FakeServer.error(Status.Code.UNAVAILABLE, "draining", "SERVER_DRAINING"));
        };
    FakeServer.WatchScript unavailable = call -> call.out.onError(Status.UNAVAILABLE.asRuntimeException());
    server.onWatch(levelThenDrain, unavailable, levelThenDrain, unavailable, levelThenDrain, unavailable, unavailable);
    try (BudgetWatch watch = client.watchBudgets(fast().maxReconnects(2).build())) {
      assertEquals(List.of(complete(0), complete(0), complete(0)), take(watch, 3));
      assertEquals(4, watch.reconnects());
      assertEquals(Status.Code.UNAVAILABLE, failure(watch).getStatus().getCode());
    }
    assertEquals(7, server.watchCalls().size());
  }

  @Test
  void resourceExhaustedWithRetryInfoReconnectsAfterItsDelay() throws Exception {
    server.onWatch(
        call ->
            call.out.onError(
                FakeServer.error(
                    Status.Code.RESOURCE_EXHAUSTED, "maximum of 1 streams", "CALLER_STREAM_LIMIT_REACHED",
                    Duration.ofMillis(400))),
        call -> {
          call.send(complete(0));
          call.awaitCancel();
        });
    long started = System.nanoTime();
    try (BudgetWatch watch = client.watchBudgets(fast().build())) {
      assertEquals(List.of(complete(0)), take(watch, 1));
      assertTrue(
          System.nanoTime() - started >= TimeUnit.MILLISECONDS.toNanos(400),
          "waited the RetryInfo delay, not the 5-20 ms backoff");
      assertEquals(1, watch.reconnects());
      assertEquals("CALLER_STREAM_LIMIT_REACHED", ErrorDetails.from(watch.lastReconnectCause().orElseThrow()).reason());
    }
    assertEquals(2, server.watchCalls().size());
  }

  @Test
  void resourceExhaustedWithoutRetryInfoIsThrown() throws Exception {
    server.onWatch(
        call -> call.out.onError(FakeServer.error(Status.Code.RESOURCE_EXHAUSTED, "quota", "SOME_QUOTA")),
        HOLD_UNTIL_CANCELLED);
    try (BudgetWatch watch = client.watchBudgets(fast().build())) {
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, failure(watch).getStatus().getCode());
    }
    assertEquals(1, server.watchCalls().size());
  }

  @Test
  void maxReconnectsZeroThrowsTheFirstUnavailable() throws Exception {
    server.onWatch(call -> call.out.onError(Status.UNAVAILABLE.asRuntimeException()), HOLD_UNTIL_CANCELLED);
    try (BudgetWatch watch = client.watchBudgets(fast().maxReconnects(0).build())) {
      assertEquals(Status.Code.UNAVAILABLE, failure(watch).getStatus().getCode());
    }
    assertEquals(1, server.watchCalls().size());
  }

  @Test
  void anUnreachableServerFailsAfterTheBoundedReconnects() throws Exception {
    String target = server.target();
    server.close();
    ManagedChannel dead =
        io.grpc.Grpc.newChannelBuilder(target, io.grpc.InsecureChannelCredentials.create()).build();
    try (BudgetWatch watch =
        new UsageRecordsClient(dead, "t").watchBudgets(fast().maxReconnects(3).timeout(BOUND).build())) {
      assertEquals(Status.Code.UNAVAILABLE, failure(watch).getStatus().getCode());
      assertTrue(watch.lastReconnectCause().isPresent());
    } finally {
      dead.shutdownNow();
    }
  }

  @Test
  void theServersDeadlineExceededReconnects() throws Exception {
    server.onWatch(
        call -> {
          call.send(complete(0));
          call.out.onError(
              FakeServer.error(
                  Status.Code.DEADLINE_EXCEEDED, "the watch's deadline (or --max_watch_duration) passed",
                  "CALL_DEADLINE_EXCEEDED"));
        },
        call -> {
          call.send(complete(0));
          call.awaitCancel();
        });
    try (BudgetWatch watch = client.watchBudgets(fast().timeout(BOUND).build())) {
      assertEquals(List.of(complete(0), complete(0)), take(watch, 2));
      assertEquals(1, watch.reconnects());
    }
    assertEquals(2, server.watchCalls().size());
  }

  @Test
  void theWatchsOwnDeadlineEndsItWithDeadlineExceeded() throws Exception {
    server.onWatch(
        call -> {
          call.send(complete(0));
          call.awaitCancel();
        },
        HOLD_UNTIL_CANCELLED);
    long started = System.nanoTime();
    try (BudgetWatch watch = client.watchBudgets(fast().timeout(Duration.ofMillis(500)).build())) {
      assertEquals(List.of(complete(0)), take(watch, 1));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, failure(watch).getStatus().getCode());
    }
    assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10));
    assertEquals(1, server.watchCalls().size(), "no reconnect past the watch's own deadline");
  }

  @Test
  void cancelFromAnotherThreadWhileBlockedIsCancelled() throws Exception {
    server.onWatch(
        call -> {
          call.send(complete(0));
          call.awaitCancel();
        },
        HOLD_UNTIL_CANCELLED);
    try (BudgetWatch watch = client.watchBudgets(fast().build())) {
      assertEquals(List.of(complete(0)), take(watch, 1));
      scheduler.schedule(watch::cancel, 200, TimeUnit.MILLISECONDS);
      assertEquals(Status.Code.CANCELLED, failure(watch).getStatus().getCode());
      assertTrue(server.watchCalls().get(0).awaitCancel(), "the server saw the cancel");
    }
    assertEquals(1, server.watchCalls().size(), "no reconnect after a cancel");
  }

  @Test
  void closeCancelsTheCallAndEndsIteration() throws Exception {
    server.onWatch(
        call -> {
          call.send(complete(0), complete(0));
          call.awaitCancel();
        });
    BudgetWatch watch = client.watchBudgets(fast().build());
    assertEquals(List.of(complete(0)), take(watch, 1));
    watch.close();
    assertFalse(watch.hasNext());
    assertThrows(NoSuchElementException.class, watch::next);
    assertTrue(server.watchCalls().get(0).awaitCancel(), "the server saw the cancel");
  }

  @Test
  void cancelDuringTheBackoffEndsItAtOnce() throws Exception {
    server.onWatch(call -> call.out.onError(Status.UNAVAILABLE.asRuntimeException()), HOLD_UNTIL_CANCELLED);
    try (BudgetWatch watch =
        client.watchBudgets(
            WatchOptions.builder().reconnectBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1)).build())) {
      scheduler.schedule(watch::cancel, 300, TimeUnit.MILLISECONDS);
      long started = System.nanoTime();
      StatusRuntimeException e = failure(watch);
      assertEquals(Status.Code.CANCELLED, e.getStatus().getCode());
      assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10), "not the minute's backoff");
    }
    assertEquals(1, server.watchCalls().size());
  }

  @Test
  void aBackoffThatWouldPassTheDeadlineThrowsTheStreamsError() throws Exception {
    server.onWatch(call -> call.out.onError(Status.UNAVAILABLE.withDescription("gone").asRuntimeException()));
    try (BudgetWatch watch =
        client.watchBudgets(
            WatchOptions.builder()
                .timeout(Duration.ofSeconds(5))
                .reconnectBackoff(Duration.ofMinutes(1), Duration.ofMinutes(1))
                .build())) {
      StatusRuntimeException e = failure(watch);
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
      assertEquals("gone", e.getStatus().getDescription());
    }
    assertEquals(1, server.watchCalls().size());
  }

  @Test
  void forEachAndStreamIterateAndClosingTheStreamCancels() throws Exception {
    server.onWatch(
        call -> {
          call.send(level(A, "80", "90"), complete(1), pollFailed(1));
          call.awaitCancel();
        },
        call -> {
          call.send(level(A, "80", "90"), complete(1));
          call.awaitCancel();
        });
    try (BudgetWatch watch = client.watchBudgets(fast().build())) {
      List<WatchBudgetsResponse> seen = new ArrayList<>();
      assertTimeoutPreemptively(
          BOUND,
          () -> {
            for (WatchBudgetsResponse event : watch) {
              seen.add(event);
              if (event.hasInitialStateComplete()) {
                break;
              }
            }
          });
      assertEquals(List.of(level(A, "80", "90"), complete(1)), seen);
    }
    assertTrue(server.watchCalls().get(0).awaitCancel());

    BudgetWatch watch = client.watchBudgets(fast().build());
    try (Stream<WatchBudgetsResponse> events = watch.stream()) {
      assertEquals(
          List.of(level(A, "80", "90"), complete(1)),
          assertTimeoutPreemptively(BOUND, () -> events.limit(2).collect(Collectors.toList())));
    }
    assertFalse(watch.hasNext(), "closing the Stream closed the watch");
    assertTrue(server.watchCalls().get(1).awaitCancel());
  }

  @Test
  void optionsAreChecked() {
    assertThrows(IllegalArgumentException.class, () -> WatchOptions.builder().timeout(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> WatchOptions.builder().timeout(Duration.ofSeconds(-1)));
    assertThrows(IllegalArgumentException.class, () -> WatchOptions.builder().maxReconnects(-1));
    assertThrows(
        IllegalArgumentException.class,
        () -> WatchOptions.builder().reconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
    assertThrows(NullPointerException.class, () -> WatchOptions.builder().thresholds(new BigDecimal("80"), null));
    WatchOptions defaults = WatchOptions.defaults();
    assertEquals(WatchOptions.DEFAULT_MAX_RECONNECTS, defaults.maxReconnects());
    assertTrue(defaults.timeout().isEmpty());
    assertTrue(defaults.pollInterval().isEmpty());
    assertTrue(defaults.thresholds().isEmpty());
    WatchOptions changed = defaults.toBuilder().thresholds(new BigDecimal("1E+2")).build();
    assertEquals("1E+2", changed.toRequest().getThresholds(0).getValue(), "the threshold as spelled");
  }
}
