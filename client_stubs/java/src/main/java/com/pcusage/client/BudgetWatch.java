package com.pcusage.client;

import com.pcusage.partnercenter.usage.v1.UsageRecordsServiceGrpc.UsageRecordsServiceBlockingStub;
import com.pcusage.partnercenter.usage.v1.WatchBudgetsRequest;
import com.pcusage.partnercenter.usage.v1.WatchBudgetsResponse;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A running budget watch ({@code WatchBudgets}), read event by event; made by {@link
 * UsageRecordsClient#watchBudgets(WatchOptions)}.
 *
 * <p>Each stream of the watch first sends the <b>level</b>, a {@code budget_event} of {@code KIND_LEVEL} for every
 * matching customer and every threshold it is at or above (customers in Partner Center's order, thresholds
 * ascending), then {@code initial_state_complete}; then, after each later poll, the <b>edges</b>: {@code
 * KIND_CROSSED_UP}, {@code KIND_CROSSED_DOWN} and {@code KIND_GONE}, and {@code poll_failed} when a poll failed (the
 * stream goes on). Events come in the order the server sent them. See docs/api.md, "Budget watch".
 *
 * <p><b>Delivery.</b> Edges are exactly once within a stream and at least once across reconnects: a new stream
 * starts with the level again, so after a reconnect a state already acted on comes again as {@code KIND_LEVEL}, and a
 * crossing that happened while disconnected arrives as part of the level, not as an edge (a customer that fell below
 * a threshold meanwhile is simply absent from it). Key handlers on customer and threshold and make them idempotent;
 * when {@link #reconnects()} grows, the events up to the next {@code initial_state_complete} are the whole new
 * state, replacing the old.
 *
 * <p><b>Reconnecting.</b> When a stream ends with {@code UNAVAILABLE} (the server draining, {@code SERVER_DRAINING};
 * the connection lost; the server not reachable), with a {@code DEADLINE_EXCEEDED} of the server's (its {@code
 * --max_watch_duration}) while the watch's own deadline has not passed, or with a {@code RESOURCE_EXHAUSTED} that
 * carries a {@code RetryInfo} (the server's stream limits), the watch starts a new stream by itself after a backoff (at
 * least the {@code RetryInfo} delay), at most {@link WatchOptions#maxReconnects()} times in a row; a stream that
 * delivers {@code
 * initial_state_complete} starts the count again. Past that bound, when the wait would pass the deadline, and for every
 * other error, {@link #hasNext()} throws. {@link #lastReconnectCause()} is the error a reconnect followed.
 *
 * <p><b>Errors, deadline, correlation id</b> are as for {@link UsageRecordStream}: {@link #hasNext()} throws {@link
 * StatusRuntimeException} when the watch fails (read it with {@link ErrorDetails#from}); events delivered before are
 * correct. The deadline ({@link WatchOptions#timeout()}) bounds the whole watch, reconnects included: past it the
 * watch fails with {@code DEADLINE_EXCEEDED}. {@link #correlationId()} is the current stream's {@code
 * x-ms-correlation-id}; each stream has its own.
 *
 * <p><b>Blocking and cancelling.</b> {@link #hasNext()} blocks until the next event, which may be a poll interval or
 * more away. {@link #close()} (or {@link #cancel()}, from any thread, also while another thread waits in {@link
 * #hasNext()} or in a reconnect's backoff) cancels the stream and ends the watch. Not thread-safe, except {@link
 * #cancel()}. Iterable once: {@link #iterator()} returns this watch.
 */
public final class BudgetWatch
    implements Iterator<WatchBudgetsResponse>, Iterable<WatchBudgetsResponse>, AutoCloseable {
  private final UsageRecordsServiceBlockingStub stub;
  private final WatchBudgetsRequest request;
  private final Deadline deadline; // null: none
  private final WatchOptions options;

  private final Object lock = new Object();
  // Guarded by lock: cancel() may come from another thread.
  private boolean cancelled;
  private Context.CancellableContext context;

  private Iterator<WatchBudgetsResponse> responses; // the current stream's; null between streams
  private AtomicReference<Metadata> headers = new AtomicReference<>();
  private WatchBudgetsResponse pending;
  private int pendingReconnects;
  private boolean finished;
  private int reconnectsStarted;
  private int reconnectsOfLastEvent;
  private int failuresInARow;
  private StatusRuntimeException lastReconnectCause;

  private BudgetWatch(UsageRecordsServiceBlockingStub stub, WatchOptions options) {
    this.stub = stub;
    this.options = options;
    this.request = options.toRequest();
    this.deadline =
        options.timeout().map(t -> Deadline.after(t.toNanos(), TimeUnit.NANOSECONDS)).orElse(null);
  }

  /** Starts the first stream. */
  static BudgetWatch start(UsageRecordsServiceBlockingStub stub, WatchOptions options) {
    BudgetWatch watch = new BudgetWatch(stub, options);
    watch.startStream();
    return watch;
  }

  /**
   * Starts a call inside a cancellable {@link Context} (as {@link UsageRecordStream} does: cancelling the context
   * cancels the call, even while another thread is blocked reading it).
   */
  private void startStream() {
    synchronized (lock) {
      if (cancelled) {
        finished = true;
        throw Status.CANCELLED.withDescription("the watch was cancelled").asRuntimeException();
      }
      AtomicReference<Metadata> streamHeaders = new AtomicReference<>();
      UsageRecordsServiceBlockingStub callStub =
          stub.withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(streamHeaders, new AtomicReference<>()));
      if (deadline != null) {
        callStub = callStub.withDeadline(deadline);
      }
      Context.CancellableContext streamContext = Context.current().withCancellation();
      UsageRecordsServiceBlockingStub started = callStub;
      try {
        responses = streamContext.call(() -> started.watchBudgets(request));
      } catch (RuntimeException e) {
        streamContext.cancel(e);
        throw e;
      } catch (Exception e) {
        streamContext.cancel(e);
        throw new IllegalStateException(e);
      }
      context = streamContext;
      headers = streamHeaders;
    }
  }

  /**
   * Whether another event follows; blocks until one arrives (reconnecting if need be, see above). False once the
   * watch was closed, or if the server ended a stream with OK, which it does not do.
   *
   * @throws StatusRuntimeException when the watch fails, including {@code CANCELLED} after {@link #cancel()}, {@code
   *     DEADLINE_EXCEEDED} past the deadline, and the last {@code UNAVAILABLE} when the reconnects in a row are used up
   */
  @Override
  public boolean hasNext() {
    if (pending != null) {
      return true;
    }
    while (!finished) {
      if (responses == null) {
        startStream();
      }
      try {
        if (responses.hasNext()) {
          pending = responses.next();
          pendingReconnects = reconnectsStarted;
          if (pending.hasInitialStateComplete()) {
            failuresInARow = 0; // a healthy stream: the bound counts reconnects in a row
          }
          return true;
        }
        finished = true;
        releaseStream();
        return false;
      } catch (StatusRuntimeException e) {
        releaseStream();
        Duration wait = reconnectWait(e);
        if (wait == null) {
          finished = true;
          throw e;
        }
        failuresInARow++;
        reconnectsStarted++;
        lastReconnectCause = e;
        awaitBackoff(wait, e);
      }
    }
    return false;
  }

  /** The wait before reconnecting after {@code e}; null when the watch does not reconnect. */
  private Duration reconnectWait(StatusRuntimeException e) {
    synchronized (lock) {
      if (cancelled) {
        return null;
      }
    }
    Status.Code code = e.getStatus().getCode();
    // The server's RetryInfo: its stream limits (STREAM_LIMIT_REACHED, CALLER_STREAM_LIMIT_REACHED) say when to retry.
    Optional<Duration> retryDelay =
        code == Status.Code.RESOURCE_EXHAUSTED ? ErrorDetails.from(e).retryDelay() : Optional.empty();
    boolean waitingHelps =
        code == Status.Code.UNAVAILABLE
            || (code == Status.Code.DEADLINE_EXCEEDED && (deadline == null || !deadline.isExpired()))
            || retryDelay.isPresent();
    if (!waitingHelps || failuresInARow >= options.maxReconnects()) {
      return null;
    }
    long ceiling = options.maxBackoff().toNanos();
    long backoff = options.initialBackoff().toNanos();
    for (int i = 0; i < failuresInARow && backoff < ceiling; i++) {
      backoff = Math.min(ceiling, backoff * 2);
    }
    backoff = Math.min(ceiling, backoff);
    long jittered = backoff / 2 + (backoff > 1 ? ThreadLocalRandom.current().nextLong(backoff - backoff / 2 + 1) : 0);
    if (retryDelay.isPresent()) {
      jittered = Math.max(jittered, retryDelay.get().toNanos());
    }
    if (deadline != null && deadline.timeRemaining(TimeUnit.NANOSECONDS) <= jittered) {
      return null; // it would pass the deadline: the stream's own error says more than DEADLINE_EXCEEDED
    }
    return Duration.ofNanos(jittered);
  }

  /** Waits {@code wait}, or until {@link #cancel()}; throws {@code CANCELLED} if cancelled or interrupted. */
  private void awaitBackoff(Duration wait, StatusRuntimeException cause) {
    long end = System.nanoTime() + wait.toNanos();
    synchronized (lock) {
      try {
        while (!cancelled) {
          long left = end - System.nanoTime();
          if (left <= 0) {
            return;
          }
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        cancelled = true;
        finished = true;
        throw Status.CANCELLED
            .withDescription("interrupted while waiting to reconnect the watch")
            .withCause(e)
            .asRuntimeException();
      }
      finished = true;
      throw Status.CANCELLED
          .withDescription("the watch was cancelled while waiting to reconnect")
          .withCause(cause)
          .asRuntimeException();
    }
  }

  private void releaseStream() {
    synchronized (lock) {
      responses = null;
      if (context != null) {
        context.cancel(null); // the call has ended (or is given up): releases the context
      }
    }
  }

  /** The next event, in the order the server sent it. */
  @Override
  public WatchBudgetsResponse next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    WatchBudgetsResponse event = pending;
    pending = null;
    reconnectsOfLastEvent = pendingReconnects;
    return event;
  }

  /** This watch, for a for-each loop; it can be iterated once. */
  @Override
  public Iterator<WatchBudgetsResponse> iterator() {
    return this;
  }

  /**
   * How many reconnects came before the stream that the event last returned by {@link #next()} came from: 0 for the
   * first stream's. When it grows, a new level has started.
   */
  public int reconnects() {
    return reconnectsOfLastEvent;
  }

  /** The error of the stream the watch last reconnected after; empty before any reconnect. */
  public Optional<StatusRuntimeException> lastReconnectCause() {
    return Optional.ofNullable(lastReconnectCause);
  }

  /**
   * The current stream's {@code x-ms-correlation-id} (sent upstream as MS-CorrelationId; quote it to Microsoft
   * support), once its response headers have arrived, which they do before its first event. Each stream, so each
   * reconnect, has its own.
   */
  public Optional<String> correlationId() {
    Metadata received = headers.get();
    return received == null ? Optional.empty() : Optional.ofNullable(received.get(UsageRecordsClient.CORRELATION_ID));
  }

  /**
   * Cancels the watch; safe from any thread. A reader blocked in (or later calling) {@link #hasNext()} gets {@code
   * CANCELLED} once the event already received is read; a reconnect's backoff ends at once; no new stream starts.
   */
  public void cancel() {
    synchronized (lock) {
      cancelled = true;
      if (context != null) {
        context.cancel(null);
      }
      lock.notifyAll();
    }
  }

  /** The remaining events as a sequential {@link Stream}; closing it closes this watch. */
  public Stream<WatchBudgetsResponse> stream() {
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(this, Spliterator.ORDERED | Spliterator.NONNULL),
            false)
        .onClose(this::close);
  }

  /** Cancels the watch if it is still running; after this {@link #hasNext()} is false. */
  @Override
  public void close() {
    cancel();
    finished = true;
    pending = null;
  }
}
