package com.pcusage.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.pcusage.partnercenter.usage.v1.ListUsageRecordsRequest;
import com.pcusage.testing.FakeServer;
import io.grpc.ManagedChannel;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link ListOptions}: the request it makes (exact decimals, presence), its checks, and what the client sends. */
class ListOptionsTest {
  private static final String A = "00000000-c0de-4000-8000-000000000000";
  private static final String B = "78DDE6C4-C0DE-4004-8000-000000000004";

  @Test
  void defaultsAreAnEmptyRequest() {
    ListOptions options = ListOptions.builder().build();
    assertEquals(ListUsageRecordsRequest.getDefaultInstance(), options.toRequest());
    assertTrue(options.customerIds().isEmpty());
    assertTrue(options.minPercentUsed().isEmpty());
    assertTrue(options.maxStaleness().isEmpty());
    assertFalse(options.onlyWithBudget());
  }

  @Test
  void everyFilterIsSent() {
    ListUsageRecordsRequest request =
        ListOptions.builder()
            .customerIds(A, B)
            .currencyCodes(List.of("usd", "EUR"))
            .minPercentUsed(new BigDecimal("80"))
            .onlyWithBudget(true)
            .maxStaleness(Duration.ofMillis(-1500))
            .pageSize(7)
            .build()
            .toRequest();
    assertEquals(List.of(A, B), request.getCustomerIdsList());
    assertEquals(List.of("usd", "EUR"), request.getCurrencyCodesList());
    assertTrue(request.hasMinPercentUsed());
    assertEquals("80", request.getMinPercentUsed().getValue());
    assertTrue(request.getOnlyWithBudget());
    assertEquals(-1, request.getMaxStaleness().getSeconds());
    assertEquals(-500_000_000, request.getMaxStaleness().getNanos());
    assertEquals(7, request.getPageSize());
  }

  @Test
  void minPercentUsedKeepsEveryDigitAndTheScale() {
    for (String text :
        List.of("79.99999999999999999999", "80.0", "8E+1", "0", "0.00", "1234567890.12345678901234567890")) {
      ListUsageRecordsRequest request = ListOptions.builder().minPercentUsed(new BigDecimal(text)).build().toRequest();
      assertEquals(text, request.getMinPercentUsed().getValue());
      assertEquals(new BigDecimal(text), Decimals.toBigDecimal(request.getMinPercentUsed()));
    }
    // Zero is a filter (percent_used >= 0), distinct from none.
    assertTrue(ListOptions.builder().minPercentUsed(BigDecimal.ZERO).build().toRequest().hasMinPercentUsed());
    assertFalse(ListOptions.builder().minPercentUsed(null).build().toRequest().hasMinPercentUsed());
  }

  @Test
  void settersReplaceAndToBuilderKeeps() {
    ListOptions options =
        ListOptions.builder().customerIds(A).customerIds(B).currencyCodes("USD").onlyWithBudget(true).build();
    assertEquals(List.of(B), options.customerIds());
    ListOptions changed = options.toBuilder().minPercentUsed(new BigDecimal("100")).build();
    assertEquals(List.of(B), changed.customerIds());
    assertEquals(List.of("USD"), changed.currencyCodes());
    assertTrue(changed.onlyWithBudget());
    assertEquals(new BigDecimal("100"), changed.minPercentUsed().orElseThrow());
    assertTrue(options.minPercentUsed().isEmpty(), "the original is unchanged");
  }

  @Test
  void badValuesAreRefusedHere() {
    assertThrows(NullPointerException.class, () -> ListOptions.builder().customerIds(A, null));
    assertThrows(NullPointerException.class, () -> ListOptions.builder().currencyCodes((List<String>) null));
    assertThrows(IllegalArgumentException.class, () -> ListOptions.builder().pageSize(-1));
  }

  @Test
  void theClientSendsTheOptionsAndTheResumeToken() throws Exception {
    try (FakeServer server = new FakeServer()) {
      ManagedChannel channel = server.channel();
      try {
        UsageRecordsClient client = new UsageRecordsClient(channel, "t");
        ListOptions options =
            ListOptions.builder().customerIds(A).minPercentUsed(new BigDecimal("80.0")).onlyWithBudget(true).build();
        try (UsageRecordStream records = client.listUsageRecords(options, Duration.ofSeconds(20))) {
          assertFalse(records.hasNext());
        }
        try (UsageRecordStream records = client.resumeUsageRecords("token-9", options, Duration.ofSeconds(20))) {
          assertFalse(records.hasNext());
        }
        try (UsageRecordStream records = client.listUsageRecords(Duration.ofSeconds(20), Duration.ZERO)) {
          assertFalse(records.hasNext());
        }
        List<ListUsageRecordsRequest> sent = server.listRequests();
        assertEquals(options.toRequest(), sent.get(0));
        assertEquals(options.toRequest().toBuilder().setResumeToken("token-9").build(), sent.get(1));
        assertTrue(sent.get(2).hasMaxStaleness());
        assertEquals(0, sent.get(2).getMaxStaleness().getSeconds());
        assertFalse(sent.get(2).hasMinPercentUsed());
      } finally {
        channel.shutdownNow();
        channel.awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }
}
