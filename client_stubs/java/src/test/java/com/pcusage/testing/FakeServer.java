package com.pcusage.testing;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import com.pcusage.partnercenter.usage.v1.ListUsageRecordsRequest;
import com.pcusage.partnercenter.usage.v1.ListUsageRecordsResponse;
import com.pcusage.partnercenter.usage.v1.UsageRecordsServiceGrpc;
import com.pcusage.partnercenter.usage.v1.WatchBudgetsRequest;
import com.pcusage.partnercenter.usage.v1.WatchBudgetsResponse;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scripted {@code UsageRecordsService} in the test's JVM, for unit tests of the helpers without the live stack.
 * grpc-java's in-process transport is a separate artifact ({@code grpc-inprocess}) this project does not depend on, so
 * it is served by grpc-netty-shaded (the client's own runtime transport) on a free loopback port.
 *
 * <p>Each {@code WatchBudgets} call takes the next {@link WatchScript}; a call with none left fails with {@code
 * FAILED_PRECONDITION}. Each call's request metadata is recorded, and every response carries {@code
 * x-ms-correlation-id: fake-<call number>}, counting from 1 over all calls.
 */
public final class FakeServer implements AutoCloseable {
  /** The correlation id metadata (as {@code UsageRecordsClient.CORRELATION_ID}). */
  public static final Metadata.Key<String> CORRELATION_ID =
      Metadata.Key.of("x-ms-correlation-id", Metadata.ASCII_STRING_MARSHALLER);

  private static final Context.Key<Metadata> HEADERS = Context.key("headers");
  private static final Duration SCRIPT_WAIT_BOUND = Duration.ofSeconds(30);

  /** What one {@code WatchBudgets} call does: send events, then end it (or wait for the client to cancel). */
  @FunctionalInterface
  public interface WatchScript {
    void run(WatchCall call) throws Exception;
  }

  /** One {@code WatchBudgets} call as the server saw it. */
  public static final class WatchCall {
    public final WatchBudgetsRequest request;
    public final Metadata headers;
    public final ServerCallStreamObserver<WatchBudgetsResponse> out;
    /** Counted down when the client cancels the call. */
    public final CountDownLatch cancelled = new CountDownLatch(1);

    WatchCall(WatchBudgetsRequest request, Metadata headers, ServerCallStreamObserver<WatchBudgetsResponse> out) {
      this.request = request;
      this.headers = headers;
      this.out = out;
    }

    /** Sends {@code events} in order. */
    public void send(WatchBudgetsResponse... events) {
      for (WatchBudgetsResponse event : events) {
        out.onNext(event);
      }
    }

    /** Waits (bounded) until the client cancels the call; true if it did. */
    public boolean awaitCancel() throws InterruptedException {
      return cancelled.await(SCRIPT_WAIT_BOUND.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private final Server server;
  private final Queue<WatchScript> watchScripts = new ConcurrentLinkedQueue<>();
  private final List<WatchCall> watchCalls = new ArrayList<>();
  private final List<ListUsageRecordsRequest> listRequests = new ArrayList<>();
  private final AtomicInteger callNumber = new AtomicInteger();

  public FakeServer() throws IOException {
    ServerInterceptor metadata =
        new ServerInterceptor() {
          @Override
          public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
              ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
            String correlationId = "fake-" + callNumber.incrementAndGet();
            ServerCall<ReqT, RespT> tagged =
                new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                  @Override
                  public void sendHeaders(Metadata responseHeaders) {
                    responseHeaders.put(CORRELATION_ID, correlationId);
                    super.sendHeaders(responseHeaders);
                  }
                };
            return Contexts.interceptCall(Context.current().withValue(HEADERS, headers), tagged, headers, next);
          }
        };
    server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), InsecureServerCredentials.create())
            .addService(ServerInterceptors.intercept(new Service(), metadata))
            .build()
            .start();
  }

  /** host:port to dial. */
  public String target() {
    return "127.0.0.1:" + server.getPort();
  }

  /** A plaintext channel to this server; the caller shuts it down. */
  public ManagedChannel channel() {
    return Grpc.newChannelBuilder(target(), InsecureChannelCredentials.create()).build();
  }

  /** Queues the scripts of the next {@code WatchBudgets} calls, in order. */
  public FakeServer onWatch(WatchScript... scripts) {
    watchScripts.addAll(List.of(scripts));
    return this;
  }

  /** The {@code WatchBudgets} calls so far. */
  public synchronized List<WatchCall> watchCalls() {
    return List.copyOf(watchCalls);
  }

  /** The {@code ListUsageRecords} requests so far (each is answered with one message without records). */
  public synchronized List<ListUsageRecordsRequest> listRequests() {
    return List.copyOf(listRequests);
  }

  /** A status with an ErrorInfo of {@code reason}, as pcusage sends its errors. */
  public static StatusRuntimeException error(io.grpc.Status.Code code, String message, String reason) {
    return StatusProto.toStatusRuntimeException(status(code, message, reason).build());
  }

  /** As {@link #error}, with a RetryInfo of {@code retryDelay}. */
  public static StatusRuntimeException error(
      io.grpc.Status.Code code, String message, String reason, Duration retryDelay) {
    RetryInfo retry =
        RetryInfo.newBuilder()
            .setRetryDelay(
                com.google.protobuf.Duration.newBuilder()
                    .setSeconds(retryDelay.getSeconds())
                    .setNanos(retryDelay.getNano()))
            .build();
    return StatusProto.toStatusRuntimeException(status(code, message, reason).addDetails(Any.pack(retry)).build());
  }

  private static com.google.rpc.Status.Builder status(io.grpc.Status.Code code, String message, String reason) {
    return com.google.rpc.Status.newBuilder()
        .setCode(code.value())
        .setMessage(message)
        .addDetails(
            Any.pack(
                ErrorInfo.newBuilder()
                    .setReason(reason)
                    .setDomain("pcusage")
                    .putAllMetadata(Map.of("fake", "true"))
                    .build()));
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private final class Service extends UsageRecordsServiceGrpc.UsageRecordsServiceImplBase {
    @Override
    public void listUsageRecords(
        ListUsageRecordsRequest request, StreamObserver<ListUsageRecordsResponse> responseObserver) {
      synchronized (FakeServer.this) {
        listRequests.add(request);
      }
      responseObserver.onNext(ListUsageRecordsResponse.newBuilder().setPartnerCenterTotalCount(0).build());
      responseObserver.onCompleted();
    }

    @Override
    public void watchBudgets(WatchBudgetsRequest request, StreamObserver<WatchBudgetsResponse> responseObserver) {
      ServerCallStreamObserver<WatchBudgetsResponse> out =
          (ServerCallStreamObserver<WatchBudgetsResponse>) responseObserver;
      WatchCall call = new WatchCall(request, HEADERS.get(), out);
      // Not setOnCancelHandler: that runs on the call's serializing executor, which a script holding the call
      // blocks. The call's Context is cancelled at once, from the transport.
      Context.current().addListener(context -> call.cancelled.countDown(), Runnable::run);
      synchronized (FakeServer.this) {
        watchCalls.add(call);
      }
      WatchScript script = watchScripts.poll();
      if (script == null) {
        out.onError(io.grpc.Status.FAILED_PRECONDITION.withDescription("no script left").asRuntimeException());
        return;
      }
      try {
        script.run(call);
      } catch (Exception e) {
        if (!out.isCancelled()) {
          out.onError(io.grpc.Status.INTERNAL.withDescription("script failed: " + e).asRuntimeException());
        }
      }
    }
  }
}
