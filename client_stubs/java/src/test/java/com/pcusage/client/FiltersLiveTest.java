package com.pcusage.client;

import static com.pcusage.testing.LiveStack.object;
import static com.pcusage.testing.LiveStack.string;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.pcusage.partnercenter.usage.v1.CustomerMonthlyUsageRecord;
import com.pcusage.testing.LiveStack;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ListOptions} against the live stack: a filtered list is exactly the emulator's raw records that pass the
 * filters, in order, computed here from the raw JSON (percentages compared as {@link BigDecimal}s from the JSON text).
 */
class FiltersLiveTest {
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

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

  private static List<CustomerMonthlyUsageRecord> list(ListOptions options) {
    List<CustomerMonthlyUsageRecord> records = new ArrayList<>();
    try (UsageRecordStream stream = client.listUsageRecords(options, CALL_TIMEOUT)) {
      stream.forEachRemaining(records::add);
    }
    return records;
  }

  private static List<String> ids(List<CustomerMonthlyUsageRecord> records) {
    return records.stream().map(CustomerMonthlyUsageRecord::getResourceId).collect(Collectors.toList());
  }

  private static List<String> rawIds(List<JsonObject> raw, Predicate<JsonObject> passes) {
    return raw.stream().filter(passes).map(r -> string(r, "resourceId").orElseThrow()).collect(Collectors.toList());
  }

  /** The raw {@code percentUsed} as an exact decimal; empty when absent, null, or beyond {@link BigDecimal}. */
  private static Optional<BigDecimal> rawPercent(JsonObject raw) {
    JsonElement value = raw.get("percentUsed");
    if (value == null || value.isJsonNull()) {
      return Optional.empty();
    }
    try {
      return Optional.of(new BigDecimal(value.getAsJsonPrimitive().getAsString()));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static Predicate<JsonObject> atLeast(BigDecimal percent) {
    return raw -> rawPercent(raw).map(p -> p.compareTo(percent) >= 0).orElse(false);
  }

  private static Predicate<JsonObject> inCurrencies(Set<String> upperCaseCodes) {
    return raw ->
        string(raw, "currencyCode").map(c -> upperCaseCodes.contains(c.toUpperCase(Locale.ROOT))).orElse(false);
  }

  private static final Predicate<JsonObject> WITH_BUDGET_AMOUNT =
      raw -> object(raw, "budget").flatMap(budget -> LiveStack.decimal(budget, "amount")).isPresent();

  @Test
  void aFilteredListIsExactlyTheMatchingRecordsInOrder() throws Exception {
    List<JsonObject> raw = LiveStack.rawRecords();
    BigDecimal eighty = new BigDecimal("80");
    Predicate<JsonObject> passes =
        atLeast(eighty).and(inCurrencies(Set.of("SEK", "EUR", "GBP", "JPY"))).and(WITH_BUDGET_AMOUNT);
    List<String> expected = rawIds(raw, passes);
    assertFalse(expected.isEmpty(), "the data set has matching records");
    assertTrue(expected.size() < raw.size(), "and others");

    List<CustomerMonthlyUsageRecord> records =
        list(
            ListOptions.builder()
                .minPercentUsed(eighty)
                .currencyCodes("sek", "EUR", "gbp", "Jpy")
                .onlyWithBudget(true)
                .build());
    assertEquals(expected, ids(records));
    for (CustomerMonthlyUsageRecord record : records) {
      assertTrue(Decimals.percentUsed(record).orElseThrow().compareTo(eighty) >= 0, record.getResourceId());
      assertTrue(Set.of("SEK", "EUR", "GBP", "JPY").contains(record.getCurrencyCode()), record.getResourceId());
      assertTrue(record.getBudget().hasAmount(), record.getResourceId());
    }
  }

  @Test
  void eachFilterAlone() throws Exception {
    List<JsonObject> raw = LiveStack.rawRecords();
    String first = string(raw.get(3), "resourceId").orElseThrow();
    String second = string(raw.get(raw.size() - 2), "resourceId").orElseThrow();
    assertEquals(
        List.of(first, second),
        ids(list(ListOptions.builder().customerIds(second.toUpperCase(Locale.ROOT), first).build())),
        "customer ids in any case, records in Partner Center's order");
    assertEquals(
        rawIds(raw, inCurrencies(Set.of("CHF"))), ids(list(ListOptions.builder().currencyCodes("chf").build())));
    assertEquals(rawIds(raw, WITH_BUDGET_AMOUNT), ids(list(ListOptions.builder().onlyWithBudget(true).build())));
    assertEquals(
        rawIds(raw, atLeast(new BigDecimal("100"))),
        ids(list(ListOptions.builder().minPercentUsed(new BigDecimal("1E+2")).build())));
  }

  @Test
  void minPercentUsedIsExactAtTheLastDigit() throws Exception {
    List<JsonObject> raw = LiveStack.rawRecords();
    // The largest finite percent the data set has, e.g. 79228162514264337593543950335: a double cannot tell it from
    // the next integer.
    BigDecimal top =
        raw.stream()
            .map(FiltersLiveTest::rawPercent)
            .flatMap(Optional::stream)
            .max(BigDecimal::compareTo)
            .orElseThrow();
    List<String> atTop = rawIds(raw, atLeast(top));
    assertFalse(atTop.isEmpty());
    assertEquals(atTop, ids(list(ListOptions.builder().minPercentUsed(top).build())));
    BigDecimal justAbove = top.add(BigDecimal.ONE.movePointLeft(top.scale() + 20));
    assertEquals(List.of(), ids(list(ListOptions.builder().minPercentUsed(justAbove).build())), justAbove.toString());
  }

  @Test
  void resumingWithTheSameFiltersContinuesTheFilteredList() throws Exception {
    List<String> expected = rawIds(LiveStack.rawRecords(), WITH_BUDGET_AMOUNT);
    ListOptions options = ListOptions.builder().onlyWithBudget(true).pageSize(1).build();
    List<CustomerMonthlyUsageRecord> received = new ArrayList<>();
    String token;
    try (UsageRecordStream stream = client.listUsageRecords(options, CALL_TIMEOUT)) {
      received.add(stream.next());
      token = stream.resumeToken();
    }
    assertFalse(token.isEmpty());
    try (UsageRecordStream rest = client.resumeUsageRecords(token, options, CALL_TIMEOUT)) {
      rest.forEachRemaining(received::add);
    }
    assertEquals(expected, ids(received), "every filtered record once");
  }

  @Test
  void anInvalidFilterIsInvalidArgumentNamingTheField() {
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () -> list(ListOptions.builder().customerIds("00000000-c0de-4000-8000-000000000000", "no-guid").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    ErrorDetails details = ErrorDetails.from(e);
    assertTrue(details.message().contains("customer_ids[1]"), details.message());
  }
}
