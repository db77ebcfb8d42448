package org.openkcm.gateway.corelink;

import io.grpc.MethodDescriptor;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import java.util.function.ToLongFunction;
import org.openkcm.node.concurrent.DaemonThreads;
import org.openkcm.node.grpc.NettyGrpcClient;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One long-lived bidirectional gRPC stream to one Core node, carrying many calls without an HTTP/2
 * stream set-up per call. Each request carries a call id that its answer echoes (the Core answers
 * calls as they finish, so a slow tenant holds up nobody else). Opened on first use on grpc-java's
 * channel, which fails a stream as soon as its connection does (a crashed node: at once; a vanished
 * one: within the keepalive); its pending calls then fail with CORE_UNAVAILABLE (so the link fails
 * over) and the next call opens a new stream. A call with no answer within the timeout also counts
 * as a broken stream: it fails over, and the stream is abandoned. Calls carry their deadlines and
 * one sweep per stream (every tenth of the timeout, at least 10 ms) looks for a late one, so a call
 * sets no timer of its own (a per-call timer woke a timer thread for almost every call at low
 * load); a silent stream fails between one timeout and 1.1 timeouts after the call.
 *
 * <p>(The first version ran on pekko-grpc's streaming client, which did not end a stream whose Core
 * was SIGKILLed: every call routed to it waited the full timeout, and CoreCrashIT took 31 s or more
 * instead of 13 s to serve every tenant again.)
 *
 * <p>Public for the load driver's two-hop baseline ({@code Relay} in {@code bench/}), which relays
 * a trivial echo over this same link to measure what a second hop costs on its own.
 */
public final class CoreStream<Q, R> {

  private static final Logger log = LoggerFactory.getLogger(CoreStream.class);

  /** Runs every stream's sweep for late calls (one daemon thread for the node). */
  private static final ScheduledExecutorService SWEEPS =
      Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("openkcm-core-stream-sweeps"));

  private final String name;
  private final NettyGrpcClient channel;
  private final MethodDescriptor<Q, R> method;
  private final ToLongFunction<R> callIdOf;
  private final AtomicLong nextCallId = new AtomicLong();
  private final int buffer;
  private final Duration timeout;
  private Open<Q, R> current;

  /** A call waiting for its answer until {@code deadline} ({@link System#nanoTime()}). */
  private record Pending<R>(CompletableFuture<R> answer, long deadline) {}

  private static final class Open<Q, R> {
    StreamObserver<Q> requests;
    final ConcurrentHashMap<Long, Pending<R>> pending = new ConcurrentHashMap<>();
    volatile boolean closed;

    /** Why the stream ended: the first reason wins (our own cancel echoes back as another). */
    volatile String why;

    ScheduledFuture<?> sweep;
  }

  public CoreStream(
      String name,
      NettyGrpcClient channel,
      MethodDescriptor<Q, R> method,
      ToLongFunction<R> callIdOf,
      int buffer,
      Duration timeout) {
    this.name = name;
    this.channel = channel;
    this.method = method;
    this.callIdOf = callIdOf;
    this.buffer = buffer;
    this.timeout = timeout;
  }

  /**
   * Sends the request {@code withCallId} builds (carrying the call id it is given, which its answer
   * echoes) on the stream; completes with its answer, or fails with CORE_UNAVAILABLE (stream
   * broken, full, or silent for the timeout).
   */
  public synchronized CompletionStage<R> call(LongFunction<Q> withCallId) {
    if (current == null || current.closed) {
      current = start();
    }
    Open<Q, R> s = current;
    if (s.pending.size() >= buffer) {
      return CompletableFuture.failedFuture(
          new OpenKcmException(
              ErrorReason.CORE_UNAVAILABLE,
              "stream to Core " + name + " is full (" + buffer + " calls waiting)"));
    }
    long id = nextCallId.incrementAndGet();
    CompletableFuture<R> answer = new CompletableFuture<>();
    s.pending.put(id, new Pending<>(answer, System.nanoTime() + timeout.toNanos()));
    try {
      s.requests.onNext(withCallId.apply(id));
    } catch (RuntimeException e) {
      fail(s, "refused a request (" + e + ")");
    }
    if (s.closed) {
      // the stream failed before this call was pending (a node that is gone fails a new stream at
      // once, on this thread): fail over now rather than wait out the timeout
      s.pending.remove(id);
      answer.completeExceptionally(
          new OpenKcmException(
              ErrorReason.CORE_UNAVAILABLE, "stream to Core " + name + " could not be opened"));
    }
    return answer;
  }

  /** A stream with a call past its deadline answers nothing: abandoned, its calls fail over. */
  private void sweep(Open<Q, R> s) {
    long now = System.nanoTime();
    for (Pending<R> p : s.pending.values()) {
      if (now - p.deadline() >= 0) {
        fail(s, "answered nothing within " + timeout.toMillis() + " ms");
        return;
      }
    }
  }

  private Open<Q, R> start() {
    Open<Q, R> s = new Open<>();
    long period = Math.max(10, timeout.toMillis() / 10);
    s.sweep = SWEEPS.scheduleAtFixedRate(() -> sweep(s), period, period, TimeUnit.MILLISECONDS);
    s.requests =
        channel.stream(
            method,
            new StreamObserver<R>() {
              @Override
              public void onNext(R answer) {
                Pending<R> waiting = s.pending.remove(callIdOf.applyAsLong(answer));
                if (waiting != null) {
                  waiting.answer().complete(answer);
                }
              }

              @Override
              public void onError(Throwable t) {
                fail(s, t.toString());
              }

              @Override
              public void onCompleted() {
                fail(s, "ended by the Core");
              }
            });
    return s;
  }

  /** Ends {@code s}: its pending calls fail with CORE_UNAVAILABLE; the next call opens another. */
  private void fail(Open<Q, R> s, String why) {
    boolean first;
    synchronized (this) {
      first = !s.closed;
      s.closed = true;
      if (first) {
        s.why = why;
        s.sweep.cancel(false);
        try {
          s.requests.onError(
              io.grpc.Status.CANCELLED.withDescription("abandoned: " + why).asRuntimeException());
        } catch (RuntimeException e) {
          // already over
        }
      }
    }
    if (first) {
      if (!s.pending.isEmpty()) {
        log.warn("stream to Core {} {}; failing {} pending call(s)", name, why, s.pending.size());
      }
    }
    for (Long id : s.pending.keySet()) {
      Pending<R> p = s.pending.remove(id);
      if (p != null) {
        p.answer()
            .completeExceptionally(
                new OpenKcmException(
                    ErrorReason.CORE_UNAVAILABLE, "stream to Core " + name + " " + s.why));
      }
    }
  }

  public synchronized void close() {
    if (current != null && !current.closed) {
      current.closed = true;
      current.why = "closed by this gateway";
      current.sweep.cancel(false);
      current.requests.onCompleted();
    }
  }
}
