package org.openkcm.core.tenant;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReplyBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.openkcm.core.serialization.CborSerializable;
import org.openkcm.core.tenant.KeyBatch.UnwrapItem;
import org.openkcm.core.tenant.KeyBatch.Unwrapped;
import org.openkcm.core.tenant.KeyBatch.WrapItem;
import org.openkcm.core.tenant.KeyBatch.Wrapped;
import org.openkcm.core.tenant.LifecycleProtocol.Offboard;
import org.openkcm.core.tenant.LifecycleProtocol.RetireVersions;
import org.openkcm.core.tenant.LifecycleProtocol.ReuseOffboardedId;
import org.openkcm.core.tenant.LifecycleProtocol.RewrapL2;
import org.openkcm.core.tenant.LifecycleProtocol.RotateL2;
import org.openkcm.core.tenant.LifecycleProtocol.RotateService;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.Unregistered;
import org.openkcm.core.tenant.TenantState.WrappedL3;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.event.TenantEventKind;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * One tenant: its L1 reference, its L1-wrapped L2 and L2-wrapped L3s (persisted), and — only in
 * this actor's memory — the unsealed L2/L3 that wrap and unwrap data keys.
 *
 * <p>This file holds the tenant's protocol (commands and the journal's events; their class names
 * are the serialization manifests, so they stay here), the handler table that routes each command
 * by state, and the event handler. The handlers themselves live in {@link ChainCommands}, {@link
 * Unsealer}, {@link KillCommands} and {@link L1Relink}; what they share, in {@link TenantRuntime}.
 * About 570 lines, on purpose: the commands and events (the tenant's public and persisted contract,
 * with the key lifecycle's part in {@link LifecycleProtocol}) and the handler table by state read
 * best in one place; the event handler is {@link TenantEvolution}.
 *
 * <p>The first command that needs keys after a start (or failover) unseals the chain: L1 unwraps L2
 * in the customer's keystore (asynchronously), L2 unwraps every L3 locally. Commands that arrive
 * meanwhile are stashed. Wrap and unwrap persist nothing. After answering an unwrap, a serving
 * tenant publishes a {@link ResidentTenant} that the key listener unwraps with on its own thread;
 * every other command, signal and wipe withdraws it first.
 */
public final class TenantEntity
    extends EventSourcedBehaviorWithEnforcedReplies<
        TenantEntity.Command, TenantEntity.Event, TenantState> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "Tenant");

  // ---------------------------------------------------------------- protocol

  /** Every command of a tenant (those of the key lifecycle are in {@link LifecycleProtocol}). */
  public interface Command extends CborSerializable {}

  /** A command answered with the tenant's summary (or a rejection). */
  public interface SummaryCommand extends Command {
    ActorRef<StatusReply<TenantSummary>> replyTo();
  }

  /** Links the tenant's L1 and generates its L2. */
  public record Onboard(
      String l1Reference, String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo)
      implements SummaryCommand {}

  /** Generates the L3 of a new service. */
  public record CreateService(
      String serviceId,
      boolean pinned,
      String correlationId,
      ActorRef<StatusReply<TenantSummary>> replyTo)
      implements SummaryCommand {

    /** A service every region serves (not pinned). */
    public CreateService(
        String serviceId, String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo) {
      this(serviceId, false, correlationId, replyTo);
    }
  }

  public record GetSummary(ActorRef<StatusReply<TenantSummary>> replyTo)
      implements SummaryCommand {}

  /**
   * Asks the customer's keystore now whether L1 still works; a confirmed revocation wipes the keys.
   */
  public record CheckL1(String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo)
      implements SummaryCommand {}

  /**
   * Asks to move the tenant's L2 under another L1 of the key domain pinned at onboarding. Nothing
   * moves until a second identity approves ({@link ApproveL1Link}).
   */
  public record RequestL1Link(
      String l1Reference,
      String requestedBy,
      String correlationId,
      ActorRef<StatusReply<TenantSummary>> replyTo)
      implements SummaryCommand {}

  /**
   * Approves the pending re-link {@code requestId} (an identity other than the requester's): the
   * current L1 must give L2 back now, the new L1 must pass a wrap/unwrap round trip, then L2 is
   * re-wrapped.
   */
  public record ApproveL1Link(
      String requestId,
      String approvedBy,
      String correlationId,
      ActorRef<StatusReply<TenantSummary>> replyTo)
      implements SummaryCommand {}

  /**
   * Wraps a batch of DEKs with the current L3 of {@code serviceId}: all succeed or the batch is
   * rejected.
   */
  public record WrapKeys(
      String serviceId,
      List<WrapItem> items,
      String correlationId,
      ActorRef<StatusReply<Wrapped>> replyTo)
      implements Command {}

  /** Unwraps a batch of envelopes; every item answers on its own. */
  public record UnwrapKeys(
      List<UnwrapItem> items, String correlationId, ActorRef<StatusReply<Unwrapped>> replyTo)
      implements Command {}

  /**
   * Re-wraps envelopes of older L3 versions with their service's active version (the DEK never
   * leaves this entity; the context is verified, then bound again); every item answers on its own.
   */
  public record RewrapKeys(
      List<UnwrapItem> items,
      String correlationId,
      ActorRef<StatusReply<KeyBatch.Rewrapped>> replyTo)
      implements Command {}

  /**
   * Kill-switch for this tenant: persisted, keys wiped, every use refused with TENANT_KILLED until
   * revived.
   */
  public record Kill(
      String reason,
      String requestedBy,
      String correlationId,
      ActorRef<StatusReply<TenantSummary>> replyTo)
      implements SummaryCommand {}

  /**
   * Lifts a tenant kill: the chain is unsealed again from L1 first, so it fails if L1 was revoked.
   */
  public record Revive(
      String requestedBy, String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo)
      implements SummaryCommand {}

  /**
   * One-time migration of a tenant written before master-key sealing: seals its L1-wrapped L2 and
   * L2-wrapped L3 blobs with the master key (nothing is opened). Answers how many blobs it sealed
   * (0 when none was left).
   */
  public record MigrateSeal(String correlationId, ActorRef<StatusReply<Integer>> replyTo)
      implements Command {}

  /**
   * An event of this tenant from another region (Orbital), in its portable form: applied once (by
   * origin region and sequence number), its blobs sealed with this region's master key, and only
   * when {@link ReplicaAdmission} admits it ({@code maxSequenceJump}: how far past the last one
   * applied from that origin its sequence number may be). Answers what became of it.
   */
  public record ApplyReplicated(
      String originRegion,
      long sequenceNr,
      @com.fasterxml.jackson.annotation.JsonTypeInfo(
              use = com.fasterxml.jackson.annotation.JsonTypeInfo.Id.CLASS)
          Event event,
      long maxSequenceJump,
      long previousSequenceNr,
      ActorRef<StatusReply<ReplicaOutcome>> replyTo)
      implements Command {
    public ApplyReplicated {
      // from a node of before the bound: the default of openkcm.orbital.max-sequence-jump
      maxSequenceJump = maxSequenceJump <= 0 ? 1_000_000 : maxSequenceJump;
    }

    /** Without a gap check (a sender that does not name the previous event, a catch-up). */
    public ApplyReplicated(
        String originRegion,
        long sequenceNr,
        Event event,
        long maxSequenceJump,
        ActorRef<StatusReply<ReplicaOutcome>> replyTo) {
      this(originRegion, sequenceNr, event, maxSequenceJump, 0, replyTo);
    }
  }

  /** Poison message (region/global kill-switch, node sealed): wipe the keys now (no reply). */
  public record WipeKeys(String why) implements Command {}

  /** Messages the entity sends itself; they never leave the node. */
  sealed interface Internal extends Command {}

  /** The customer's keystore answered {@code call}: a key, a blob, or a failure. */
  record L1Answered(
      L1Call call, Optional<KeyMaterial> key, Optional<byte[]> blob, Optional<Throwable> failure)
      implements Internal {
    void wipeKey() {
      key.ifPresent(KeyMaterial::wipe);
    }

    @Override
    public String toString() {
      return "L1Answered["
          + call.getClass().getSimpleName()
          + ", failed="
          + failure.isPresent()
          + "]";
    }
  }

  /** After a restart on this node: a kill the journal did not take is written again. */
  record PersistPendingKill() implements Internal {}

  record L1CheckTick() implements Internal {}

  /**
   * The journal purge after a destroying event ended ({@link TenantRuntime#purgeAfterSnapshot}).
   */
  record PurgeDone(long upTo, Optional<Throwable> failure) implements Internal {}

  /** Rotates what has outlived its cryptoperiod (after an unseal and with every L1 check). */
  record LifecycleTick() implements Internal {}

  /**
   * Sent to self after a failed unseal: every command stashed for that unseal has had its answer.
   */
  record StashedCommandsAnswered() implements Internal {}

  // ---------------------------------------------------------------- events and state

  /** Every event of a tenant (those of the key lifecycle are in {@link LifecycleProtocol}). */
  public interface Event extends CborSerializable {}

  /** The tenant exists; its L2 (version {@code l2Version}) is persisted only wrapped by its L1. */
  public record TenantOnboarded(
      String tenantId,
      String l1Reference,
      long l2Version,
      byte[] wrappedL2,
      Map<String, String> l1Context,
      Instant at,
      String correlationId)
      implements Event {}

  /**
   * A service exists; its L3 is persisted only wrapped by the tenant's L2. A {@code pinned} service
   * never leaves its home region: another region learns only that it exists (no blob).
   */
  public record ServiceCreated(
      String serviceId,
      long l3Version,
      long l2Version,
      byte[] wrappedL3,
      Instant at,
      String correlationId,
      boolean pinned)
      implements Event {}

  /**
   * The customer's keystore refused L1 (disabled, deleted, access denied): keys wiped, every use
   * refused.
   */
  public record L1Revoked(String reason, String message, Instant at, String correlationId)
      implements Event {}

  /** L1 works again (the customer re-enabled it): the tenant was unsealed again. */
  public record L1Restored(Instant at, String correlationId) implements Event {}

  /**
   * The tenant's L2 is now wrapped by another L1 (requested by one identity, approved by another).
   */
  public record L1Linked(
      String l1Reference,
      byte[] wrappedL2,
      Map<String, String> l1Context,
      Instant at,
      String correlationId,
      String requestedBy,
      String approvedBy)
      implements Event {}

  /** Someone asked to re-link the tenant's L1; it waits for another identity's approval. */
  public record L1LinkRequested(
      String requestId, String l1Reference, String requestedBy, Instant at, String correlationId)
      implements Event {}

  /**
   * A re-link request ended without a link: {@code outcome} is the error reason, {@code by} who
   * approved.
   */
  public record L1LinkClosed(
      String requestId, String outcome, String message, String by, Instant at, String correlationId)
      implements Event {}

  /**
   * The tenant's blobs, sealed with the master key by {@code admin migrate-seal} (they were not
   * before).
   */
  public record BlobsResealed(
      byte[] wrappedL2, Map<String, List<WrappedL3>> l3Versions, Instant at, String correlationId)
      implements Event {}

  /**
   * The tenant's kill-switch was pulled. {@code killId} names this kill (a revive lifts only the
   * kill it names; empty in events written before kills had ids).
   */
  public record TenantKilled(
      String reason, String by, Instant at, String correlationId, String killId) implements Event {}

  /**
   * The kill named {@code killId} was lifted. A revive that names another kill than the one in
   * force (a kill pulled concurrently, in another region) lifts nothing: a kill wins.
   */
  public record TenantRevived(
      String by, Instant at, String correlationId, String killId, List<String> killIds)
      implements Event {

    public TenantRevived {
      killId = killId == null ? "" : killId;
      killIds = killIds == null ? List.of() : List.copyOf(killIds);
    }

    /** A revive of the one kill {@code killId} (as written before revives named every kill). */
    public TenantRevived(String by, Instant at, String correlationId, String killId) {
      this(by, at, correlationId, killId, List.of());
    }

    /**
     * The kills it lifts: {@code killIds}, or {@code killId} alone in revives written before (an
     * empty id there lifts only a kill written without one).
     */
    public List<String> named() {
      return killIds.isEmpty() ? List.of(killId) : killIds;
    }
  }

  /**
   * {@code event} written first in {@code originRegion} (as its {@code originSequenceNr}), applied
   * here; its blobs are sealed with this region's master key. Never shipped again.
   */
  public record Replicated(
      String originRegion,
      long originSequenceNr,
      @com.fasterxml.jackson.annotation.JsonTypeInfo(
              use = com.fasterxml.jackson.annotation.JsonTypeInfo.Id.CLASS)
          Event event)
      implements Event {}

  // ---------------------------------------------------------------- wiring

  public static void init(ActorSystem<?> system, TenantDependencies deps) {
    ClusterSharding.get(system)
        .init(
            Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), deps))
                .withRole(deps.settings().shardRole()));
  }

  public static Behavior<Command> create(String tenantId, TenantDependencies deps) {
    return Behaviors.setup(
        ctx -> Behaviors.withTimers(timers -> new TenantEntity(tenantId, deps, ctx, timers)));
  }

  private final TenantRuntime rt;
  private final Unsealer unsealer;
  private final ChainCommands chain;
  private final KillCommands kills;
  private final L1Relink relink;
  private final KeyRotation rotation;
  private final Rewrapping rewrapping;
  private final Retirement retirement;
  private final Offboarding offboarding;
  private final L2Rewrap l2Rewrap;
  private final ReplicaApply replica;

  private TenantEntity(
      String tenantId,
      TenantDependencies deps,
      ActorContext<Command> context,
      TimerScheduler<Command> timers) {
    super(
        PersistenceId.of(ENTITY_KEY.name(), tenantId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.rt =
        new TenantRuntime(
            tenantId, deps, context, timers, Effect(), () -> lastSequenceNumber(context));
    this.unsealer = new Unsealer(rt);
    this.rotation = new KeyRotation(rt, unsealer);
    this.chain = new ChainCommands(rt, unsealer, rotation);
    this.rewrapping = new Rewrapping(rt, unsealer, rotation);
    this.retirement = new Retirement(rt);
    this.offboarding = new Offboarding(rt);
    this.l2Rewrap = new L2Rewrap(rt);
    EventHandler<TenantState, Event> evolution = TenantEvolution.handler(newEventHandlerBuilder());
    this.replica = new ReplicaApply(rt, evolution::apply);
    this.kills = new KillCommands(rt);
    this.relink = new L1Relink(rt);
  }

  @Override
  public TenantState emptyState() {
    return new Unregistered();
  }

  /** A snapshot every 100 events, two kept; events stay (they are the tenant's history). */
  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2);
  }

  /**
   * Events written first in this region are tagged for the other regions; copies are not, but a
   * copy of a destroying event is tagged for the purge that waits for this region's own events.
   */
  @Override
  public java.util.Set<String> tagsFor(Event event) {
    if (event instanceof Replicated r && ReplicaApply.destroys(r.event())) {
      return java.util.Set.of(org.openkcm.core.persistence.JournalTags.ORBITAL_DESTROYED);
    }
    return TenantReplication.crosses(event)
        ? java.util.Set.of(TenantReplication.TAG)
        : java.util.Set.of();
  }

  /**
   * A snapshot right after an event that destroys keys: the events before it (which still hold the
   * destroyed blobs) are then deleted.
   */
  @Override
  public boolean shouldSnapshot(TenantState state, Event event, long sequenceNr) {
    if (event instanceof Replicated r) {
      return shouldSnapshot(state, r.event(), sequenceNr);
    }
    return ReplicaApply.destroys(event);
  }

  // ---------------------------------------------------------------- commands

  @Override
  public CommandHandlerWithReply<Command, Event, TenantState> commandHandler() {
    CommandHandlerWithReplyBuilder<Command, Event, TenantState> b =
        newCommandHandlerWithReplyBuilder();
    // A kill or a wipe never waits: not for an L1 call in flight, not behind other commands.
    b.forAnyState().onCommand(WipeKeys.class, this::onWipe);
    // Another region's events are applied at once, never behind an L1 call (they wipe the keys).
    b.forAnyState().onCommand(ApplyReplicated.class, replica::onApply);
    // Strict mode: a replica whose home region has gone silent serves nothing of the tenant.
    b.forState(st -> st instanceof Registered r && r.isReplica() && rt.homeSilent(r).isPresent())
        .onCommand(
            c -> c instanceof WrapKeys || c instanceof UnwrapKeys || c instanceof RewrapKeys,
            (st, c) ->
                rt.refuse(
                    c,
                    new org.openkcm.protocol.error.OpenKcmException(
                        ErrorReason.HOME_REGION_SILENT, rt.homeSilent((Registered) st).get())));
    // A replica refuses the writes only the tenant's home region makes.
    b.forState(st -> st instanceof Registered r && r.isReplica())
        .onCommand(
            ReplicaApply::homeOnly, (st, c) -> rt.refuse(c, ReplicaApply.notHome((Registered) st)));
    b.forStateType(Registered.class)
        .onCommand(MigrateSeal.class, chain::onMigrateSeal)
        .onCommand(Kill.class, kills::onKill)
        .onCommand(Offboard.class, offboarding::onOffboard)
        .onCommand(PersistPendingKill.class, kills::onPersistPendingKill);
    // While the customer's keystore is being called, user commands wait (in order) for its answer.
    b.forAnyState().onCommand(rt::mustWait, rt::waitForL1);
    killed(b);
    offboarded(b);
    b.forStateType(Unregistered.class)
        .onCommand(Onboard.class, chain::onOnboard)
        .onCommand(
            ReuseOffboardedId.class,
            (s, c) ->
                chain.onOnboard(s, new Onboard(c.l1Reference(), c.correlationId(), c.replyTo())))
        .onCommand(Offboard.class, c -> Effect().reply(c.replyTo(), rt.notFound()))
        .onCommand(L1Answered.class, this::onAnswerUnregistered)
        .onCommand(SummaryCommand.class, c -> Effect().reply(c.replyTo(), rt.notFound()))
        .onCommand(MigrateSeal.class, c -> Effect().reply(c.replyTo(), rt.notFound()))
        .onCommand(WrapKeys.class, c -> Effect().reply(c.replyTo(), rt.notFound()))
        .onCommand(UnwrapKeys.class, c -> Effect().reply(c.replyTo(), rt.notFound()))
        .onCommand(RewrapKeys.class, c -> Effect().reply(c.replyTo(), rt.notFound()));
    b.forStateType(Registered.class)
        .onCommand(
            Onboard.class,
            (s, c) ->
                Effect()
                    .reply(
                        c.replyTo(),
                        TenantRejections.reject(
                            ErrorReason.TENANT_ALREADY_EXISTS,
                            "tenant "
                                + rt.tenantId
                                + " already exists (L1 "
                                + s.l1Reference()
                                + ")")))
        .onCommand(
            ReuseOffboardedId.class,
            (s, c) ->
                Effect()
                    .reply(
                        c.replyTo(),
                        TenantRejections.reject(
                            ErrorReason.TENANT_ALREADY_EXISTS,
                            "tenant " + rt.tenantId + " exists and is not offboarded")))
        .onCommand(CreateService.class, chain::onCreateService)
        .onCommand(GetSummary.class, (s, c) -> Effect().reply(c.replyTo(), success(s)))
        .onCommand(WrapKeys.class, chain::onWrap)
        .onCommand(UnwrapKeys.class, chain::onUnwrap)
        .onCommand(RewrapKeys.class, rewrapping::onRewrap)
        .onCommand(CheckL1.class, unsealer::onCheckL1)
        .onCommand(L1CheckTick.class, (s, c) -> unsealer.onTick(s))
        .onCommand(RotateService.class, rotation::onRotateService)
        .onCommand(RotateL2.class, rotation::onRotateL2)
        .onCommand(LifecycleProtocol.SetRotationPolicy.class, rotation::onSetPolicy)
        .onCommand(RewrapL2.class, l2Rewrap::onRewrapL2)
        .onCommand(RetireVersions.class, retirement::onRetire)
        .onCommand(LifecycleTick.class, (s, c) -> rotation.onLifecycleTick(s))
        .onCommand(RequestL1Link.class, relink::onRequest)
        .onCommand(ApproveL1Link.class, relink::onApprove)
        .onCommand(Revive.class, (s, c) -> Effect().reply(c.replyTo(), success(s)))
        .onCommand(L1Answered.class, this::onAnswer);
    b.forAnyState()
        .onCommand(L1CheckTick.class, c -> Effect().noReply())
        .onCommand(LifecycleTick.class, c -> Effect().noReply())
        .onCommand(PurgeDone.class, c -> rt.onPurged(c))
        .onCommand(PersistPendingKill.class, c -> Effect().noReply())
        .onCommand(StashedCommandsAnswered.class, c -> unsealer.onStashedAnswered());
    CommandHandlerWithReply<Command, Event, TenantState> table = b.build();
    // Nothing about the tenant changes while the key listener unwraps with a resident view.
    return (state, command) -> {
      if (!(command instanceof UnwrapKeys)) {
        rt.notResident();
      }
      return table.apply(state, command);
    };
  }

  /** An offboarded tenant answers TENANT_OFFBOARDED, its receipt, or comes back by the flag. */
  private void offboarded(CommandHandlerWithReplyBuilder<Command, Event, TenantState> b) {
    b.forStateType(TenantState.Offboarded.class)
        .onCommand(Offboard.class, offboarding::onOffboardAgain)
        .onCommand(
            ReuseOffboardedId.class,
            (s, c) ->
                chain.onOnboard(
                    new Unregistered(),
                    new Onboard(c.l1Reference(), c.correlationId(), c.replyTo())))
        .onCommand(
            L1Answered.class,
            (s, a) ->
                a.call() instanceof L1Call.Onboarding o
                    ? chain.onOnboarded(new Unregistered(), o, a)
                    : onAnswerUnregistered(null, a))
        .onCommand(SummaryCommand.class, (s, c) -> Effect().reply(c.replyTo(), gone(s)))
        .onCommand(WrapKeys.class, (s, c) -> Effect().reply(c.replyTo(), gone(s)))
        .onCommand(UnwrapKeys.class, (s, c) -> Effect().reply(c.replyTo(), gone(s)))
        .onCommand(RewrapKeys.class, (s, c) -> Effect().reply(c.replyTo(), gone(s)))
        .onCommand(MigrateSeal.class, (s, c) -> Effect().reply(c.replyTo(), gone(s)));
  }

  private static <T> StatusReply<T> gone(TenantState.Offboarded s) {
    return TenantRejections.reject(Offboarding.offboarded(s));
  }

  /** A killed tenant (or every tenant, under a region/global kill) answers only these. */
  private void killed(CommandHandlerWithReplyBuilder<Command, Event, TenantState> b) {
    b.forState(st -> st instanceof Registered r && rt.killRecord(r).isPresent())
        .onCommand(GetSummary.class, (st, c) -> Effect().reply(c.replyTo(), success(st)))
        .onCommand(Revive.class, (st, c) -> kills.onRevive((Registered) st, c))
        .onCommand(L1Answered.class, (st, c) -> kills.onAnswerWhileKilled((Registered) st, c))
        .onCommand(SummaryCommand.class, (st, c) -> Effect().reply(c.replyTo(), rt.killed(st)))
        .onCommand(WrapKeys.class, (st, c) -> Effect().reply(c.replyTo(), rt.killed(st)))
        .onCommand(UnwrapKeys.class, (st, c) -> Effect().reply(c.replyTo(), rt.killed(st)))
        .onCommand(RewrapKeys.class, (st, c) -> Effect().reply(c.replyTo(), rt.killed(st)));
  }

  private ReplyEffect<Event, TenantState> onWipe(WipeKeys c) {
    boolean held = rt.keys().isPresent();
    rt.wipeKeys(c.why());
    if (held) {
      rt.publish(TenantEventKind.KEYS_WIPED, c.why());
    }
    return Effect().noReply();
  }

  private ReplyEffect<Event, TenantState> onAnswer(Registered s, L1Answered a) {
    if (a.call() instanceof L1Call.Unsealing u) {
      return unsealer.onUnsealed(s, u, a);
    } else if (a.call() instanceof L1Call.Checking c) {
      return unsealer.onChecked(s, c, a);
    } else if (a.call() instanceof L1Call.Linking l) {
      return relink.onLinked(s, l, a);
    } else if (a.call() instanceof L1Call.Reviving r) {
      return kills.onRevived(s, r, a);
    } else if (a.call() instanceof L1Call.RotatingL2 r) {
      return rotation.onL2Wrapped(s, r, a);
    } else if (a.call() instanceof L1Call.RewrappingL2 r) {
      return l2Rewrap.onL2Rewrapped(s, r, a);
    }
    return onAnswerUnregistered(null, a); // an onboarding answering a tenant that exists
  }

  private ReplyEffect<Event, TenantState> onAnswerUnregistered(Unregistered s, L1Answered a) {
    if (s != null && a.call() instanceof L1Call.Onboarding o) {
      return chain.onOnboarded(s, o, a);
    }
    rt.endCall(a.call());
    a.wipeKey();
    if (a.call() instanceof L1Call.Onboarding o) {
      o.l2().wipe();
      return Effect()
          .reply(
              o.request().replyTo(),
              TenantRejections.<TenantSummary>reject(
                  ErrorReason.TENANT_ALREADY_EXISTS, "tenant " + rt.tenantId + " exists"))
          .thenUnstashAll();
    }
    return Effect().noReply().thenUnstashAll();
  }

  private StatusReply<TenantSummary> success(TenantState st) {
    return StatusReply.success(rt.summary((Registered) st));
  }

  // ---------------------------------------------------------------- events

  @Override
  public EventHandler<TenantState, Event> eventHandler() {
    return TenantEvolution.handler(newEventHandlerBuilder());
  }

  @Override
  public SignalHandler<TenantState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            PostStop.instance(),
            s -> {
              rt.wipeKeys("stopped");
              kills.answerUnpersistedKill();
            })
        .onSignal(
            PreRestart.instance(),
            s -> {
              rt.wipeKeys("restarting");
              kills.answerUnpersistedKill();
            })
        .onSignal(
            org.apache.pekko.persistence.typed.SnapshotCompleted.class,
            (s, signal) -> rt.onSnapshot(signal.metadata().sequenceNr()))
        .onSignal(
            RecoveryCompleted.instance(),
            s -> {
              rt.recovered(lastSequenceNumber(rt.context()));
              if (s instanceof Registered r
                  && r.killed().isEmpty()
                  && rt.deps.pendingKills().get(rt.tenantId).isPresent()) {
                rt.context().getSelf().tell(new PersistPendingKill());
              }
            })
        .build();
  }
}
