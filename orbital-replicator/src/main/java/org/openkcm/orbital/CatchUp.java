package org.openkcm.orbital;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.openkcm.core.tenant.ReplicaOutcome;
import org.openkcm.node.audit.AuditLog;
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
 */
final class CatchUp {

  private static final Logger log = LoggerFactory.getLogger(CatchUp.class);

  /** Applies one replayed event here, without a gap check (the catch-up is in order). */
  @FunctionalInterface
  interface Apply {
    CompletionStage<ReplicaOutcome> apply(String origin, ReplicatedEvent event);
  }

  private final String region;
  private final Map<String, Supplier<OrbitalServiceClient>> clients;
  private final Traffic traffic;

  CatchUp(String region, Map<String, Supplier<OrbitalServiceClient>> clients, Traffic traffic) {
    this.region = region;
    this.clients = clients;
    this.traffic = traffic;
  }

  /**
   * Fetches {@code tenantId}'s events of {@code origin} after {@code upTo} and before {@code
   * before} and applies them with {@code apply}; completes with how many were fetched.
   */
  CompletionStage<Long> fill(String origin, String tenantId, long upTo, long before, Apply apply) {
    Supplier<OrbitalServiceClient> client = clients.get(origin);
    if (client == null) {
      return CompletableFuture.failedFuture(
          new IllegalStateException("no client for region " + origin));
    }
    log.warn(
        "Orbital: tenant {}: events of region {} after #{} and before #{} never arrived here;"
            + " asking {} for them",
        tenantId,
        origin,
        upTo,
        before,
        origin);
    OrbitalServiceClient c = client.get();
    return page(c, origin, tenantId, upTo, before, apply, new long[2])
        .whenComplete((n, failure) -> c.close())
        .thenApply(
            counts -> {
              long fetched = counts[0];
              boolean truncated = counts[1] > 0;
              traffic.in(origin).gap(fetched, truncated);
              AuditLog.record(
                  truncated ? "orbital.gap-unrecoverable" : "orbital.caught-up",
                  "tenant",
                  tenantId,
                  "origin",
                  origin,
                  "after",
                  Long.toString(upTo),
                  "before",
                  Long.toString(before),
                  "fetched",
                  Long.toString(fetched));
              if (truncated) {
                log.error(
                    "Orbital: tenant {}: region {} purged some of its events after #{} (behind a"
                        + " destroying event every peer had acknowledged); applied the {} that"
                        + " remain",
                    tenantId,
                    origin,
                    upTo,
                    fetched);
              } else {
                log.info(
                    "Orbital: tenant {}: caught up {} event(s) of region {} before #{}",
                    tenantId,
                    fetched,
                    origin,
                    before);
              }
              return fetched;
            });
  }

  private CompletionStage<long[]> page(
      OrbitalServiceClient c,
      String origin,
      String tenantId,
      long after,
      long before,
      Apply apply,
      long[] counts) {
    return c.replay(
            ReplayRequest.newBuilder()
                .setRequestingRegion(region)
                .setTenantId(tenantId)
                .setAfterSequenceNr(after)
                .setBeforeSequenceNr(before)
                .build())
        .thenCompose(
            (ReplayReply reply) -> {
              if (reply.getTruncated()) {
                counts[1] = 1;
              }
              CompletionStage<Void> done = CompletableFuture.completedFuture(null);
              for (ReplicatedEvent e : reply.getEventsList()) {
                if (!e.getTenantId().equals(tenantId)
                    || e.getSequenceNr() <= after
                    || e.getSequenceNr() >= before) {
                  continue; // not what was asked: ignored
                }
                done = done.thenCompose(v -> apply.apply(origin, e)).thenRun(() -> counts[0]++);
              }
              return done.thenCompose(
                  v ->
                      reply.getMore() && reply.getScannedUpTo() > after
                          ? page(c, origin, tenantId, reply.getScannedUpTo(), before, apply, counts)
                          : CompletableFuture.completedFuture(counts));
            });
  }
}
