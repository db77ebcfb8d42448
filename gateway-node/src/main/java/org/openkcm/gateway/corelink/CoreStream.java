package org.openkcm.gateway.corelink;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
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
 * One long-lived bidirectional gRPC stream to one Core node, carrying many calls without an HTTP/2 stream
 * set-up per call. The Core answers in request order, so each answer completes the oldest pending call.
 * Opened on first use; when it fails or ends, its pending calls fail with CORE_UNAVAILABLE (so the link
 * fails over) and the next call opens a new one.
 */
final class CoreStream<Q, R> {

  private static final Logger log = LoggerFactory.getLogger(CoreStream.class);

  private final String name;
  private final Function<Source<Q, NotUsed>, Source<R, NotUsed>> open;
  private final Materializer materializer;
  private final int buffer;
  private final Duration timeout;
  private Open<Q, R> current;

  private static final class Open<Q, R> {
    final BoundedSourceQueue<Q> queue;
    final ConcurrentLinkedDeque<CompletableFuture<R>> pending = new ConcurrentLinkedDeque<>();
    volatile boolean closed;

    Open(BoundedSourceQueue<Q> queue) {
      this.queue = queue;
    }
  }

  CoreStream(String name, Function<Source<Q, NotUsed>, Source<R, NotUsed>> open, Materializer materializer,
      int buffer, Duration timeout) {
    this.name = name;
    this.open = open;
    this.materializer = materializer;
    this.buffer = buffer;
    this.timeout = timeout;
  }

  /** Sends {@code request} on the stream; completes with its answer, or fails (CORE_UNAVAILABLE, TIMEOUT). */
  synchronized CompletionStage<R> call(Q request) {
    if (current == null || current.closed) {
      current = start();
    }
    Open<Q, R> s = current;
    CompletableFuture<R> answer = new CompletableFuture<>();
    s.pending.addLast(answer);
    QueueOfferResult offered = s.queue.offer(request);
    if (!(offered instanceof QueueOfferResult.Enqueued$)) {
      s.pending.removeLastOccurrence(answer);
      return CompletableFuture.failedFuture(new OpenKcmException(ErrorReason.CORE_UNAVAILABLE,
          "stream to Core " + name + " " + (offered instanceof QueueOfferResult.Dropped$ ? "is full" : "is closed")));
    }
    return answer.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private Open<Q, R> start() {
    Pair<BoundedSourceQueue<Q>, Source<Q, NotUsed>> requests = Source.<Q>queue(buffer).preMaterialize(materializer);
    Open<Q, R> s = new Open<>(requests.first());
    open.apply(requests.second())
        .runForeach(answer -> {
          CompletableFuture<R> oldest = s.pending.pollFirst();
          if (oldest != null) {
            oldest.complete(answer);
          }
        }, materializer)
        .whenComplete((done, failure) -> {
          s.closed = true;
          s.queue.complete();
          String why = failure == null ? "ended by the Core" : failure.toString();
          if (!s.pending.isEmpty()) {
            log.warn("stream to Core {} {}; failing {} pending call(s)", name, why, s.pending.size());
          }
          for (CompletableFuture<R> f = s.pending.pollFirst(); f != null; f = s.pending.pollFirst()) {
            f.completeExceptionally(new OpenKcmException(ErrorReason.CORE_UNAVAILABLE,
                "stream to Core " + name + " " + why));
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
