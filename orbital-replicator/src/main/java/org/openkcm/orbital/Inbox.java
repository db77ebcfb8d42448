package org.openkcm.orbital;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
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
import org.openkcm.core.tenant.ReplicaOutcome;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.envelope.Identifiers;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.orbital.v1.ApplyRequest;
import org.openkcm.protocol.orbital.v1.ApplyResponse;
import org.openkcm.protocol.orbital.v1.OrbitalServicePowerApi;
import org.openkcm.protocol.orbital.v1.ReplayReply;
import org.openkcm.protocol.orbital.v1.ReplayRequest;
import org.openkcm.protocol.orbital.v1.ReplicatedEvent;
import org.openkcm.protocol.orbital.v1.StatusReply;
import org.openkcm.protocol.orbital.v1.StatusRequest;

/**
 * The peers' events, applied in this region in the order they come: each by its tenant's entity,
 * once (the entity skips what it applied before, and refuses, persisting nothing, what its state
 * does not admit). Only events of configured peers are accepted, delivered by a Core whose
 * certificate names that peer ({@code openkcm.orbital.peers[].identity}), in the Core's own event
 * serialization.
 */
final class Inbox implements OrbitalServicePowerApi {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Inbox.class);

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final Serialization serialization;
  private final Map<String, OrbitalSettings.Peer> peers;
  private final Duration timeout;
  private final long maxSequenceJump;
  private final int eventSerializer;
  private final Traffic traffic;
  private final StatusQuery status;
  private final org.openkcm.core.tenant.HomeRegionHeartbeats heartbeats;

  private final History history;
  private final CatchUp catchUp;

  Inbox(
      ActorSystem<?> system,
      OrbitalSettings settings,
      Traffic traffic,
      StatusQuery status,
      History history,
      CatchUp catchUp) {
    this.history = history;
    this.catchUp = catchUp;
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.serialization = SerializationExtension.get(Adapter.toClassic(system));
    Map<String, OrbitalSettings.Peer> byName = new HashMap<>();
    settings.peers().forEach(p -> byName.put(p.name(), p));
    this.peers = Map.copyOf(byName);
    this.timeout = settings.callTimeout();
    this.maxSequenceJump = settings.maxSequenceJump();
    // every event crosses in the one serialization of the Core's events (CBOR): a peer does not
    // pick
    try {
      this.eventSerializer =
          serialization.serializerFor(TenantEntity.TenantKilled.class).identifier();
    } catch (java.io.NotSerializableException e) {
      throw new IllegalStateException("the Core's events have no serializer", e);
    }
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
    String origin = in.getOriginRegion();
    Optional<CompletionStage<ApplyResponse>> no = unlessPeerCore(md, origin, "deliver events");
    if (no.isPresent()) {
      return no.get();
    }
    heartbeats.heard(origin); // events or a heartbeat: the peer is alive
    CompletionStage<long[]> counts = CompletableFuture.completedFuture(new long[4]);
    for (ReplicatedEvent e : in.getEventsList()) {
      counts =
          counts.thenCompose(
              c ->
                  applyInOrder(origin, e, c)
                      .thenApply(
                          outcome -> {
                            switch (outcome.kind()) {
                              case APPLIED -> {
                                c[0]++;
                                traffic
                                    .in(origin)
                                    .applied(System.currentTimeMillis() - e.getTimestampMillis());
                              }
                              case DUPLICATE -> c[1]++;
                              case REFUSED -> {
                                c[2]++;
                                traffic
                                    .in(origin)
                                    .refused(
                                        e.getTenantId()
                                            + " #"
                                            + e.getSequenceNr()
                                            + " "
                                            + e.getManifest()
                                                .substring(e.getManifest().lastIndexOf('$') + 1)
                                            + ": "
                                            + outcome.refusal()
                                            + ": "
                                            + outcome.detail());
                              }
                            }
                            return c;
                          }));
    }
    return counts
        .thenApply(
            c ->
                ApplyResponse.newBuilder()
                    .setApplied(c[0])
                    .setDuplicates(c[1])
                    .setRefused(c[2])
                    .setCaughtUp(c[3])
                    .build())
        .exceptionally(
            failure -> {
              throw GrpcErrors.toGrpc(Rejections.parse(failure));
            });
  }

  /**
   * Applies {@code e} once every earlier event of its origin that crosses regions was applied (or
   * considered) here: when the entity finds a gap, the missing events are fetched from the origin
   * and applied first ({@link CatchUp}; their number added to {@code counts[3]}).
   */
  private CompletionStage<ReplicaOutcome> applyInOrder(String origin, ReplicatedEvent e, long[] c) {
    // a previous event already considered here (applied, or fetched and refused) is no gap
    long previous =
        e.getTenantId().isEmpty()
                || e.getPreviousSequenceNr() <= catchUp.considered(origin, e.getTenantId())
            ? 0
            : e.getPreviousSequenceNr();
    return applyOne(origin, e, previous)
        .thenCompose(
            outcome -> {
              if (outcome.kind() != ReplicaOutcome.Kind.GAP) {
                return CompletableFuture.completedFuture(outcome);
              }
              return catchUp
                  .fill(
                      origin,
                      e.getTenantId(),
                      outcome.replicatedUpTo(),
                      e.getSequenceNr(),
                      (o, replayed) ->
                          applyOne(o, replayed, 0).thenApply(r -> count(o, replayed, r)))
                  .thenCompose(
                      fetched -> {
                        c[3] += fetched;
                        return applyOne(origin, e, 0);
                      });
            });
  }

  /** A replayed event's outcome, counted as the peer's traffic (its lag is not: it was late). */
  private ReplicaOutcome count(String origin, ReplicatedEvent e, ReplicaOutcome outcome) {
    if (outcome.kind() == ReplicaOutcome.Kind.REFUSED) {
      traffic
          .in(origin)
          .refused(
              e.getTenantId()
                  + " #"
                  + e.getSequenceNr()
                  + " (catch-up): "
                  + outcome.refusal()
                  + ": "
                  + outcome.detail());
    }
    return outcome;
  }

  @Override
  public CompletionStage<ReplayReply> replay(ReplayRequest in, Metadata md) {
    String asker = in.getRequestingRegion();
    Optional<CompletionStage<ReplayReply>> no = unlessPeerCore(md, asker, "read tenant history");
    if (no.isPresent()) {
      return no.get();
    }
    Optional<String> bad = Identifiers.problem("tenant", in.getTenantId());
    if (bad.isEmpty()
        && (in.getAfterSequenceNr() < 0 || in.getBeforeSequenceNr() <= in.getAfterSequenceNr())) {
      bad =
          Optional.of(
              "a replay range must be 0 <= after < before, was "
                  + in.getAfterSequenceNr()
                  + ".."
                  + in.getBeforeSequenceNr());
    }
    if (bad.isPresent()) {
      return CompletableFuture.failedFuture(
          GrpcErrors.toGrpc(new OpenKcmException(ErrorReason.INVALID_ARGUMENT, bad.get())));
    }
    log.info(
        "Orbital: region {} catches up tenant {}: events after #{} before #{}",
        asker,
        in.getTenantId(),
        in.getAfterSequenceNr(),
        in.getBeforeSequenceNr());
    return history
        .replay(in.getTenantId(), in.getAfterSequenceNr(), in.getBeforeSequenceNr())
        .exceptionally(
            failure -> {
              throw GrpcErrors.toGrpc(Rejections.parse(failure));
            });
  }

  /**
   * The refusal of a call that may only come from a Core of configured peer {@code region} (to
   * {@code what}); empty when the caller is one.
   */
  private <T> Optional<CompletionStage<T>> unlessPeerCore(Metadata md, String region, String what) {
    Optional<OpenKcmException> notCore = refused(md, Set.of("core"), what);
    if (notCore.isPresent()) {
      return Optional.of(CompletableFuture.failedFuture(GrpcErrors.toGrpc(notCore.get())));
    }
    return notPeer(md, region, what).map(why -> denied(md, region, why));
  }

  /**
   * Why the caller may not {@code what} as {@code region}: the region is no configured peer, or the
   * caller's certificate is not within the identity its Cores carry; empty when it may.
   */
  private Optional<String> notPeer(Metadata md, String region, String what) {
    OrbitalSettings.Peer peer = peers.get(region);
    if (peer == null) {
      return Optional.of(
          "region "
              + Fields.safe(region)
              + " is not a peer of this region (openkcm.orbital.peers)");
    }
    Optional<SpiffeId> caller = PeerIdentity.of(md);
    if (caller.isPresent() && !caller.get().isWithin(peer.identity())) {
      return Optional.of(
          caller.get().uri()
              + " may not "
              + what
              + " as region "
              + region
              + " (its Cores carry "
              + peer.identity().uri()
              + ")");
    }
    return Optional.empty();
  }

  /** A call refused as a whole (the caller is not the region it claims): audited. */
  private static <T> CompletionStage<T> denied(Metadata md, String origin, String why) {
    AuditLog.record(
        "orbital.denied",
        "caller",
        PeerIdentity.of(md).map(SpiffeId::uri).orElse("(plaintext)"),
        "origin",
        Fields.safe(origin),
        "why",
        why);
    log.warn("Orbital: delivery refused: {}", why);
    return CompletableFuture.failedFuture(
        GrpcErrors.toGrpc(new OpenKcmException(ErrorReason.PERMISSION_DENIED, why)));
  }

  /**
   * The payload of {@code e} decoded as one of {@code type}: only with the Core's event serializer
   * and a manifest naming such a class, checked before any byte is decoded (a peer never chooses
   * what this node deserializes).
   */
  private <T> T decode(ReplicatedEvent e, Class<T> type) {
    if (e.getSerializerId() != eventSerializer) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "serializer " + e.getSerializerId() + " is not accepted");
    }
    Class<?> named;
    try {
      named = Class.forName(e.getManifest(), false, Inbox.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError ex) {
      throw new OpenKcmException(ErrorReason.INVALID_ARGUMENT, "unknown event type");
    }
    if (!type.isAssignableFrom(named)
        || !named.isRecord()
        || named == TenantEntity.Replicated.class) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "not a " + type.getSimpleName() + ": " + named.getName());
    }
    Object decoded =
        serialization
            .deserialize(e.getPayload().toByteArray(), e.getSerializerId(), e.getManifest())
            .get();
    return type.cast(decoded);
  }

  /**
   * A region/global kill-switch change of another region, applied to this region's switch: an
   * engagement keeps its id; a release lifts only the engagements it names, whatever the order they
   * arrive in (a release naming none is refused: it would lift whatever is in force).
   */
  private CompletionStage<ReplicaOutcome> applyKillSwitch(String origin, ReplicatedEvent e) {
    Object decoded;
    try {
      decoded = decode(e, KillSwitchEntity.Event.class);
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
                      // one without an id (an older region): named by its origin and number
                      engaged.id().isEmpty() ? origin + "/" + e.getSequenceNr() : engaged.id(),
                      replyTo),
              timeout,
              system.scheduler())
          .thenApply(s -> ReplicaOutcome.APPLIED);
    }
    if (decoded instanceof KillSwitchEntity.Released released) {
      if (released.ids().isEmpty() || released.ids().stream().anyMatch(String::isEmpty)) {
        String why =
            "a kill-switch release of "
                + released.scope()
                + " names no engagement (or an empty id)";
        log.error("Orbital: refused from region {}: {}", origin, why);
        AuditLog.record(
            "orbital.refused", "origin", origin, "reason", "RELEASE_NAMES_NO_ENGAGEMENT");
        return CompletableFuture.completedFuture(
            ReplicaOutcome.refused(ReplicaOutcome.Refusal.RELEASE_NAMES_NO_ENGAGEMENT, why));
      }
      return org.apache.pekko.actor.typed.javadsl.AskPattern
          .<KillSwitchEntity.Command, KillSwitchEntity.State>askWithStatus(
              singleton,
              replyTo ->
                  new KillSwitchEntity.Release(
                      KillScope.parseClusterWide(released.scope()),
                      released.by() + " (region " + origin + ")",
                      released.ids(),
                      replyTo),
              timeout,
              system.scheduler())
          .thenApply(s -> ReplicaOutcome.APPLIED);
    }
    return CompletableFuture.failedFuture(
        new OpenKcmException(ErrorReason.INVALID_ARGUMENT, "not a kill-switch change"));
  }

  /**
   * {@code e} applied by its tenant's entity, checked for a gap after {@code previous} (0: not).
   */
  private CompletionStage<ReplicaOutcome> applyOne(
      String origin, ReplicatedEvent e, long previous) {
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
      event = decode(e, TenantEntity.Event.class);
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
        .<ReplicaOutcome>askWithStatus(
            replyTo ->
                new TenantEntity.ApplyReplicated(
                    origin, e.getSequenceNr(), event, maxSequenceJump, previous, replyTo),
            timeout);
  }
}
