package org.openkcm.orbital;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.openkcm.core.tenant.ReplicaOutcome;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.orbital.v1.OrbitalServiceClient;
import org.openkcm.protocol.orbital.v1.ReplayReply;
import org.openkcm.protocol.orbital.v1.ReplayRequest;
import org.openkcm.protocol.orbital.v1.ReplicatedEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fills a gap in one origin's events of a tenant before the event that revealed it: asks the origin
 * for what its journal holds in between ({@code Replay}, page by page) and applies it here in
 * order, each event admitted as any other. What the origin purged meanwhile (only ever the history
 * before a destroying event, which is returned) is an unrecoverable gap: logged at ERROR, audited
 * and counted, and the events that remain are applied.
 *
 * <p>Bounded: one catch-up per tenant and origin at a time (a resend of the same delivery joins
 * it), within a time budget below the sender's deadline (past it the delivery fails TIMEOUT and the
 * resend goes on from where this one stopped), and a range once considered is never asked for again
 * (an event refused here is fetched again once, at the next event of its origin, not at every later
 * one).
 */
final class CatchUp {

  private static final Logger log = LoggerFactory.getLogger(CatchUp.class);

  /** Tenants whose considered mark is kept, per node (least recently used ones go first). */
  private static final int REMEMBERED = 10_000;

  /** Applies one replayed event here, without a gap check (the catch-up is in order). */
  @FunctionalInterface
  interface Apply {
    CompletionStage<ReplicaOutcome> apply(String origin, ReplicatedEvent event);
  }

  private record Key(String origin, String tenantId) {}

