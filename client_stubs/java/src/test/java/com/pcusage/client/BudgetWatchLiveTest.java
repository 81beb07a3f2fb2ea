package com.pcusage.client;

import static com.pcusage.testing.LiveStack.string;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.pcusage.partnercenter.usage.v1.BudgetEvent;
import com.pcusage.partnercenter.usage.v1.WatchBudgetsResponse;
import com.pcusage.testing.LiveStack;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link BudgetWatch} against the live watch stack ({@code $PCUSAGE_WATCH_SERVER}: shared snapshots on, {@code
 * --min_watch_poll_interval=200ms}; its own emulator at {@code $PCUSAGE_WATCH_EMULATOR}, 6 generated customers in one
 * page). The level is compared with the emulator's raw page; a customer is then moved across 80 and back with {@code
 * POST /emulator/dataset}, and restored whatever happens. Every wait is bounded: each watch has a deadline, and each
 * read runs under {@link #WAIT}.
 */
class BudgetWatchLiveTest {
  /** The customer the test moves: at 42 in the generated data set. */
  private static final String MOVER = "3c6ef362-c0de-4002-8000-000000000002";
  /** Customers at or above both 80 and 100 in the generated data set, with their percent_used. */
  private static final List<String[]> ABOVE_BOTH =
      List.of(
          new String[] {"00000000-c0de-4000-8000-000000000000", "120.5682999999995904716"},
          new String[] {"daa66d13-c0de-4003-8000-000000000003", "1234567890.123456789012345678"},
          new String[] {"78dde6c4-c0de-4004-8000-000000000004", "602.84"});
  private static final List<BigDecimal> THRESHOLDS = List.of(new BigDecimal("80"), new BigDecimal("100"));
  private static final Duration POLL = Duration.ofMillis(300);
  /** The deadline of each watch. */
  private static final Duration WATCH_TIMEOUT = Duration.ofSeconds(60);
  /** The bound of each wait for events; many polls. */
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static ManagedChannel channel;
  private static UsageRecordsClient client;

  @BeforeAll
  static void connect() {
    channel = LiveStack.watchChannel();
    client = new UsageRecordsClient(channel, LiveStack.token());
  }

  @AfterAll
  static void disconnect() throws InterruptedException {
    if (channel != null) {
      LiveStack.shutdown(channel);
    }
  }

  private static WatchOptions.Builder options() {
    // No reconnects: a stream that ends is a failure here, not something to paper over.
    return WatchOptions.builder().thresholds(THRESHOLDS).pollInterval(POLL).timeout(WATCH_TIMEOUT).maxReconnects(0);
  }

  /** customer id, threshold and percent_used of a level event, for comparing. */
  private static String describe(BudgetEvent event) {
    return event.getKind()
        + " "
        + event.getRecord().getResourceId()
        + " @"
        + event.getThreshold().getValue()
        + " = "
        + event.getRecord().getPercentUsed().getValue();
  }

  /** The level the raw page implies: every customer and every threshold it reaches, in order, thresholds ascending. */
  private static List<String> expectedLevel(List<JsonObject> raw) {
    List<String> level = new ArrayList<>();
    for (JsonObject record : raw) {
      JsonElement percent = record.get("percentUsed");
      if (percent == null || percent.isJsonNull()) {
        continue;
      }
      String text = percent.getAsJsonPrimitive().getAsString();
      for (BigDecimal threshold : THRESHOLDS) {
        if (new BigDecimal(text).compareTo(threshold) >= 0) {
          level.add(
              BudgetEvent.Kind.KIND_LEVEL
                  + " "
                  + string(record, "resourceId").orElseThrow()
                  + " @"
                  + threshold
                  + " = "
                  + text);
        }
      }
    }
    return level;
  }

  /** The events up to and including {@code initial_state_complete}. */
  private static List<WatchBudgetsResponse> readLevel(BudgetWatch watch) {
    return assertTimeoutPreemptively(
        WAIT,
        () -> {
          List<WatchBudgetsResponse> events = new ArrayList<>();
          while (true) {
            assertTrue(watch.hasNext(), "the watch ended before initial_state_complete");
            WatchBudgetsResponse event = watch.next();
            events.add(event);
            if (event.hasInitialStateComplete()) {
              return events;
            }
            assertTrue(event.hasBudgetEvent(), "before initial_state_complete: " + event);
          }
        });
  }

  /** The next budget event after the level, skipping {@code poll_failed} (the stream goes on after one). */
  private static BudgetEvent nextEdge(BudgetWatch watch) {
    return assertTimeoutPreemptively(
        WAIT,
        () -> {
          while (true) {
            assertTrue(watch.hasNext(), "the watch ended");
            WatchBudgetsResponse event = watch.next();
            if (event.hasPollFailed()) {
              continue;
            }
            assertTrue(event.hasBudgetEvent(), "an edge: " + event);
            assertTrue(event.hasSnapshotTime(), "an edge carries its snapshot time");
            return event.getBudgetEvent();
          }
        });
  }

  private static void setMover(String percent) throws Exception {
    LiveStack.editWatchDataset("[{\"resource_id\":\"" + MOVER + "\",\"percent_used\":\"" + percent + "\"}]");
  }

  private static List<String> levelOf(List<WatchBudgetsResponse> events) {
    return events.stream()
        .filter(WatchBudgetsResponse::hasBudgetEvent)
        .map(e -> describe(e.getBudgetEvent()))
        .collect(Collectors.toList());
  }

  @Test
  void theLevelThenACrossingUpAndBackDown() throws Exception {
    List<JsonObject> raw = LiveStack.rawWatchRecords();
    assertEquals(6, raw.size());
    String moverBefore =
        raw.stream()
            .filter(r -> MOVER.equals(string(r, "resourceId").orElse("")))
            .map(r -> r.get("percentUsed").getAsJsonPrimitive().getAsString())
            .findFirst()
            .orElseThrow();
    if (new BigDecimal(moverBefore).compareTo(new BigDecimal("42")) != 0) {
      fail(MOVER + " is at " + moverBefore + ", not 42: the watch emulator's data set was left edited");
    }
    List<String> expected = expectedLevel(raw);
    for (String[] customer : ABOVE_BOTH) {
      for (String threshold : List.of("80", "100")) {
        String event = "KIND_LEVEL " + customer[0] + " @" + threshold + " = " + customer[1];
        assertTrue(expected.contains(event), "the data set has " + event);
      }
    }

    try (BudgetWatch watch = client.watchBudgets(options().build())) {
      List<WatchBudgetsResponse> level = readLevel(watch);
      assertEquals(expected, levelOf(level), "the level: customers in Partner Center's order, thresholds ascending");
      for (WatchBudgetsResponse event : level) {
        assertFalse(event.hasBudgetEvent() && event.getBudgetEvent().hasPreviousPercentUsed(), "none in the level");
      }
      assertEquals(6, level.get(level.size() - 1).getInitialStateComplete().getMatchingCustomers());
      assertTrue(watch.correlationId().isPresent(), "the stream's correlation id");

      try {
        setMover("85");
        BudgetEvent up = nextEdge(watch);
        assertEquals(BudgetEvent.Kind.KIND_CROSSED_UP, up.getKind(), up.toString());
        assertEquals("80", up.getThreshold().getValue());
        assertEquals(MOVER, up.getRecord().getResourceId());
        assertEquals("85", up.getRecord().getPercentUsed().getValue());
        assertEquals(moverBefore, up.getPreviousPercentUsed().getValue());

        setMover(moverBefore);
        BudgetEvent down = nextEdge(watch);
        assertEquals(
            BudgetEvent.Kind.KIND_CROSSED_DOWN, down.getKind(), "exactly once: no second crossing up; " + down);
        assertEquals("80", down.getThreshold().getValue());
        assertEquals(MOVER, down.getRecord().getResourceId());
        assertEquals(moverBefore, down.getRecord().getPercentUsed().getValue());
        assertEquals("85", down.getPreviousPercentUsed().getValue());
        assertEquals(0, watch.reconnects());
      } finally {
        setMover(moverBefore);
      }
    }
  }

  @Test
  void aNewStreamStartsWithTheLevelAgain() throws Exception {
    List<String> expected = expectedLevel(LiveStack.rawWatchRecords());
    for (int i = 0; i < 2; i++) {
      try (BudgetWatch watch = client.watchBudgets(options().build())) {
        assertEquals(expected, levelOf(readLevel(watch)), "stream " + i);
      }
    }
  }

  @Test
  void customerFilterNarrowsTheLevel() throws Exception {
    String[] customer = ABOVE_BOTH.get(1);
    WatchOptions filtered = options().customerIds(customer[0].toUpperCase(Locale.ROOT)).build();
    try (BudgetWatch watch = client.watchBudgets(filtered)) {
      List<WatchBudgetsResponse> level = readLevel(watch);
      assertEquals(
          List.of(
              "KIND_LEVEL " + customer[0] + " @80 = " + customer[1],
              "KIND_LEVEL " + customer[0] + " @100 = " + customer[1]),
          levelOf(level));
      assertEquals(1, level.get(level.size() - 1).getInitialStateComplete().getMatchingCustomers());
    }
  }

  @Test
  void theWatchsDeadlineEndsItWithDeadlineExceeded() {
    WatchOptions shortWatch =
        options().customerIds(ABOVE_BOTH.get(0)[0]).timeout(Duration.ofMillis(1500)).maxReconnects(3).build();
    try (BudgetWatch watch = client.watchBudgets(shortWatch)) {
      readLevel(watch);
      // Nothing changes: no event until the deadline.
      StatusRuntimeException e =
          assertTimeoutPreemptively(WAIT, () -> assertThrows(StatusRuntimeException.class, watch::hasNext));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode(), e.toString());
    }
  }

  @Test
  void aPollIntervalBelowTheServersLeastIsInvalidArgumentAndNotRetried() {
    WatchOptions tooOften = options().pollInterval(Duration.ofMillis(100)).maxReconnects(3).build();
    try (BudgetWatch watch = client.watchBudgets(tooOften)) {
      StatusRuntimeException e =
          assertTimeoutPreemptively(WAIT, () -> assertThrows(StatusRuntimeException.class, watch::hasNext));
      ErrorDetails details = ErrorDetails.from(e);
      assertEquals(Status.Code.INVALID_ARGUMENT, details.code());
      assertTrue(details.message().contains("poll_interval"), details.message());
      assertTrue(watch.lastReconnectCause().isEmpty(), "not retried");
    }
  }

  @Test
  void aServerWithoutSharedSnapshotsRefusesWatches() throws Exception {
    ManagedChannel plain = LiveStack.channel();
    try (BudgetWatch watch =
        new UsageRecordsClient(plain, LiveStack.token()).watchBudgets(options().pollInterval(null).build())) {
      StatusRuntimeException e =
          assertTimeoutPreemptively(WAIT, () -> assertThrows(StatusRuntimeException.class, watch::hasNext));
      ErrorDetails details = ErrorDetails.from(e);
      assertEquals(Status.Code.FAILED_PRECONDITION, details.code());
      assertEquals("WATCH_NEEDS_SHARED_SNAPSHOTS", details.reason());
    } finally {
      LiveStack.shutdown(plain);
    }
  }
}
