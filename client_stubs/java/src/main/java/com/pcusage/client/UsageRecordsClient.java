package com.pcusage.client;

import com.pcusage.partnercenter.usage.v1.ListUsageRecordsRequest;
import com.pcusage.partnercenter.usage.v1.UsageRecordsServiceGrpc;
import com.pcusage.partnercenter.usage.v1.UsageRecordsServiceGrpc.UsageRecordsServiceBlockingStub;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.Objects;

/**
 * A blocking client of pcusage's {@code UsageRecordsService} over a {@link Channel} the caller owns (and shuts down).
 * For TLS, mTLS or an API key, open that channel with {@link ConnectionOptions}.
 *
 * <pre>{@code
 * ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:50051", InsecureChannelCredentials.create()).build();
 * UsageRecordsClient client = new UsageRecordsClient(channel, System.getenv("PCUSAGE_ACCESS_TOKEN"));
 * try (UsageRecordStream records = client.listUsageRecords(Duration.ofMinutes(1))) {
 *   while (records.hasNext()) {
 *     CustomerMonthlyUsageRecord record = records.next();
 *     ...
 *   }
 * } catch (StatusRuntimeException e) {
 *   ErrorDetails details = ErrorDetails.from(e);  // code, message, ErrorInfo reason, RetryInfo delay
 * }
 * }</pre>
 *
 * <p>Filters: {@link #listUsageRecords(ListOptions, Duration)}. Budget watches: {@link #watchBudgets(WatchOptions)}.
 */
public final class UsageRecordsClient {
  /** Request metadata carrying the Partner Center token: {@code authorization: Bearer <token>}. */
  public static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** The correlation id metadata: sent by the caller (optional) and returned in the initial response metadata. */
  public static final Metadata.Key<String> CORRELATION_ID =
      Metadata.Key.of("x-ms-correlation-id", Metadata.ASCII_STRING_MARSHALLER);

  private final UsageRecordsServiceBlockingStub stub;

  /**
   * A client whose calls carry {@code authorization: Bearer <accessToken>}.
   *
   * @param channel where pcusage listens
   * @param accessToken the Partner Center App+User token; null or empty sends none (the server then uses its own
   *     {@code --access_token_file}, or fails with UNAUTHENTICATED {@code ACCESS_TOKEN_MISSING})
   */
  public UsageRecordsClient(Channel channel, String accessToken) {
    UsageRecordsServiceBlockingStub stub = UsageRecordsServiceGrpc.newBlockingStub(Objects.requireNonNull(channel));
    if (accessToken != null && !accessToken.isEmpty()) {
      Metadata headers = new Metadata();
      headers.put(AUTHORIZATION, "Bearer " + accessToken);
      stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    this.stub = stub;
  }

  /**
   * The generated blocking stub with the token attached, for callers who want the raw message stream; set a deadline
   * on it ({@code withDeadlineAfter}) before each call.
   */
  public UsageRecordsServiceBlockingStub blockingStub() {
    return stub;
  }

  /** Streams every record, in batches of the server's default size, all within {@code timeout}. */
  public UsageRecordStream listUsageRecords(Duration timeout) {
    return listUsageRecords(ListUsageRecordsRequest.getDefaultInstance(), timeout);
  }

  /**
   * Streams every record from a list at most {@code maxStaleness} old: one the server fetched for another call that
   * recently is served again without asking Partner Center, and {@link Duration#ZERO} asks for a fresh walk.
   */
  public UsageRecordStream listUsageRecords(Duration timeout, Duration maxStaleness) {
    return listUsageRecords(
        ListOptions.builder().maxStaleness(Objects.requireNonNull(maxStaleness, "maxStaleness")).build(), timeout);
  }

  /**
   * Streams the records that pass {@code options}' filters (customers, currencies, least {@code percent_used}, only
   * with a budget; docs/api.md, "Filters"), in Partner Center's order, all within {@code timeout}. A filtered call
   * costs Partner Center no more than an unfiltered one: the server filters the list it walked or shared.
   */
  public UsageRecordStream listUsageRecords(ListOptions options, Duration timeout) {
    return listUsageRecords(options.toRequest(), timeout);
  }

  /**
   * Continues an earlier stream after the last message it fully delivered: pass that stream's {@link
   * UsageRecordStream#resumeToken()}.
   */
  public UsageRecordStream resumeUsageRecords(String resumeToken, Duration timeout) {
    return listUsageRecords(ListUsageRecordsRequest.newBuilder().setResumeToken(resumeToken).build(), timeout);
  }

  /**
   * Continues an earlier filtered stream: pass that stream's {@link UsageRecordStream#resumeToken()} and the same
   * {@code options} (the server does not bind a token to filters; other filters continue from the same position with
   * those filters).
   */
  public UsageRecordStream resumeUsageRecords(String resumeToken, ListOptions options, Duration timeout) {
    return listUsageRecords(options.toRequest().toBuilder().setResumeToken(resumeToken).build(), timeout);
  }

  /**
   * Starts {@code ListUsageRecords} with {@code request} (page size, resume token). The deadline bounds the whole
   * stream: past it the stream fails with {@code DEADLINE_EXCEEDED}. Close the returned stream when done with it.
   */
  public UsageRecordStream listUsageRecords(ListUsageRecordsRequest request, Duration timeout) {
    return UsageRecordStream.start(stub, request, timeout);
  }

  /**
   * Starts a budget watch ({@code WatchBudgets}): the level, then an event each time a customer crosses a threshold;
   * reconnecting by itself on {@code UNAVAILABLE} within {@code options}' bound. See {@link BudgetWatch}. Close the
   * returned watch when done with it.
   */
  public BudgetWatch watchBudgets(WatchOptions options) {
    return BudgetWatch.start(stub, options);
  }

  /** {@code duration} as a {@code google.protobuf.Duration}. */
  static com.google.protobuf.Duration toProto(Duration duration) {
    // java.time keeps nanos non-negative; protobuf wants them to share the seconds' sign.
    long seconds = duration.getSeconds();
    int nanos = duration.getNano();
    if (seconds < 0 && nanos > 0) {
      seconds += 1;
      nanos -= 1_000_000_000;
    }
    return com.google.protobuf.Duration.newBuilder().setSeconds(seconds).setNanos(nanos).build();
  }
}
