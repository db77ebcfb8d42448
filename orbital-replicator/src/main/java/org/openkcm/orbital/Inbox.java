package org.openkcm.orbital;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.openkcm.core.api.PeerIdentity;
import org.openkcm.core.killswitch.KillScope;
import org.openkcm.core.killswitch.KillSwitchEntity;
import org.openkcm.core.killswitch.NodeKillSwitches;
import org.openkcm.core.reply.Rejections;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.envelope.Identifiers;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.orbital.v1.ApplyRequest;
import org.openkcm.protocol.orbital.v1.ApplyResponse;
import org.openkcm.protocol.orbital.v1.OrbitalServicePowerApi;
import org.openkcm.protocol.orbital.v1.ReplicatedEvent;
import org.openkcm.protocol.orbital.v1.StatusReply;
import org.openkcm.protocol.orbital.v1.StatusRequest;

/**
 * The peers' events, applied in this region in the order they come: each by its tenant's entity,
 * once (the entity skips what it applied before). Only tenant events of known peers are accepted.
 */
final class Inbox implements OrbitalServicePowerApi {

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final Serialization serialization;
  private final Set<String> peers;
  private final Duration timeout;
  private final Traffic traffic;
  private final StatusQuery status;
  private final org.openkcm.core.tenant.HomeRegionHeartbeats heartbeats;

  Inbox(
      ActorSystem<?> system,
      Set<String> peers,
      Duration timeout,
      Traffic traffic,
      StatusQuery status) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.serialization = SerializationExtension.get(Adapter.toClassic(system));
    this.peers = Set.copyOf(peers);
    this.timeout = timeout;
    this.traffic = traffic;
    this.status = status;
    this.heartbeats = org.openkcm.core.tenant.HomeRegionHeartbeats.get(system);
  }

  /** With mTLS, only another region's Core may deliver events; an operator may read the status. */
  private static Optional<OpenKcmException> refused(Metadata md, Set<String> kinds, String what) {
    Optional<SpiffeId> caller = PeerIdentity.of(md);
    if (caller.isPresent() && !kinds.contains(caller.get().kind())) {
      return Optional.of(
          new OpenKcmException(
              ErrorReason.PERMISSION_DENIED, caller.get().uri() + " may not " + what));
    }
    return Optional.empty();
  }

  @Override
  public CompletionStage<StatusReply> status(StatusRequest in, Metadata md) {
    Optional<OpenKcmException> no = refused(md, Set.of("core", "admin"), "read Orbital's status");
    if (no.isPresent()) {
      return CompletableFuture.failedFuture(GrpcErrors.toGrpc(no.get()));
    }
    return status.reply();
  }

  @Override
  public CompletionStage<ApplyResponse> apply(ApplyRequest in, Metadata md) {
    Optional<OpenKcmException> no = refused(md, Set.of("core"), "deliver tenant events");
    if (no.isPresent()) {
      return CompletableFuture.failedFuture(GrpcErrors.toGrpc(no.get()));
    }
    if (!peers.contains(in.getOriginRegion())) {
      return CompletableFuture.failedFuture(
          GrpcErrors.toGrpc(
              new OpenKcmException(
                  ErrorReason.PERMISSION_DENIED,
                  "region "
                      + org.openkcm.protocol.error.Fields.safe(in.getOriginRegion())
                      + " is not a peer of this region (openkcm.orbital.peers)")));
    }
    heartbeats.heard(in.getOriginRegion()); // events or a heartbeat: the peer is alive
    CompletionStage<long[]> counts = CompletableFuture.completedFuture(new long[2]);
    for (ReplicatedEvent e : in.getEventsList()) {
      counts =
          counts.thenCompose(
              c ->
                  applyOne(in.getOriginRegion(), e)
                      .thenApply(
                          applied -> {
                            c[applied ? 0 : 1]++;
                            if (applied) {
                              traffic
                                  .in(in.getOriginRegion())
                                  .applied(System.currentTimeMillis() - e.getTimestampMillis());
                            }
                            return c;
                          }));
    }
    return counts
        .thenApply(c -> ApplyResponse.newBuilder().setApplied(c[0]).setDuplicates(c[1]).build())
        .exceptionally(
            failure -> {
              throw GrpcErrors.toGrpc(Rejections.parse(failure));
            });
  }

  /**
   * A region/global kill-switch change of another region, applied to this region's switch (engaging
   * what is in force already, or releasing what is not, changes nothing).
   */
  private CompletionStage<Boolean> applyKillSwitch(String origin, ReplicatedEvent e) {
    Object decoded;
    try {
      decoded =
          serialization
              .deserialize(e.getPayload().toByteArray(), e.getSerializerId(), e.getManifest())
              .get();
    } catch (RuntimeException ex) {
      return CompletableFuture.failedFuture(
          new OpenKcmException(ErrorReason.INVALID_ARGUMENT, "undecodable kill-switch change"));
    }
    var singleton = NodeKillSwitches.get(system).switches().singleton();
    if (decoded instanceof KillSwitchEntity.Engaged engaged) {
      return org.apache.pekko.actor.typed.javadsl.AskPattern
          .<KillSwitchEntity.Command, KillSwitchEntity.State>askWithStatus(
              singleton,
              replyTo ->
                  new KillSwitchEntity.Engage(
                      KillScope.parseClusterWide(engaged.scope()),
                      engaged.reason(),
                      engaged.by() + " (region " + origin + ")",
                      replyTo),
              timeout,
              system.scheduler())
          .thenApply(s -> true);
    }
    if (decoded instanceof KillSwitchEntity.Released released) {
      return org.apache.pekko.actor.typed.javadsl.AskPattern
          .<KillSwitchEntity.Command, KillSwitchEntity.State>askWithStatus(
              singleton,
              replyTo ->
                  new KillSwitchEntity.Release(
                      KillScope.parseClusterWide(released.scope()),
                      released.by() + " (region " + origin + ")",
                      replyTo),
              timeout,
              system.scheduler())
          .thenApply(s -> true);
    }
    return CompletableFuture.failedFuture(
        new OpenKcmException(ErrorReason.INVALID_ARGUMENT, "not a kill-switch change"));
  }

  private CompletionStage<Boolean> applyOne(String origin, ReplicatedEvent e) {
    if (e.getTenantId().isEmpty()) {
      return applyKillSwitch(origin, e);
    }
    TenantEntity.Event event;
    try {
      Identifiers.problem("tenant", e.getTenantId())
          .ifPresent(
              p -> {
                throw new OpenKcmException(ErrorReason.INVALID_ARGUMENT, p);
              });
      Object decoded =
          serialization
              .deserialize(e.getPayload().toByteArray(), e.getSerializerId(), e.getManifest())
              .get();
      if (!(decoded instanceof TenantEntity.Event te)
          || decoded instanceof TenantEntity.Replicated) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT, "not a tenant event: " + decoded.getClass().getName());
      }
      event = te;
    } catch (OpenKcmException ex) {
      return CompletableFuture.failedFuture(ex);
    } catch (RuntimeException ex) {
      return CompletableFuture.failedFuture(
          new OpenKcmException(
              ErrorReason.INVALID_ARGUMENT,
              "undecodable event " + e.getSequenceNr() + " of " + e.getTenantId()));
    }
    return sharding
        .entityRefFor(TenantEntity.ENTITY_KEY, e.getTenantId())
        .<Boolean>askWithStatus(
            replyTo -> new TenantEntity.ApplyReplicated(origin, e.getSequenceNr(), event, replyTo),
            timeout);
  }
}
