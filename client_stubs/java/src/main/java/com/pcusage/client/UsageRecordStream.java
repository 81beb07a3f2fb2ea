package com.pcusage.client;

import com.pcusage.partnercenter.usage.v1.CustomerMonthlyUsageRecord;
import com.pcusage.partnercenter.usage.v1.ListUsageRecordsRequest;
import com.pcusage.partnercenter.usage.v1.ListUsageRecordsResponse;
import com.pcusage.partnercenter.usage.v1.UsageRecordsServiceGrpc.UsageRecordsServiceBlockingStub;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * One running {@code ListUsageRecords} call, read record by record.
 *
 * <p>{@link #hasNext()} blocks until the next record arrives and throws {@link StatusRuntimeException} when the call
 * fails (read it with {@link ErrorDetails#from}); records delivered before a failure are correct. {@link #close()} (or
 * {@link #cancel()}, from any thread) cancels the call, which makes the server stop asking Partner Center for pages.
 * {@link #resumeToken()} says where to continue after a failure. Not thread-safe, except {@link #cancel()}.
 */
public final class UsageRecordStream implements Iterator<CustomerMonthlyUsageRecord>, AutoCloseable {
  private final Context.CancellableContext context;
  private final Iterator<ListUsageRecordsResponse> responses;
  private final AtomicReference<Metadata> headers;

  private Iterator<CustomerMonthlyUsageRecord> batch = Collections.emptyIterator();
  private String batchResumeToken = "";
  private String resumeToken = "";
  private Long partnerCenterTotalCount;
  private Instant snapshotTime;
  private boolean fromSharedSnapshot;
  private boolean finished;

  private UsageRecordStream(
      Context.CancellableContext context,
      Iterator<ListUsageRecordsResponse> responses,
      AtomicReference<Metadata> headers) {
    this.context = context;
    this.responses = responses;
    this.headers = headers;
  }

  /**
   * Starts the call inside a cancellable {@link Context}: grpc-java ties a call to the context current when it
   * starts, so cancelling that context cancels the call, even while another thread is blocked reading it.
   */
  static UsageRecordStream start(
      UsageRecordsServiceBlockingStub stub, ListUsageRecordsRequest request, Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive: " + timeout);
    }
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    UsageRecordsServiceBlockingStub callStub =
        stub.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
            .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));
    Context.CancellableContext context = Context.current().withCancellation();
    Iterator<ListUsageRecordsResponse> responses;
    try {
      responses = context.call(() -> callStub.listUsageRecords(request));
    } catch (RuntimeException e) {
      context.cancel(e);
      throw e;
    } catch (Exception e) {
      context.cancel(e);
      throw new IllegalStateException(e);
    }
    return new UsageRecordStream(context, responses, headers);
  }

  /**
   * Whether another record follows; blocks until one arrives or the stream ends. False once the stream has ended OK
   * (every record delivered) or was closed.
   *
   * @throws StatusRuntimeException when the call fails, including {@code CANCELLED} after {@link #cancel()} and
   *     {@code DEADLINE_EXCEEDED} past the deadline
   */
  @Override
  public boolean hasNext() {
    while (!batch.hasNext()) {
      if (finished) {
        return false;
      }
      ListUsageRecordsResponse response;
      try {
        if (!responses.hasNext()) {
          finished = true;
          context.cancel(null); // releases the context; the call has already ended
          return false;
        }
        response = responses.next();
      } catch (RuntimeException e) {
        finished = true;
        context.cancel(null);
        throw e;
      }
      if (partnerCenterTotalCount == null && response.hasPartnerCenterTotalCount()) {
        partnerCenterTotalCount = response.getPartnerCenterTotalCount();
      }
      if (snapshotTime == null && response.hasSnapshotTime()) {
        snapshotTime =
            Instant.ofEpochSecond(response.getSnapshotTime().getSeconds(), response.getSnapshotTime().getNanos());
        fromSharedSnapshot = response.getFromSharedSnapshot();
      }
      batch = response.getUsageRecordsList().iterator();
      batchResumeToken = response.getResumeToken();
      if (!batch.hasNext()) {
        resumeToken = batchResumeToken; // a message without records: nothing left to deliver from it
      }
    }
    return true;
  }

  /** The next record, in Partner Center's order. */
  @Override
  public CustomerMonthlyUsageRecord next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    CustomerMonthlyUsageRecord record = batch.next();
    if (!batch.hasNext()) {
      resumeToken = batchResumeToken;
    }
    return record;
  }

  /**
   * The token to continue from: the {@code resume_token} of the last message all of whose records {@link #next()}
   * has returned ("" before the first). A new call with it ({@link UsageRecordsClient#resumeUsageRecords}) starts with
   * the first record after that message, so no record is lost or received twice; records of a message read only in
   * part come again.
   */
  public String resumeToken() {
    return resumeToken;
  }

  /**
   * Partner Center's {@code totalCount}, from the first message, once it has arrived. It is Partner Center's own
   * figure, not the number of records: count those.
   */
  public OptionalLong partnerCenterTotalCount() {
    return partnerCenterTotalCount == null ? OptionalLong.empty() : OptionalLong.of(partnerCenterTotalCount);
  }

  /**
   * When the walk of Partner Center these records come from started, from the first message, once it has arrived.
   */
  public Optional<Instant> snapshotTime() {
    return Optional.ofNullable(snapshotTime);
  }

  /**
   * Whether the records come from a list another call fetched (a shared snapshot, at most the request's {@code
   * max_staleness} old), from the first message; false before it.
   */
  public boolean fromSharedSnapshot() {
    return fromSharedSnapshot;
  }

  /**
   * The call's {@code x-ms-correlation-id} (sent to Partner Center as MS-CorrelationId; quote it to Microsoft
   * support), once the response headers have arrived, which they do before the first record.
   */
  public Optional<String> correlationId() {
    Metadata received = headers.get();
    return received == null ? Optional.empty() : Optional.ofNullable(received.get(UsageRecordsClient.CORRELATION_ID));
  }

  /**
   * Cancels the call; safe from any thread. A reader blocked in (or later calling) {@link #hasNext()} gets {@code
   * CANCELLED} once the records already received are read. Does nothing after the stream ended.
   */
  public void cancel() {
    context.cancel(null);
  }

  /** The remaining records as a sequential {@link Stream}; closing it closes this stream. */
  public Stream<CustomerMonthlyUsageRecord> stream() {
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL),
            false)
        .onClose(this::close);
  }

  /** Cancels the call if it is still running; after this {@link #hasNext()} is false. */
  @Override
  public void close() {
    finished = true;
    batch = Collections.emptyIterator();
    context.cancel(null);
  }
}
