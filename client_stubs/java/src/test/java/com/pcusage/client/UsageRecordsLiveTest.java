package com.pcusage.client;

import static com.pcusage.testing.LiveStack.decimal;
import static com.pcusage.testing.LiveStack.object;
import static com.pcusage.testing.LiveStack.string;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.pcusage.partnercenter.usage.v1.CustomerMonthlyUsageRecord;
import com.pcusage.partnercenter.usage.v1.ListUsageRecordsRequest;
import com.pcusage.partnercenter.usage.v1.ListUsageRecordsResponse;
import com.pcusage.partnercenter.usage.v1.SpendingBudget;
import com.pcusage.testing.LiveStack;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client against the live stack: records and decimals exactly as the emulator sent them, presence, deadlines,
 * cancellation, error details and resuming. The tests share one emulator, so each starts and ends with no fault armed.
 */
class UsageRecordsLiveTest {
  /** Bounds every call; far above what a passing call takes. */
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);
  /** Hang guard for tests that wait on the server. */
  private static final Duration HANG_GUARD = Duration.ofSeconds(30);

  private static ManagedChannel channel;
  private static UsageRecordsClient client;

  @BeforeAll
  static void connect() {
    channel = LiveStack.channel();
    client = new UsageRecordsClient(channel, LiveStack.token());
  }

  @AfterAll
  static void disconnect() throws InterruptedException {
    if (channel != null) {
      LiveStack.shutdown(channel);
    }
  }

  @BeforeEach
  @AfterEach
  void noFaults() throws Exception {
    LiveStack.clearFaults();
  }

  private static List<CustomerMonthlyUsageRecord> listAll(ListUsageRecordsRequest request) {
    List<CustomerMonthlyUsageRecord> records = new ArrayList<>();
    try (UsageRecordStream stream = client.listUsageRecords(request, CALL_TIMEOUT)) {
      stream.forEachRemaining(records::add);
    }
    return records;
  }

  private static List<String> ids(List<CustomerMonthlyUsageRecord> records) {
    return records.stream().map(CustomerMonthlyUsageRecord::getId).collect(Collectors.toList());
  }

  /** The decimal of a record field as the client reads it, for comparison with the raw JSON number. */
  private static Optional<BigDecimal> decimalOf(boolean present, com.google.type.Decimal decimal) {
    return present ? Optional.of(Decimals.toBigDecimal(decimal)) : Optional.empty();
  }

  private static void assertBudget(JsonObject raw, String field, boolean present, SpendingBudget budget, String id) {
    Optional<JsonObject> rawBudget = object(raw, field);
    assertEquals(rawBudget.isPresent(), present, id + ": presence of " + field);
    if (present) {
      assertEquals(decimal(rawBudget.get(), "amount"), Decimals.amount(budget), id + ": " + field + ".amount");
    }
  }

  @Test
  void recordsArriveOnceWithExactDecimalsAndPresence() throws Exception {
    List<JsonObject> raw = LiveStack.rawRecords();
    List<CustomerMonthlyUsageRecord> records = listAll(ListUsageRecordsRequest.getDefaultInstance());

    assertEquals(raw.size(), records.size(), "record count");
    assertTrue(records.size() > 100, "the stack's data set spans several Partner Center pages");
    for (int i = 0; i < raw.size(); i++) {
      JsonObject expected = raw.get(i);
      CustomerMonthlyUsageRecord record = records.get(i);
      String id = string(expected, "id").orElse("");
      assertEquals(id, record.getId(), "record " + i + " id");
      assertEquals(string(expected, "resourceName").orElse(""), record.getResourceName(), id + ": resourceName");
      assertEquals(string(expected, "currencyCode").orElse(""), record.getCurrencyCode(), id + ": currencyCode");
      assertEquals(string(expected, "currencyLocale").orElse(""), record.getCurrencyLocale(), id + ": locale");
      // BigDecimal.equals compares digits and scale: 1.50 and 1.5 differ, as the JSON text does.
      assertEquals(decimal(expected, "totalCost"), Decimals.totalCost(record), id + ": totalCost");
      assertEquals(decimal(expected, "usdTotalCost"), Decimals.usdTotalCost(record), id + ": usdTotalCost");
      assertEquals(decimal(expected, "percentUsed"), Decimals.percentUsed(record), id + ": percentUsed");
      assertBudget(expected, "budget", record.hasBudget(), record.getBudget(), id);
      assertBudget(
          expected,
          "customerSpendingBudget",
          record.hasCustomerSpendingBudget(),
          record.getCustomerSpendingBudget(),
          id);
      assertBudget(
          expected, "usageSpendingBudget", record.hasUsageSpendingBudget(), record.getUsageSpendingBudget(), id);
      JsonElement upgraded = expected.get("isUpgraded");
      boolean rawHasUpgraded = upgraded != null && !upgraded.isJsonNull();
      assertEquals(rawHasUpgraded, record.hasIsUpgraded(), id + ": presence of isUpgraded");
      if (rawHasUpgraded) {
        assertEquals(upgraded.getAsBoolean(), record.getIsUpgraded(), id + ": isUpgraded");
      }
    }
  }

  @Test
  void longDecimalsKeepEveryDigit() throws Exception {
    List<CustomerMonthlyUsageRecord> records = listAll(ListUsageRecordsRequest.getDefaultInstance());
    Function<CustomerMonthlyUsageRecord, String> text = record -> record.getTotalCost().getValue();
    // Partner Center's documented value, 22 significant digits: a double would turn it into 120.56829999999959.
    CustomerMonthlyUsageRecord documented =
        records.stream()
            .filter(record -> text.apply(record).equals("120.5682999999995904716"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no record has total_cost 120.5682999999995904716"));
    assertEquals(new BigDecimal("120.5682999999995904716"), Decimals.totalCost(documented).orElseThrow());
    assertEquals("120.5682999999995904716", Decimals.totalCost(documented).orElseThrow().toPlainString());

    long longValues =
        records.stream()
            .filter(CustomerMonthlyUsageRecord::hasTotalCost)
            .map(record -> Decimals.toBigDecimal(record.getTotalCost()))
            .filter(value -> value.precision() >= 20)
            .count();
    assertTrue(longValues > 0, "some total_cost has 20 or more significant digits");
  }

  @Test
  void presenceIsKept() throws Exception {
    List<JsonObject> raw = LiveStack.rawRecords();
    List<CustomerMonthlyUsageRecord> records = listAll(ListUsageRecordsRequest.getDefaultInstance());
    boolean sawNoBudget = false;
    boolean sawBudgetWithoutAmount = false;
    boolean sawZeroAmount = false;
    boolean sawNoTotalCost = false;
    for (int i = 0; i < raw.size(); i++) {
      JsonObject expected = raw.get(i);
      CustomerMonthlyUsageRecord record = records.get(i);
      if (object(expected, "budget").isEmpty()) {
        assertFalse(record.hasBudget(), record.getId() + " has no budget");
        sawNoBudget = true;
      } else if (decimal(object(expected, "budget").get(), "amount").isEmpty()) {
        assertTrue(record.hasBudget(), record.getId() + " has a budget");
        assertFalse(record.getBudget().hasAmount(), record.getId() + "'s budget has no amount");
        assertEquals(Optional.empty(), Decimals.amount(record.getBudget()));
        sawBudgetWithoutAmount = true;
      }
      Optional<JsonObject> usageBudget = object(expected, "usageSpendingBudget");
      if (usageBudget.isPresent()
          && decimal(usageBudget.get(), "amount").map(amount -> amount.signum() == 0).orElse(false)) {
        assertTrue(record.getUsageSpendingBudget().hasAmount(), record.getId() + ": a zero amount is set");
        assertEquals(0, Decimals.amount(record.getUsageSpendingBudget()).orElseThrow().signum());
        sawZeroAmount = true;
      }
      if (decimal(expected, "totalCost").isEmpty()) {
        assertFalse(record.hasTotalCost(), record.getId() + " has no total_cost");
        assertEquals(Optional.empty(), Decimals.totalCost(record));
        sawNoTotalCost = true;
      }
    }
    assertTrue(sawNoBudget, "the data set has a record without a budget");
    assertTrue(sawBudgetWithoutAmount, "the data set has a budget without an amount");
    assertTrue(sawZeroAmount, "the data set has a zero budget amount");
    assertTrue(sawNoTotalCost, "the data set has a record without total_cost");
  }

  @Test
  void firstMessageCarriesPartnerCenterTotalCountAndCorrelationId() throws Exception {
    long rawTotalCount = LiveStack.rawPages().get(0).totalCount();
    try (UsageRecordStream stream = client.listUsageRecords(CALL_TIMEOUT)) {
      assertTrue(stream.hasNext());
      assertEquals(rawTotalCount, stream.partnerCenterTotalCount().orElseThrow());
      String correlationId = stream.correlationId().orElseThrow();
      assertTrue(correlationId.matches("[0-9a-fA-F-]{36}"), "a GUID: " + correlationId);
    }
  }

  @Test
  void pageSizeShapesMessagesOnly() throws Exception {
    List<String> all = ids(listAll(ListUsageRecordsRequest.getDefaultInstance()));
    Iterator<ListUsageRecordsResponse> messages =
        client
            .blockingStub()
            .withDeadlineAfter(CALL_TIMEOUT.toSeconds(), TimeUnit.SECONDS)
            .listUsageRecords(ListUsageRecordsRequest.newBuilder().setPageSize(7).build());
    List<String> viaSmallMessages = new ArrayList<>();
    int count = 0;
    while (messages.hasNext()) {
      ListUsageRecordsResponse message = messages.next();
      assertTrue(message.getUsageRecordsCount() <= 7, "a message holds at most page_size records");
      assertFalse(message.getResumeToken().isEmpty(), "every message carries a resume token");
      assertEquals(count == 0, message.hasPartnerCenterTotalCount(), "total count on the first message only");
      message.getUsageRecordsList().forEach(record -> viaSmallMessages.add(record.getId()));
      count++;
    }
    assertEquals(all, viaSmallMessages);
  }

  @Test
  void deadlineBoundsTheCall() throws Exception {
    // Partner Center takes 20 s to answer; the caller allows 1 s.
    LiveStack.setFaults("[{\"page\": 0, \"times\": -1, \"fault\": \"slow_first_byte\", \"delay_ms\": 20000}]");
    StatusRuntimeException error =
        assertTimeoutPreemptively(
            HANG_GUARD,
            () ->
                assertThrows(
                    StatusRuntimeException.class,
                    () -> {
                      try (UsageRecordStream stream = client.listUsageRecords(Duration.ofSeconds(1))) {
                        stream.forEachRemaining(record -> {});
                      }
                    }));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, error.getStatus().getCode(), error.toString());
  }

  /** The emulator's log entries for one call's page, found by the call's correlation id. */
  private static List<JsonObject> requestsOf(String correlationId) throws Exception {
    List<JsonObject> requests = new ArrayList<>();
    for (JsonElement entry : LiveStack.requestLog()) {
      JsonObject request = entry.getAsJsonObject();
      JsonElement id = request.getAsJsonObject("headers").get("ms-correlationid");
      if (id != null && id.getAsString().equals(correlationId)) {
        requests.add(request);
      }
    }
    return requests;
  }

  /** Polls the emulator's log until {@code done} holds for the call's requests; fails after the hang guard. */
  private static List<JsonObject> awaitRequests(String correlationId, Predicate<List<JsonObject>> done)
      throws Exception {
    long deadline = System.nanoTime() + HANG_GUARD.toNanos();
    while (true) {
      List<JsonObject> requests = requestsOf(correlationId);
      if (done.test(requests)) {
        return requests;
      }
      if (System.nanoTime() > deadline) {
        fail("the emulator's log never showed the expected requests: " + requests);
      }
      Thread.sleep(50);
    }
  }

  private static Optional<JsonObject> page(List<JsonObject> requests, int page) {
    return requests.stream().filter(request -> request.get("page").getAsInt() == page).findFirst();
  }

  @Test
  void cancellingMidStreamStopsTheStream() throws Exception {
    // Page 0 arrives at once; page 1 trickles in for 30 s, so the reader is blocked on it when it cancels.
    LiveStack.setFaults(
        "[{\"page\": 1, \"times\": -1, \"fault\": \"slow_body\", \"chunk_ms\": 50, \"duration_ms\": 30000}]");
    LiveStack.resetRequestLog();
    ScheduledExecutorService canceller = Executors.newSingleThreadScheduledExecutor();
    try (UsageRecordStream stream = client.listUsageRecords(CALL_TIMEOUT)) {
      int[] received = {0};
      StatusRuntimeException error =
          assertTimeoutPreemptively(
              HANG_GUARD,
              () ->
                  assertThrows(
                      StatusRuntimeException.class,
                      () -> {
                        while (stream.hasNext()) {
                          stream.next();
                          if (++received[0] == 1) {
                            // Once the server is reading page 1, cancel from another thread while this one waits
                            // in hasNext().
                            String id = stream.correlationId().orElseThrow();
                            awaitRequests(id, requests -> page(requests, 1).isPresent());
                            canceller.schedule(stream::cancel, 200, TimeUnit.MILLISECONDS);
                          }
                        }
                      }));
      assertEquals(Status.Code.CANCELLED, error.getStatus().getCode(), error.toString());
      assertEquals(Status.Code.CANCELLED, ErrorDetails.from(error).code());
      assertTrue(received[0] > 0 && received[0] < 120, "stopped mid-stream after " + received[0] + " records");

      // The server saw the cancellation: it dropped the page it was reading and asked for no further page.
      List<JsonObject> requests =
          awaitRequests(
              stream.correlationId().orElseThrow(),
              log -> page(log, 1).map(request -> !request.get("completed").isJsonNull()).orElse(false));
      assertFalse(page(requests, 1).get().get("completed").getAsBoolean(), "page 1's transfer was aborted");
      assertTrue(
          requests.stream().allMatch(request -> request.get("page").getAsInt() <= 1), "no page after 1: " + requests);
    } finally {
      canceller.shutdownNow();
    }
  }

  @Test
  void closingStopsIterationAndCancels() throws Exception {
    UsageRecordStream stream = client.listUsageRecords(CALL_TIMEOUT);
    assertTrue(stream.hasNext());
    stream.next();
    stream.close();
    assertFalse(stream.hasNext(), "a closed stream has no more records");
  }

  @Test
  void throttlingCarriesErrorInfoAndRetryInfo() throws Exception {
    LiveStack.setFaults("[{\"page\": 0, \"times\": -1, \"fault\": \"throttle\", \"retry_after\": \"600\"}]");
    try {
      StatusRuntimeException error =
          assertThrows(
              StatusRuntimeException.class, () -> listAll(ListUsageRecordsRequest.getDefaultInstance()));
      ErrorDetails details = ErrorDetails.from(error);
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, details.code(), details.toString());
      assertEquals("PARTNER_CENTER_RATE_LIMITED", details.reason());
      assertEquals("pcusage", details.errorInfo().orElseThrow().getDomain());
      assertEquals(Optional.of(Duration.ofSeconds(600)), details.retryDelay());
      assertEquals("429", details.metadata().get("http_status"));
      assertTrue(details.correlationId().isPresent(), "ms_correlation_id in the metadata");
    } finally {
      LiveStack.clearFaults();
    }
  }

  @Test
  void wrongTokenIsUnauthenticated() throws Exception {
    UsageRecordsClient wrongToken = new UsageRecordsClient(channel, "not-the-emulator-token");
    StatusRuntimeException error =
        assertThrows(
            StatusRuntimeException.class,
            () -> {
              try (UsageRecordStream stream = wrongToken.listUsageRecords(CALL_TIMEOUT)) {
                stream.forEachRemaining(record -> {});
              }
            });
    ErrorDetails details = ErrorDetails.from(error);
    assertEquals(Status.Code.UNAUTHENTICATED, details.code(), details.toString());
    assertEquals("PARTNER_CENTER_UNAUTHENTICATED", details.reason());
    assertEquals(Optional.empty(), details.retryDelay());
    assertFalse(details.message().contains("not-the-emulator-token"), "the token never appears in messages");
  }

  @Test
  void missingTokenIsUnauthenticated() {
    UsageRecordsClient noToken = new UsageRecordsClient(channel, null);
    StatusRuntimeException error =
        assertThrows(
            StatusRuntimeException.class,
            () -> {
              try (UsageRecordStream stream = noToken.listUsageRecords(CALL_TIMEOUT)) {
                stream.forEachRemaining(record -> {});
              }
            });
    assertEquals(Status.Code.UNAUTHENTICATED, ErrorDetails.from(error).code());
    assertEquals("ACCESS_TOKEN_MISSING", ErrorDetails.from(error).reason());
  }

  @Test
  void resumingAfterTheFirstMessageDeliversTheRestExactlyOnce() throws Exception {
    ListUsageRecordsRequest request = ListUsageRecordsRequest.newBuilder().setPageSize(10).build();
    List<String> all = ids(listAll(request));

    List<String> first = new ArrayList<>();
    String token;
    try (UsageRecordStream stream = client.listUsageRecords(request, CALL_TIMEOUT)) {
      assertEquals("", stream.resumeToken());
      while (stream.resumeToken().isEmpty() && stream.hasNext()) {
        first.add(stream.next().getId());
      }
      token = stream.resumeToken();
    }
    assertEquals(10, first.size(), "the first message holds page_size records");
    assertFalse(token.isEmpty());

    List<String> rest = ids(listAll(request.toBuilder().setResumeToken(token).build()));
    List<String> union = new ArrayList<>(first);
    union.addAll(rest);
    assertEquals(all, union, "first message + resumed stream = the full listing, each record once");

    List<String> viaHelper = new ArrayList<>(first);
    try (UsageRecordStream resumed = client.resumeUsageRecords(token, CALL_TIMEOUT)) {
      resumed.stream().map(CustomerMonthlyUsageRecord::getId).forEach(viaHelper::add);
    }
    assertEquals(all, viaHelper);
  }

  @Test
  void alteredResumeTokenIsInvalidArgument() {
    StatusRuntimeException error =
        assertThrows(
            StatusRuntimeException.class,
            () -> {
              try (UsageRecordStream stream = client.resumeUsageRecords("not-a-token", CALL_TIMEOUT)) {
                stream.forEachRemaining(record -> {});
              }
            });
    ErrorDetails details = ErrorDetails.from(error);
    assertEquals(Status.Code.INVALID_ARGUMENT, details.code(), details.toString());
    assertEquals("RESUME_TOKEN_INVALID", details.reason());
  }

  @Test
  void zeroMaxStalenessIsAFreshWalk() throws Exception {
    List<String> all = ids(listAll(ListUsageRecordsRequest.getDefaultInstance()));
    Instant calledAt = Instant.now().minusSeconds(1);
    List<CustomerMonthlyUsageRecord> records = new ArrayList<>();
    try (UsageRecordStream stream = client.listUsageRecords(CALL_TIMEOUT, Duration.ZERO)) {
      stream.forEachRemaining(records::add);
      Instant snapshotTime = stream.snapshotTime().orElseThrow();
      assertFalse(snapshotTime.isBefore(calledAt), "a fresh walk began after the call: " + snapshotTime);
      assertFalse(stream.fromSharedSnapshot());
    }
    assertEquals(all, ids(records));
  }

  @Test
  void negativeMaxStalenessIsInvalidArgument() {
    StatusRuntimeException error =
        assertThrows(
            StatusRuntimeException.class,
            () -> {
              try (UsageRecordStream stream = client.listUsageRecords(CALL_TIMEOUT, Duration.ofSeconds(-1))) {
                stream.forEachRemaining(record -> {});
              }
            });
    ErrorDetails details = ErrorDetails.from(error);
    assertEquals(Status.Code.INVALID_ARGUMENT, details.code(), details.toString());
    assertTrue(error.getStatus().getDescription().contains("max_staleness"), error.getStatus().getDescription());
  }
}