  private final String region;
  private final Map<String, Supplier<OrbitalServiceClient>> clients;
  private final Traffic traffic;
  private final Duration budget;
  private final Map<Key, Long> considered =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Long> eldest) {
          return size() > REMEMBERED;
        }
      };
  private final Map<Key, CompletableFuture<Long>> running = new ConcurrentHashMap<>();

  /** {@code budget}: how long one catch-up may take before it leaves the rest to the resend. */
  CatchUp(
      String region,
      Map<String, Supplier<OrbitalServiceClient>> clients,
      Traffic traffic,
      Duration budget) {
    this.region = region;
    this.clients = clients;
    this.traffic = traffic;
    this.budget = budget;
  }

  /** The origin's events of the tenant up to this number were all considered here. */
  long considered(String origin, String tenantId) {
    synchronized (considered) {
      return considered.getOrDefault(new Key(origin, tenantId), 0L);
    }
  }

  private void consider(Key key, long upTo) {
    synchronized (considered) {
      considered.merge(key, upTo, Math::max);
    }
  }

  /**
   * Fetches {@code tenantId}'s events of {@code origin} after {@code upTo} (or after what was
   * considered already) and before {@code before} and applies them with {@code apply}; completes
   * with how many were applied, or fails TIMEOUT when the budget ran out first.
   */
  CompletionStage<Long> fill(String origin, String tenantId, long upTo, long before, Apply apply) {
    Key key = new Key(origin, tenantId);
    long after = Math.max(upTo, considered(origin, tenantId));
    if (after >= before - 1) {
      return CompletableFuture.completedFuture(0L); // nothing left between: considered
    }
    CompletableFuture<Long> mine = new CompletableFuture<>();
    CompletableFuture<Long> current = running.putIfAbsent(key, mine);
    if (current != null) {
      return current; // a resend of the same delivery: join the catch-up under way
    }
    run(key, after, before, apply)
        .whenComplete(
            (n, failure) -> {
              running.remove(key, mine);
              if (failure != null) {
                mine.completeExceptionally(failure);
              } else {
                mine.complete(n);
              }
            });
    return mine;
  }

  private CompletionStage<Long> run(Key key, long after, long before, Apply apply) {
    Supplier<OrbitalServiceClient> client = clients.get(key.origin());
    if (client == null) {
      return CompletableFuture.failedFuture(
          new IllegalStateException("no client for region " + key.origin()));
    }
    log.warn(
        "Orbital: tenant {}: events of region {} after #{} and before #{} never arrived here;"
            + " asking {} for them",
        key.tenantId(),
        key.origin(),
        after,
        before,
        key.origin());
    OrbitalServiceClient c = client.get();
    Progress p = new Progress(key, before, System.nanoTime() + budget.toNanos(), apply);
    return page(c, p, after)
        .whenComplete((n, failure) -> c.close())
        .thenApply(
            done -> {
              traffic.in(key.origin()).gap(p.applied, p.truncated);
              AuditLog.record(
                  p.truncated ? "orbital.gap-unrecoverable" : "orbital.caught-up",
                  "tenant",
                  key.tenantId(),
                  "origin",
                  key.origin(),
                  "after",
                  Long.toString(after),
                  "before",
                  Long.toString(before),
                  "applied",
                  Long.toString(p.applied));
              if (p.truncated) {
                log.error(
                    "Orbital: tenant {}: region {} purged some of its events after #{} (behind a"
                        + " destroying event every peer had acknowledged); applied the {} that"
                        + " remain",
                    key.tenantId(),
                    key.origin(),
                    after,
                    p.applied);
              } else {
                log.info(
                    "Orbital: tenant {}: caught up {} event(s) of region {} before #{}",
                    key.tenantId(),
                    p.applied,
                    key.origin(),
                    before);
              }
              if (!done) {
                throw new OpenKcmException(
                    ErrorReason.TIMEOUT,
                    "catching up tenant "
                        + key.tenantId()
                        + " from region "
                        + key.origin()
                        + ": "
                        + p.applied
                        + " event(s) applied within "
                        + budget
                        + ", the rest on the next delivery");
              }
              return p.applied;
            });
  }

  /** One catch-up's state: what it applied, whether some was purged, when its budget ends. */
  private static final class Progress {
    final Key key;
    final long before;
    final long deadline;
    final Apply apply;
    long applied;
    boolean truncated;

    Progress(Key key, long before, long deadline, Apply apply) {
      this.key = key;
      this.before = before;
      this.deadline = deadline;
      this.apply = apply;
    }
  }

  /** Asks for the events after {@code after}; completes true when the range is done. */
  private CompletionStage<Boolean> page(OrbitalServiceClient c, Progress p, long after) {
    return c.replay(
            ReplayRequest.newBuilder()
                .setRequestingRegion(region)
                .setTenantId(p.key.tenantId())
                .setAfterSequenceNr(after)
                .setBeforeSequenceNr(p.before)
                .build())
        .thenCompose(
            (ReplayReply reply) -> {
              p.truncated |= reply.getTruncated();
              CompletionStage<Void> done = CompletableFuture.completedFuture(null);
              long last = after;
              for (ReplicatedEvent e : reply.getEventsList()) {
                if (!e.getTenantId().equals(p.key.tenantId())
                    || e.getSequenceNr() <= last
                    || e.getSequenceNr() >= p.before) {
                  continue; // not what was asked, or out of order: ignored
                }
                last = e.getSequenceNr();
                done =
                    done.thenCompose(v -> p.apply.apply(p.key.origin(), e))
                        .thenAccept(
                            outcome -> {
                              if (outcome.kind() == ReplicaOutcome.Kind.APPLIED) {
                                p.applied++;
                              }
                            });
              }
              long scanned = reply.getScannedUpTo();
              // a page moves forward and stays in the range, or the range is taken as done
              boolean more = reply.getMore() && scanned > after && scanned < p.before - 1;
              return done.thenCompose(
                  v -> {
                    consider(p.key, more ? scanned : p.before - 1);
                    if (!more) {
                      return CompletableFuture.completedFuture(true);
                    }
                    if (System.nanoTime() > p.deadline) {
                      return CompletableFuture.completedFuture(false);
                    }
                    return page(c, p, scanned);
                  });
            });
  }
}
