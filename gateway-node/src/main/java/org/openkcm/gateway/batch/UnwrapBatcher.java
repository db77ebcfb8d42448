package org.openkcm.gateway.batch;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.openkcm.gateway.corelink.CoreLink;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapResult;

/**
 * Coalesces concurrent Decrypts of one tenant into batched UnwrapKeys calls without adding latency:
 * a request is sent at once when no call for its tenant is in flight; requests arriving while one
 * is in flight wait and leave together (up to {@code maxBatch}) as soon as it returns. At low load
 * every request travels alone; under load batches grow with the concurrency.
 */
public final class UnwrapBatcher {

  private record Pending(UnwrapItem item, CompletableFuture<UnwrapResult> result) {}

  private static final class Lane {
    final List<Pending> waiting = new ArrayList<>();
    int inFlight;
  }

  private final CoreLink core;
  private final int maxBatch;
  private final int maxInFlight;
  private final Map<String, Lane> lanes = new HashMap<>();

  public UnwrapBatcher(CoreLink core, int maxBatch, int maxInFlight) {
    this.core = core;
    this.maxBatch = maxBatch;
    this.maxInFlight = maxInFlight;
  }

  public CompletionStage<UnwrapResult> unwrap(String tenantId, UnwrapItem item) {
    Pending p = new Pending(item, new CompletableFuture<>());
    List<Pending> send = null;
    synchronized (this) {
      Lane lane = lanes.computeIfAbsent(tenantId, t -> new Lane());
      lane.waiting.add(p);
      if (lane.inFlight < maxInFlight) {
        send = drain(lane);
      }
    }
    if (send != null) {
      send(tenantId, send);
    }
    return p.result();
  }

  private List<Pending> drain(Lane lane) {
    int n = Math.min(maxBatch, lane.waiting.size());
    List<Pending> batch = new ArrayList<>(lane.waiting.subList(0, n));
    lane.waiting.subList(0, n).clear();
    lane.inFlight++;
    return batch;
  }

  private void send(String tenantId, List<Pending> batch) {
    List<UnwrapItem> items = batch.stream().map(Pending::item).toList();
    core.unwrap(tenantId, items, "batch-" + UUID.randomUUID())
        .whenComplete(
            (results, failure) -> {
              for (int i = 0; i < batch.size(); i++) {
                if (failure != null) {
                  batch.get(i).result().completeExceptionally(failure);
                } else {
                  batch.get(i).result().complete(results.get(i));
                }
              }
              List<Pending> next = null;
              synchronized (this) {
                Lane lane = lanes.get(tenantId);
                lane.inFlight--;
                if (!lane.waiting.isEmpty()) {
                  next = drain(lane);
                } else if (lane.inFlight == 0) {
                  lanes.remove(tenantId);
                }
              }
              if (next != null) {
                send(tenantId, next);
              }
            });
  }
}
