package com.pcusage.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * What a failed pcusage call says about its failure: the gRPC code and message, and the {@code google.rpc.ErrorInfo}
 * (stable {@code reason}, {@code metadata} such as {@code ms_correlation_id}) and {@code google.rpc.RetryInfo} (how long
 * to wait) that pcusage puts in the {@code grpc-status-details-bin} trailer. See docs/api.md, "Errors".
 *
 * <pre>{@code
 * try {
 *   ...
 * } catch (StatusRuntimeException e) {
 *   ErrorDetails details = ErrorDetails.from(e);
 *   if (details.reason().equals("PARTNER_CENTER_RATE_LIMITED")) {
 *     Duration wait = details.retryDelay().orElse(Duration.ofSeconds(30));
 *   }
 * }
 * }</pre>
 *
 * @param code the call's status code
 * @param message the status message ("" when there is none)
 * @param errorInfo the {@code ErrorInfo} detail; empty when the status carries none (e.g. a deadline that expired at
 *     the caller)
 * @param retryDelay the {@code RetryInfo} delay; present when waiting helps (throttling)
 */
public record ErrorDetails(
    Status.Code code, String message, Optional<ErrorInfo> errorInfo, Optional<Duration> retryDelay) {

  /**
   * Reads the status and its details from a failed call's exception ({@link io.grpc.StatusRuntimeException}, {@link
   * io.grpc.StatusException}, or anything caused by one) with grpc-java's stock {@link StatusProto#fromThrowable}.
   * Details that cannot be decoded are left out. Any other throwable reads as {@code UNKNOWN} without details.
   */
  public static ErrorDetails from(Throwable throwable) {
    Status status = Status.fromThrowable(throwable);
    Optional<ErrorInfo> errorInfo = Optional.empty();
    Optional<Duration> retryDelay = Optional.empty();
    com.google.rpc.Status details = StatusProto.fromThrowable(throwable);
    if (details != null) {
      for (Any detail : details.getDetailsList()) {
        try {
          if (detail.is(ErrorInfo.class) && errorInfo.isEmpty()) {
            errorInfo = Optional.of(detail.unpack(ErrorInfo.class));
          } else if (detail.is(RetryInfo.class) && retryDelay.isEmpty()) {
            com.google.protobuf.Duration delay = detail.unpack(RetryInfo.class).getRetryDelay();
            retryDelay = Optional.of(Duration.ofSeconds(delay.getSeconds(), delay.getNanos()));
          }
        } catch (InvalidProtocolBufferException e) {
          // A detail that does not parse as its own type tells nothing reliable; leave it out.
        }
      }
    }
    String message = status.getDescription() == null ? "" : status.getDescription();
    return new ErrorDetails(status.getCode(), message, errorInfo, retryDelay);
  }

  /** The {@code ErrorInfo} reason, e.g. {@code PARTNER_CENTER_RATE_LIMITED}; "" when there is no ErrorInfo. */
  public String reason() {
    return errorInfo.map(ErrorInfo::getReason).orElse("");
  }

  /** The {@code ErrorInfo} metadata (e.g. {@code ms_correlation_id}, {@code http_status}); empty without one. */
  public Map<String, String> metadata() {
    return errorInfo.map(ErrorInfo::getMetadataMap).orElse(Map.of());
  }

  /** The correlation id to quote to Microsoft support, from the ErrorInfo metadata, when there is one. */
  public Optional<String> correlationId() {
    return Optional.ofNullable(metadata().get("ms_correlation_id"));
  }

  /** One line for logs: {@code CODE: message (reason REASON)}. Holds no token. */
  @Override
  public String toString() {
    StringBuilder line = new StringBuilder(code.name()).append(": ").append(message);
    if (!reason().isEmpty()) {
      line.append(" (reason ").append(reason()).append(')');
    }
    retryDelay.ifPresent(delay -> line.append(" (retry after ").append(delay).append(')'));
    return line.toString();
  }
}
