package org.openkcm.gateway.corelink;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Source;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One long-lived bidirectional gRPC stream to one Core node, carrying many calls without an HTTP/2
 * stream set-up per call. Each request carries a call id that its answer echoes (the Core answers
 * calls as they finish, so a slow tenant holds up nobody else). Opened on first use; when it fails
 * or ends, its pending calls fail with CORE_UNAVAILABLE (so the link fails over) and the next call
 * opens a new one.
 */
final class CoreStream<Q, R> {

  private static final Logger log = LoggerFactory.getLogger(CoreStream.class);

  private final String name;
  private final Function<Source<Q, NotUsed>, Source<R, NotUsed>> open;
  private final BiFunction<Q, Long, Q> withCallId;
  private final ToLongFunction<R> callIdOf;
  private final AtomicLong nextCallId = new AtomicLong();
  private final Materializer materializer;
  private final int buffer;
  private final Duration timeout;
  private Open<Q, R> current;

  private static final class Open<Q, R> {
    final BoundedSourceQueue<Q> queue;
    final ConcurrentHashMap<Long, CompletableFuture<R>> pending = new ConcurrentHashMap<>();
    volatile boolean closed;

    Open(BoundedSourceQueue<Q> queue) {
      this.queue = queue;
    }
  }

  CoreStream(
      String name,
      Function<Source<Q, NotUsed>, Source<R, NotUsed>> open,
      BiFunction<Q, Long, Q> withCallId,
      ToLongFunction<R> callIdOf,
      Materializer materializer,
      int buffer,
      Duration timeout) {
    this.name = name;
    this.open = open;
    this.withCallId = withCallId;
    this.callIdOf = callIdOf;
    this.materializer = materializer;
    this.buffer = buffer;
    this.timeout = timeout;
  }

  /**
   * Sends {@code request} on the stream; completes with its answer, or fails (CORE_UNAVAILABLE,
   * TIMEOUT).
   */
  synchronized CompletionStage<R> call(Q request) {
    if (current == null || current.closed) {
      current = start();
    }
    Open<Q, R> s = current;
    long id = nextCallId.incrementAndGet();
    CompletableFuture<R> answer = new CompletableFuture<>();
    s.pending.put(id, answer);
    QueueOfferResult offered = s.queue.offer(withCallId.apply(request, id));
    if (!(offered instanceof QueueOfferResult.Enqueued$)) {
      s.pending.remove(id);
      return CompletableFuture.failedFuture(
          new OpenKcmException(
              ErrorReason.CORE_UNAVAILABLE,
              "stream to Core "
                  + name
                  + " "
                  + (offered instanceof QueueOfferResult.Dropped$ ? "is full" : "is closed")));
    }
    return answer
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete((ok, failure) -> s.pending.remove(id));
  }

  private Open<Q, R> start() {
    Pair<BoundedSourceQueue<Q>, Source<Q, NotUsed>> requests =
        Source.<Q>queue(buffer).preMaterialize(materializer);
    Open<Q, R> s = new Open<>(requests.first());
    open.apply(requests.second())
        .runForeach(
            answer -> {
              CompletableFuture<R> waiting = s.pending.remove(callIdOf.applyAsLong(answer));
              if (waiting != null) {
                waiting.complete(answer);
              }
            },
            materializer)
        .whenComplete(
            (done, failure) -> {
              s.closed = true;
              s.queue.complete();
              String why = failure == null ? "ended by the Core" : failure.toString();
              if (!s.pending.isEmpty()) {
                log.warn(
                    "stream to Core {} {}; failing {} pending call(s)",
                    name,
                    why,
                    s.pending.size());
              }
              for (Long id : s.pending.keySet()) {
                CompletableFuture<R> f = s.pending.remove(id);
                if (f != null) {
                  f.completeExceptionally(
                      new OpenKcmException(
                          ErrorReason.CORE_UNAVAILABLE, "stream to Core " + name + " " + why));
                }
              }
            });
    return s;
  }

  synchronized void close() {
    if (current != null) {
      current.queue.complete();
    }
  }
}
