package com.pcusage.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@link ErrorDetails} on statuses built by hand, without a server. */
class ErrorDetailsTest {
  @Test
  void readsErrorInfoAndRetryInfo() {
    com.google.rpc.Status status =
        com.google.rpc.Status.newBuilder()
            .setCode(Code.RESOURCE_EXHAUSTED_VALUE)
            .setMessage("Partner Center throttled page 0")
            .addDetails(
                Any.pack(
                    ErrorInfo.newBuilder()
                        .setReason("PARTNER_CENTER_RATE_LIMITED")
                        .setDomain("pcusage")
                        .putMetadata("ms_correlation_id", "aaaa0000-bb11-2222-33cc-444444dddddd")
                        .build()))
            .addDetails(
                Any.pack(
                    RetryInfo.newBuilder()
                        .setRetryDelay(com.google.protobuf.Duration.newBuilder().setSeconds(1).setNanos(500_000_000))
                        .build()))
            .build();
    StatusRuntimeException error = StatusProto.toStatusRuntimeException(status);

    ErrorDetails details = ErrorDetails.from(new RuntimeException("wrapped", error));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, details.code());
    assertEquals("Partner Center throttled page 0", details.message());
    assertEquals("PARTNER_CENTER_RATE_LIMITED", details.reason());
    assertEquals(Optional.of("aaaa0000-bb11-2222-33cc-444444dddddd"), details.correlationId());
    assertEquals(Optional.of(Duration.ofMillis(1500)), details.retryDelay());
    assertTrue(details.toString().contains("reason PARTNER_CENTER_RATE_LIMITED"), details.toString());
  }

  @Test
  void statusWithoutDetails() {
    ErrorDetails details = ErrorDetails.from(Status.DEADLINE_EXCEEDED.asRuntimeException());
    assertEquals(Status.Code.DEADLINE_EXCEEDED, details.code());
    assertEquals("", details.reason());
    assertEquals(Map.of(), details.metadata());
    assertEquals(Optional.empty(), details.errorInfo());
    assertEquals(Optional.empty(), details.retryDelay());
  }

  @Test
  void otherThrowablesAreUnknown() {
    ErrorDetails details = ErrorDetails.from(new IllegalStateException("boom"));
    assertEquals(Status.Code.UNKNOWN, details.code());
    assertEquals(Optional.empty(), details.errorInfo());
  }
}
