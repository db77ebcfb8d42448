package org.openkcm.gateway.batch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.openkcm.protocol.error.Fields;

/**
 * Coalesces concurrent single-key Core calls of one lane (a tenant for unwraps, a tenant and
 * service for wraps) into batched calls without adding latency: a request is sent at once when
 * fewer than {@code maxInFlight} calls of its lane are in flight; requests arriving meanwhile wait
 * and leave together (up to {@code maxBatch}) as soon as one returns. At low load every request
 * travels alone, under its own correlation id; under load batches grow with the concurrency and
 * carry a {@code batch-} correlation id.
 *
 * @param <K> what names a lane
 * @param <I> what one request contributes to a batch
 * @param <R> what it gets back
 */
public final class Coalescer<K, I, R> {

  /** Sends one batch of a lane: answers one result per item, in order. */
  @FunctionalInterface
  public interface Sender<K, I, R> {
    CompletionStage<List<R>> send(K lane, List<I> items, String correlationId);
  }

  private record Pending<I, R>(I item, String correlationId, CompletableFuture<R> result) {}

  private static final class Lane<I, R> {
    final List<Pending<I, R>> waiting = new ArrayList<>();
    int inFlight;
  }

  private final Sender<K, I, R> sender;
  private final int maxBatch;
  private final int maxInFlight;
  private final Map<K, Lane<I, R>> lanes = new HashMap<>();

  public Coalescer(Sender<K, I, R> sender, int maxBatch, int maxInFlight) {
    if (maxBatch < 1 || maxInFlight < 1) {
      throw new IllegalArgumentException(
          "batching needs max-batch >= 1 and max-in-flight-per-tenant >= 1");
    }
    this.sender = sender;
    this.maxBatch = maxBatch;
    this.maxInFlight = maxInFlight;
  }

  /** Sends {@code item} on {@code lane}, alone or with others waiting there. */
  public CompletionStage<R> submit(K lane, I item, String correlationId) {
    Pending<I, R> p = new Pending<>(item, correlationId, new CompletableFuture<>());
    List<Pending<I, R>> send = null;
    synchronized (this) {
      Lane<I, R> l = lanes.computeIfAbsent(lane, t -> new Lane<>());
      l.waiting.add(p);
      if (l.inFlight < maxInFlight) {
        send = drain(l);
      }
    }
    if (send != null) {
      send(lane, send);
    }
    return p.result();
  }

  private List<Pending<I, R>> drain(Lane<I, R> lane) {
    int n = Math.min(maxBatch, lane.waiting.size());
    List<Pending<I, R>> batch = new ArrayList<>(lane.waiting.subList(0, n));
    lane.waiting.subList(0, n).clear();
    lane.inFlight++;
    return batch;
  }

  private void send(K lane, List<Pending<I, R>> batch) {
    List<I> items = new ArrayList<>(batch.size());
    for (Pending<I, R> p : batch) {
      items.add(p.item());
    }
    String cid =
        batch.size() == 1 ? batch.get(0).correlationId() : "batch-" + Fields.newCorrelationId();
    CompletionStage<List<R>> call;
    try {
      call = sender.send(lane, items, cid);
    } catch (RuntimeException e) {
      call = CompletableFuture.failedFuture(e);
    }
    call.whenComplete(
        (results, failure) -> {
          for (int i = 0; i < batch.size(); i++) {
            if (failure != null) {
              batch.get(i).result().completeExceptionally(failure);
            } else {
              batch.get(i).result().complete(results.get(i));
            }
          }
          List<Pending<I, R>> next = null;
          synchronized (this) {
            Lane<I, R> l = lanes.get(lane);
            l.inFlight--;
            if (!l.waiting.isEmpty()) {
              next = drain(l);
            } else if (l.inFlight == 0) {
              lanes.remove(lane);
            }
          }
          if (next != null) {
            send(lane, next);
          }
        });
  }
}
