package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReplyBuilder;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.serialization.CborSerializable;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.Unregistered;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.envelope.Envelope;
import org.openkcm.protocol.envelope.EnvelopeCipher;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.envelope.EnvelopeHeader;
import org.openkcm.protocol.envelope.Identifiers;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.event.TenantEventKind;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One tenant: its L1 reference, its L1-wrapped L2 and L2-wrapped L3s (persisted), and — only in
 * this actor's memory — the unsealed L2/L3 that wrap and unwrap data keys.
 *
 * <p>The first command that needs keys after a start (or failover) unseals the chain: L1 unwraps L2
 * in the customer's keystore (asynchronously, {@code pipeToSelf}), L2 unwraps every L3 locally.
 * Commands that arrive meanwhile are stashed. Wrap and unwrap persist nothing.
 */
public final class TenantEntity
    extends EventSourcedBehaviorWithEnforcedReplies<
        TenantEntity.Command, TenantEntity.Event, TenantState> {

  public static final EntityTypeKey<Command> ENTITY_KEY =
      EntityTypeKey.create(Command.class, "Tenant");

  private static final Logger log = LoggerFactory.getLogger(TenantEntity.class);
  private static final int KEY_BYTES = 32;

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /** A command answered with the tenant's summary (or a rejection). */
  public sealed interface SummaryCommand extends Command {
    ActorRef<StatusReply<TenantSummary>> replyTo();
  }

  /** Links the tenant's L1 and generates its L2. */
  public record Onboard(
      String l1Reference, String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo)
      implements SummaryCommand {}

  /** Generates the L3 of a new service. */
  public record CreateService(
      String serviceId, String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo)
      implements SummaryCommand {}

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

  /** Poison message (region/global kill-switch, node sealed): wipe the keys now (no reply). */
  public record WipeKeys(String why) implements Command {}

  /** Messages the entity sends itself; they never leave the node. */
  private sealed interface Internal extends Command {}

  private record OnboardL1Done(
      Onboard request,
      KeyMaterial l2,
      Map<String, String> l1Context,
      Optional<byte[]> wrappedL2,
      Optional<Throwable> failure)
      implements Internal {}

  private record UnsealDone(
      Optional<KeyMaterial> l2,
      Optional<Throwable> failure,
      String correlationId,
      long startedNanos,
      long wipeEpoch)
      implements Internal {}

  /** After a restart on this node: a kill the journal did not take is written again. */
  private record PersistPendingKill() implements Internal {}

  private record L1LinkDone(
      ApproveL1Link request,
      PendingL1Link link,
      Map<String, String> l1Context,
      Optional<byte[]> wrappedL2,
      Optional<Throwable> failure)
      implements Internal {}

  private record L1CheckTick() implements Internal {}

  private record ReviveDone(
      Revive request,
      Optional<KeyMaterial> l2,
      Optional<Throwable> failure,
      String correlationId,
      long killEpoch)
      implements Internal {}

  /**
   * Sent to self after a failed unseal: every command stashed for that unseal has had its answer.
   */
  private record StashedCommandsAnswered() implements Internal {}

  private record L1CheckDone(
      Optional<KeyMaterial> l2,
      Optional<Throwable> failure,
      String correlationId,
      Optional<ActorRef<StatusReply<TenantSummary>>> replyTo)
      implements Internal {}

  public record WrapItem(byte[] plaintext, Map<String, String> context)
      implements CborSerializable {
    @Override
    public String toString() {
      return "WrapItem[redacted " + plaintext.length + " bytes, context=" + context.keySet() + "]";
    }
  }

  public record UnwrapItem(byte[] envelope, Map<String, String> context)
      implements CborSerializable {}

  public record ServiceSummary(String serviceId, long l3Version) implements CborSerializable {}

  /**
   * @param status active, killed, or l1-revoked when the customer's keystore refused L1
   * @param revocation why and since when L1 is refused (empty while active)
   */
  public record TenantSummary(
      String tenantId,
      String l1Reference,
      long l2Version,
      TenantStatus status,
      List<ServiceSummary> services,
      boolean unsealed,
      Optional<L1Revocation> revocation,
      Optional<KillRecord> killed,
      String node,
      Optional<PendingL1Link> pendingLink)
      implements CborSerializable {}

  /**
   * @param sequence the tenant's event sequence when it answered (gateways compare it with the
   *     events they saw)
   */
  public record Wrapped(List<byte[]> envelopes, long l3Version, long sequence)
      implements CborSerializable {}

  /**
   * One unwrap outcome: a plaintext, or an error reason and message (then the plaintext is empty).
   */
  public record UnwrapOutcome(byte[] plaintext, String errorReason, String errorMessage)
      implements CborSerializable {
    static UnwrapOutcome ok(byte[] plaintext) {
      return new UnwrapOutcome(plaintext, "", "");
    }

    static UnwrapOutcome failed(ErrorReason reason, String message) {
      return new UnwrapOutcome(new byte[0], reason.name(), message);
    }

    public boolean isOk() {
      return errorReason.isEmpty();
    }

    @Override
    public String toString() {
      return isOk() ? "UnwrapOutcome[ok, redacted]" : "UnwrapOutcome[" + errorReason + "]";
    }
  }

  public record Unwrapped(List<UnwrapOutcome> outcomes, long sequence)
      implements CborSerializable {}

  // ---------------------------------------------------------------- events and state

  public sealed interface Event extends CborSerializable {}

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

  /** A service exists; its L3 is persisted only wrapped by the tenant's L2. */
  public record ServiceCreated(
      String serviceId,
      long l3Version,
      long l2Version,
      byte[] wrappedL3,
      Instant at,
      String correlationId)
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

  /** A re-link waiting for approval. */
  public record PendingL1Link(String requestId, String l1Reference, String requestedBy, Instant at)
      implements CborSerializable {}

  public record L1Revocation(String reason, String message, Instant since)
      implements CborSerializable {}

  /**
   * A pulled kill-switch: its scope ({@code tenant}, {@code region:<name>} or {@code global}), why,
   * who, when.
   */
  public record KillRecord(String scope, String reason, String by, Instant since)
      implements CborSerializable {
    String describe(String tenantId) {
      String what =
          scope.equals("tenant")
              ? "tenant " + tenantId + " is killed"
              : "every tenant is killed (" + scope + " kill-switch)";
      return what + " since " + since + " (reason: " + reason + ", by " + by + ")";
    }
  }

  public record TenantKilled(String reason, String by, Instant at, String correlationId)
      implements Event {}

  public record TenantRevived(String by, Instant at, String correlationId) implements Event {}

  /** Every L3 version of one service, wrapped by the L2 version named in each. */
  public record ServiceKeys(String serviceId, long currentVersion, List<WrappedL3> versions)
      implements CborSerializable {}

  public record WrappedL3(long version, long l2Version, byte[] blob) implements CborSerializable {}

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

  private final String tenantId;
  private final TenantDependencies deps;
  private final KeyChain chain;
  private final TenantAudit audit;
  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;

  // transient, never persisted
  private Optional<UnsealedKeys> unsealed = Optional.empty();

  /** An L1 call that user commands must wait for (onboarding, unsealing, linking). */
  private boolean l1CallInFlight;

  /** A background re-verification of L1; traffic keeps flowing meanwhile. */
  private boolean l1CheckInFlight;

  private Instant lastL1Confirmed = Instant.EPOCH;
  private Optional<UnsealFailure> unsealFailure = Optional.empty();

  /**
   * The failure the commands stashed during the last unseal get (they must not retry it
   * themselves).
   */
  private Optional<OpenKcmException> failStashed = Optional.empty();

  /**
   * Commands stashed while an L1 call is in flight; past the configured bound new ones are refused.
   */
  private int waiting;

  /**
   * Counts wipes: keys an L1 call brings back after a wipe (kill, seal, revocation) are discarded.
   */
  private long wipeEpoch;

  /** Counts kills: a revive whose L1 call was overtaken by a kill does not revive. */
  private long killEpoch;

  private record UnsealFailure(OpenKcmException error, Instant at) {}

  private TenantEntity(
      String tenantId,
      TenantDependencies deps,
      ActorContext<Command> context,
      TimerScheduler<Command> timers) {
    super(PersistenceId.of(ENTITY_KEY.name(), tenantId));
    this.tenantId = tenantId;
    this.deps = deps;
    this.chain = new KeyChain(tenantId, deps.masterKey(), deps.random());
    this.audit = new TenantAudit(tenantId);
    this.context = context;
    this.timers = timers;
  }

  @Override
  public TenantState emptyState() {
    return new Unregistered();
  }

  // ---------------------------------------------------------------- commands

  @Override
  public CommandHandlerWithReply<Command, Event, TenantState> commandHandler() {
    CommandHandlerWithReplyBuilder<Command, Event, TenantState> b =
        newCommandHandlerWithReplyBuilder();
    // A kill or a wipe never waits: not for an L1 call in flight, not behind other commands.
    b.forAnyState()
        .onCommand(
            WipeKeys.class,
            c -> {
              boolean held = unsealed.isPresent();
              wipeKeys(c.why());
              if (held) {
                publish(TenantEventKind.KEYS_WIPED, c.why());
              }
              return Effect().noReply();
            });
    b.forStateType(Registered.class)
        .onCommand(MigrateSeal.class, this::onMigrateSeal)
        .onCommand(Kill.class, this::onKill)
        .onCommand(PersistPendingKill.class, this::onPersistPendingKill);
    // While the customer's keystore is being called, user commands wait (in order) for its answer.
    b.forAnyState().onCommand(c -> l1CallInFlight && !(c instanceof Internal), this::waitForL1);

    // A killed tenant (or every tenant, under a region/global kill) answers only these.
    b.forState(st -> st instanceof Registered r && killRecord(r).isPresent())
        .onCommand(WrapKeys.class, (st, c) -> Effect().reply(c.replyTo(), killed(st)))
        .onCommand(UnwrapKeys.class, (st, c) -> Effect().reply(c.replyTo(), killed(st)))
        .onCommand(CreateService.class, (st, c) -> Effect().reply(c.replyTo(), killed(st)))
        .onCommand(CheckL1.class, (st, c) -> Effect().reply(c.replyTo(), killed(st)))
        .onCommand(RequestL1Link.class, (st, c) -> Effect().reply(c.replyTo(), killed(st)))
        .onCommand(ApproveL1Link.class, (st, c) -> Effect().reply(c.replyTo(), killed(st)))
        .onCommand(Onboard.class, (st, c) -> Effect().reply(c.replyTo(), killed(st)))
        .onCommand(
            GetSummary.class,
            (st, c) -> Effect().reply(c.replyTo(), StatusReply.success(summary((Registered) st))))
        .onCommand(Revive.class, (st, c) -> onRevive((Registered) st, c))
        .onCommand(ReviveDone.class, (st, c) -> onReviveDone((Registered) st, c))
        .onCommand(
            L1CheckDone.class,
            (st, c) -> {
              l1CheckInFlight = false;
              c.l2().ifPresent(KeyMaterial::wipe);
              return Effect().noReply();
            })
        .onCommand(
            UnsealDone.class,
            (st, c) -> {
              l1CallEnded();
              c.l2().ifPresent(KeyMaterial::wipe);
              return Effect().noReply().thenUnstashAll();
            })
        .onCommand(
            L1LinkDone.class,
            (st, c) -> {
              l1CallEnded();
              return Effect().reply(c.request().replyTo(), killed(st)).thenUnstashAll();
            });

    b.forStateType(Unregistered.class)
        .onCommand(Onboard.class, this::onOnboard)
        .onCommand(OnboardL1Done.class, this::onOnboardL1Done)
        .onCommand(CreateService.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(GetSummary.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(CheckL1.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(RequestL1Link.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(ApproveL1Link.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(Kill.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(MigrateSeal.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(Revive.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(WrapKeys.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(UnwrapKeys.class, c -> Effect().reply(c.replyTo(), notFound()));

    b.forStateType(Registered.class)
        .onCommand(
            Onboard.class,
            (s, c) ->
                Effect()
                    .reply(
                        c.replyTo(),
                        reject(
                            ErrorReason.TENANT_ALREADY_EXISTS,
                            "tenant " + tenantId + " already exists (L1 " + s.l1Reference() + ")")))
        .onCommand(CreateService.class, this::onCreateService)
        .onCommand(
            GetSummary.class,
            (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(summary(s))))
        .onCommand(WrapKeys.class, this::onWrap)
        .onCommand(UnwrapKeys.class, this::onUnwrap)
        .onCommand(UnsealDone.class, this::onUnsealDone)
        .onCommand(CheckL1.class, this::onCheckL1)
        .onCommand(
            L1CheckTick.class,
            (s, c) -> startL1Check(s, "l1-check-" + UUID.randomUUID(), Optional.empty()))
        .onCommand(L1CheckDone.class, this::onL1CheckDone)
        .onCommand(RequestL1Link.class, this::onRequestL1Link)
        .onCommand(ApproveL1Link.class, this::onApproveL1Link)
        .onCommand(L1LinkDone.class, this::onL1LinkDone)
        .onCommand(
            Revive.class, (st, c) -> Effect().reply(c.replyTo(), StatusReply.success(summary(st))));

    b.forAnyState()
        .onCommand(L1CheckTick.class, c -> Effect().noReply())
        .onCommand(PersistPendingKill.class, c -> Effect().noReply())
        .onCommand(
            StashedCommandsAnswered.class,
            c -> {
              failStashed = Optional.empty();
              return Effect().noReply();
            })
        .onCommand(
            OnboardL1Done.class,
            c -> { // tenant registered meanwhile: cannot happen while in flight
              c.l2().wipe();
              return Effect()
                  .reply(
                      c.request().replyTo(),
                      reject(ErrorReason.TENANT_ALREADY_EXISTS, "tenant exists"));
            });
    return b.build();
  }

  private ReplyEffect<Event, TenantState> onOnboard(Unregistered s, Onboard c) {
    L1Reference ref;
    try {
      ref = L1Reference.parse(c.l1Reference());
    } catch (IllegalArgumentException e) {
      return Effect().reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, e.getMessage()));
    }
    if (!deps.masterKey().isUnsealed()) {
      return Effect().reply(c.replyTo(), reject(sealedError()));
    }
    Optional<KillRecord> switchedOff = deps.killSwitch().engaged();
    if (switchedOff.isPresent()) {
      return Effect()
          .reply(
              c.replyTo(),
              switchedOff.get().scope().equals("unknown")
                  ? reject(ErrorReason.CORE_UNAVAILABLE, switchedOff.get().reason())
                  : reject(
                      ErrorReason.TENANT_KILLED,
                      "onboarding refused: " + switchedOff.get().describe(tenantId)));
    }
    String cid = correlation(c.correlationId());
    KeyMaterial l2 = KeyMaterial.random(KEY_BYTES, deps.random());
    Map<String, String> l1Context = chain.l1Context(1, cid);
    l1CallInFlight = true;
    log.info("tenant {}: onboarding, wrapping a new L2 with L1 {} (cid={})", tenantId, ref, cid);
    context.pipeToSelf(
        wrapVerified(ref, l2, l1Context, cid),
        (blob, failure) ->
            new OnboardL1Done(
                c, l2, l1Context, Optional.ofNullable(blob), Optional.ofNullable(failure)));
    return Effect().noReply(); // answered by OnboardL1Done
  }

  private ReplyEffect<Event, TenantState> onOnboardL1Done(Unregistered s, OnboardL1Done done) {
    l1CallEnded();
    Onboard c = done.request();
    String cid = done.l1Context().get("openkcm:correlation-id");
    if (done.failure().isPresent()) {
      done.l2().wipe();
      OpenKcmException e =
          TenantRejections.fromKeystore(done.failure().get(), tenantId, c.l1Reference(), true);
      audit.record("tenant.onboard", "l1", c.l1Reference(), "cid", cid, "outcome", e.reason());
      return Effect()
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    byte[] sealedL2;
    try {
      sealedL2 = chain.sealL2(done.wrappedL2().orElseThrow());
    } catch (OpenKcmException e) {
      done.l2().wipe();
      return Effect()
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    TenantOnboarded event =
        new TenantOnboarded(
            tenantId,
            L1Reference.parse(c.l1Reference()).asString(),
            1,
            sealedL2,
            done.l1Context(),
            deps.clock().instant(),
            cid);
    return Effect()
        .persist(event)
        .thenRun(
            st -> {
              installKeys(new UnsealedKeys(done.l2(), 1));
              audit.record(
                  "tenant.onboard",
                  "l1",
                  event.l1Reference(),
                  "l2v",
                  "1",
                  "cid",
                  cid,
                  "outcome",
                  "ok");
              publish(TenantEventKind.ONBOARDED, "L1 " + event.l1Reference());
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(summary((Registered) st)))
        .thenUnstashAll();
  }

  private ReplyEffect<Event, TenantState> onCreateService(Registered s, CreateService c) {
    Optional<String> problem = Identifiers.problem("service", c.serviceId());
    if (problem.isPresent()) {
      return Effect().reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, problem.get()));
    }
    if (s.services().containsKey(c.serviceId())) {
      return Effect()
          .reply(
              c.replyTo(),
              reject(
                  ErrorReason.SERVICE_ALREADY_EXISTS,
                  "service " + c.serviceId() + " of tenant " + tenantId + " already exists"));
    }
    if (unsealed.isEmpty()) {
      return unsealFirst(s, c.correlationId(), c.replyTo());
    }
    UnsealedKeys keys = unsealed.get();
    String cid = correlation(c.correlationId());
    KeyMaterial l3 = KeyMaterial.random(KEY_BYTES, deps.random());
    byte[] blob;
    try {
      blob = chain.sealL3(keys.l2(), keys.l2Version(), c.serviceId(), 1, l3);
    } catch (OpenKcmException e) {
      l3.wipe();
      return Effect().reply(c.replyTo(), reject(e));
    }
    ServiceCreated event =
        new ServiceCreated(c.serviceId(), 1, keys.l2Version(), blob, deps.clock().instant(), cid);
    return Effect()
        .persist(event)
        .thenRun(
            st -> {
              unsealed.ifPresent(
                  k ->
                      k.install(
                          new EnvelopeCipher(new EnvelopeHeader(tenantId, c.serviceId(), 1), l3)));
              l3.wipe();
              audit.record(
                  "service.create",
                  "service",
                  c.serviceId(),
                  "l3v",
                  "1",
                  "cid",
                  cid,
                  "outcome",
                  "ok");
              publish(TenantEventKind.SERVICE_CREATED, c.serviceId());
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(summary((Registered) st)));
  }

  private ReplyEffect<Event, TenantState> onWrap(Registered s, WrapKeys c) {
    ServiceKeys service = s.services().get(c.serviceId());
    if (service == null) {
      return Effect().reply(c.replyTo(), serviceNotFound(c.serviceId()));
    }
    Optional<String> invalid = batchProblem(c.items().size());
    if (invalid.isPresent()) {
      return Effect().reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, invalid.get()));
    }
    if (unsealed.isEmpty()) {
      return unsealFirst(s, c.correlationId(), c.replyTo());
    }
    EnvelopeCipher cipher =
        unsealed.get().cipher(c.serviceId(), service.currentVersion()).orElseThrow();
    List<byte[]> envelopes = new ArrayList<>(c.items().size());
    for (int i = 0; i < c.items().size(); i++) {
      WrapItem item = c.items().get(i);
      int len = item.plaintext().length;
      if (len != 16 && len != 24 && len != 32) {
        return Effect()
            .reply(
                c.replyTo(),
                reject(
                    ErrorReason.INVALID_ARGUMENT,
                    "item "
                        + i
                        + ": a data key is 16, 24 or 32 bytes (AES-128/192/256), got "
                        + len));
      }
      KeyMaterial dek = KeyMaterial.copyOf(item.plaintext());
      try {
        envelopes.add(cipher.wrap(dek, EncryptionContext.of(item.context()), deps.random()));
      } catch (EnvelopeException e) {
        return Effect()
            .reply(
                c.replyTo(),
                reject(ErrorReason.of(e.reason()), "item " + i + ": " + e.getMessage()));
      } finally {
        dek.wipe();
      }
    }
    return Effect()
        .reply(
            c.replyTo(),
            StatusReply.success(
                new Wrapped(envelopes, service.currentVersion(), lastSequenceNumber(context))));
  }

  private ReplyEffect<Event, TenantState> onUnwrap(Registered s, UnwrapKeys c) {
    Optional<String> invalid = batchProblem(c.items().size());
    if (invalid.isPresent()) {
      return Effect().reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, invalid.get()));
    }
    if (unsealed.isEmpty()) {
      return unsealFirst(s, c.correlationId(), c.replyTo());
    }
    List<UnwrapOutcome> outcomes = new ArrayList<>(c.items().size());
    for (UnwrapItem item : c.items()) {
      outcomes.add(unwrapOne(s, item));
    }
    return Effect()
        .reply(
            c.replyTo(), StatusReply.success(new Unwrapped(outcomes, lastSequenceNumber(context))));
  }

  private UnwrapOutcome unwrapOne(Registered s, UnwrapItem item) {
    try {
      Envelope env = EnvelopeCodec.decode(item.envelope());
      if (!env.tenantId().equals(tenantId)) {
        return UnwrapOutcome.failed(
            ErrorReason.ENVELOPE_TENANT_MISMATCH,
            "envelope belongs to another tenant, not to " + tenantId);
      }
      if (!s.services().containsKey(env.serviceId())) {
        return UnwrapOutcome.failed(
            ErrorReason.SERVICE_NOT_FOUND,
            "envelope names service "
                + env.serviceId()
                + ", which tenant "
                + tenantId
                + " does not have");
      }
      Optional<EnvelopeCipher> cipher =
          unsealed.orElseThrow().cipher(env.serviceId(), env.l3Version());
      if (cipher.isEmpty()) {
        return UnwrapOutcome.failed(
            ErrorReason.L3_VERSION_UNKNOWN,
            "envelope names L3 version "
                + env.l3Version()
                + " of service "
                + env.serviceId()
                + ", which does not exist");
      }
      KeyMaterial dek = cipher.get().unwrap(env, EncryptionContext.of(item.context()));
      byte[] plaintext = dek.revealBytes();
      dek.wipe();
      return UnwrapOutcome.ok(plaintext);
    } catch (EnvelopeException e) {
      return UnwrapOutcome.failed(ErrorReason.of(e.reason()), e.getMessage());
    }
  }

  // ---------------------------------------------------------------- unsealing

  private <T> ReplyEffect<Event, TenantState> unsealFirst(
      Registered s, String correlationId, ActorRef<StatusReply<T>> replyTo) {
    if (failStashed.isPresent()) {
      return Effect().reply(replyTo, reject(failStashed.get()));
    }
    if (unsealFailure.isPresent()
        && deps.clock()
            .instant()
            .isBefore(unsealFailure.get().at().plus(deps.settings().unsealRetryBackoff()))) {
      return Effect().reply(replyTo, reject(unsealFailure.get().error()));
    }
    unsealFailure = Optional.empty();
    String cid = correlation(correlationId);
    L1Reference ref = L1Reference.parse(s.l1Reference());
    byte[] l1Blob;
    try {
      l1Blob = chain.openL2(s.wrappedL2());
    } catch (OpenKcmException e) {
      return Effect().reply(replyTo, reject(e));
    }
    l1CallInFlight = true;
    long started = System.nanoTime();
    log.info("tenant {}: unsealing L2 v{} with L1 {} (cid={})", tenantId, s.l2Version(), ref, cid);
    long epoch = wipeEpoch;
    context.pipeToSelf(
        l1Call(deps.keystore().unwrap(ref, l1Blob, s.l1Context(), cid)),
        (l2, failure) ->
            new UnsealDone(
                Optional.ofNullable(l2), Optional.ofNullable(failure), cid, started, epoch));
    waiting++;
    return Effect().stash();
  }

  private ReplyEffect<Event, TenantState> onUnsealDone(Registered s, UnsealDone done) {
    l1CallEnded();
    if (done.wipeEpoch()
        != wipeEpoch) { // wiped meanwhile (seal, revocation): these keys are not to be kept
      done.l2().ifPresent(KeyMaterial::wipe);
      return Effect().noReply().thenUnstashAll();
    }
    if (done.failure().isPresent()) {
      OpenKcmException e =
          TenantRejections.fromKeystore(done.failure().get(), tenantId, s.l1Reference(), false);
      return unsealFailed(s, e, done.correlationId());
    }
    UnsealedKeys keys;
    try {
      keys = chain.open(done.l2().orElseThrow(), s.l2Version(), s.services());
    } catch (OpenKcmException e) {
      return unsealFailed(s, e, done.correlationId());
    }
    installKeys(keys);
    audit.record(
        "tenant.unseal",
        "l1",
        s.l1Reference(),
        "l2v",
        s.l2Version(),
        "services",
        s.services().size(),
        "cid",
        done.correlationId(),
        "outcome",
        "ok",
        "ms",
        (System.nanoTime() - done.startedNanos()) / 1_000_000);
    if (s.revocation().isPresent()) {
      audit.record("tenant.l1-restored", "l1", s.l1Reference(), "cid", done.correlationId());
      return Effect()
          .persist(new L1Restored(deps.clock().instant(), done.correlationId()))
          .thenRun(st -> publish(TenantEventKind.L1_RESTORED, "L1 works again"))
          .thenNoReply()
          .thenUnstashAll();
    }
    return Effect().noReply().thenUnstashAll();
  }

  private ReplyEffect<Event, TenantState> unsealFailed(
      Registered s, OpenKcmException e, String cid) {
    log.warn("tenant {}: unseal failed: {}", tenantId, e.oneLine());
    audit.record("tenant.unseal", "l1", s.l1Reference(), "cid", cid, "outcome", e.reason());
    // The commands waiting for this unseal get its error, and so does every command for the retry
    // backoff.
    unsealFailure = Optional.of(new UnsealFailure(e, deps.clock().instant()));
    failStashed = Optional.of(e);
    context.getSelf().tell(new StashedCommandsAnswered());
    if (e.reason() == ErrorReason.L1_REVOKED && s.revocation().isEmpty()) {
      return Effect()
          .persist(revoked(e, cid))
          .thenRun(st -> publish(TenantEventKind.L1_REVOKED, e.getMessage()))
          .thenNoReply()
          .thenUnstashAll();
    }
    return Effect().noReply().thenUnstashAll();
  }

  // ---------------------------------------------------------------- kill-switch

  /**
   * Kills the tenant: keys wiped and every command refused at once, before the kill is even
   * persisted (it is entered in {@link PendingKills} first, so a journal failure cannot bring the
   * tenant back on this node), whatever L1 call is in flight; commands that waited for that call
   * are answered now.
   */
  private ReplyEffect<Event, TenantState> onKill(Registered s, Kill c) {
    killEpoch++;
    if (s.killed().isPresent()) {
      return Effect().reply(c.replyTo(), StatusReply.success(summary(s)));
    }
    String cid = correlation(c.correlationId());
    String reason = c.reason().isBlank() ? "(no reason given)" : c.reason();
    String by = c.requestedBy().isBlank() ? "unknown" : c.requestedBy();
    Instant at = deps.clock().instant();
    deps.pendingKills()
        .put(
            tenantId,
            new PendingKills.Pending(
                new KillRecord("tenant", reason, by, at), cid, Optional.of(c.replyTo())));
    wipeKeys("tenant kill-switch");
    l1CallEnded(); // whatever the keystore answers now is discarded (wipe epoch) and waiting
    // commands are refused
    log.warn(
        "tenant {}: KILLED by {} (reason: {}); keys wiped (cid={})", tenantId, by, reason, cid);
    audit.record("tenant.kill", "by", by, "reason", reason, "cid", cid);
    return Effect()
        .persist(new TenantKilled(reason, by, at, cid))
        .thenRun(
            st -> {
              deps.pendingKills().persisted(tenantId);
              publish(TenantEventKind.KILLED, reason);
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(summary((Registered) st)))
        .thenUnstashAll();
  }

  private ReplyEffect<Event, TenantState> onMigrateSeal(Registered s, MigrateSeal c) {
    if (!deps.masterKey().isUnsealed()) {
      return Effect().reply(c.replyTo(), reject(sealedError()));
    }
    int sealed = 0;
    byte[] l2 = s.wrappedL2();
    if (!org.openkcm.core.seal.MasterKey.isSealedBlob(l2)) {
      l2 = chain.sealLegacyL2(l2);
      sealed++;
    }
    Map<String, List<WrappedL3>> l3s = new TreeMap<>();
    for (ServiceKeys service : s.services().values()) {
      List<WrappedL3> versions = new ArrayList<>();
      for (WrappedL3 w : service.versions()) {
        if (org.openkcm.core.seal.MasterKey.isSealedBlob(w.blob())) {
          versions.add(w);
        } else {
          versions.add(
              new WrappedL3(
                  w.version(),
                  w.l2Version(),
                  chain.sealLegacyL3(service.serviceId(), w.version(), w.blob())));
          sealed++;
        }
      }
      l3s.put(service.serviceId(), List.copyOf(versions));
    }
    String cid = correlation(c.correlationId());
    if (sealed == 0) {
      return Effect().reply(c.replyTo(), StatusReply.success(0));
    }
    int count = sealed;
    return Effect()
        .persist(new BlobsResealed(l2, Map.copyOf(l3s), deps.clock().instant(), cid))
        .thenRun(
            st -> audit.record("tenant.migrate-seal", "blobs", count, "cid", cid, "outcome", "ok"))
        .thenReply(c.replyTo(), st -> StatusReply.success(count));
  }

  /**
   * A kill accepted on this node before a journal failure: write it again (everything is refused
   * meanwhile).
   */
  private ReplyEffect<Event, TenantState> onPersistPendingKill(Registered s, PersistPendingKill c) {
    Optional<PendingKills.Pending> pending = deps.pendingKills().get(tenantId);
    if (pending.isEmpty() || s.killed().isPresent()) {
      deps.pendingKills().persisted(tenantId);
      return Effect().noReply();
    }
    KillRecord k = pending.get().kill();
    log.warn(
        "tenant {}: writing the kill of {} again (the journal refused it before)",
        tenantId,
        k.since());
    return Effect()
        .persist(new TenantKilled(k.reason(), k.by(), k.since(), pending.get().correlationId()))
        .thenRun(
            st -> {
              deps.pendingKills().persisted(tenantId);
              audit.record(
                  "tenant.kill",
                  "by",
                  k.by(),
                  "cid",
                  pending.get().correlationId(),
                  "persisted",
                  "after-retry");
              publish(TenantEventKind.KILLED, k.reason());
            })
        .thenNoReply();
  }

  private ReplyEffect<Event, TenantState> onRevive(Registered s, Revive c) {
    Optional<KillRecord> global = deps.killSwitch().engaged();
    if (global.isPresent()) {
      return Effect()
          .reply(
              c.replyTo(),
              reject(
                  ErrorReason.TENANT_KILLED,
                  global.get().describe(tenantId) + "; release that kill-switch first"));
    }
    String cid = correlation(c.correlationId());
    byte[] l1Blob;
    try {
      l1Blob = chain.openL2(s.wrappedL2());
    } catch (OpenKcmException e) {
      return Effect().reply(c.replyTo(), reject(e));
    }
    l1CallInFlight = true;
    log.info(
        "tenant {}: revive requested by {}: unsealing from L1 {} (cid={})",
        tenantId,
        c.requestedBy(),
        s.l1Reference(),
        cid);
    long epoch = killEpoch;
    context.pipeToSelf(
        l1Call(
            deps.keystore().unwrap(L1Reference.parse(s.l1Reference()), l1Blob, s.l1Context(), cid)),
        (l2, failure) ->
            new ReviveDone(c, Optional.ofNullable(l2), Optional.ofNullable(failure), cid, epoch));
    return Effect().noReply();
  }

  private ReplyEffect<Event, TenantState> onReviveDone(Registered s, ReviveDone done) {
    l1CallEnded();
    Revive c = done.request();
    if (done.killEpoch() != killEpoch) {
      done.l2().ifPresent(KeyMaterial::wipe);
      return Effect()
          .reply(
              c.replyTo(),
              TenantRejections.<TenantSummary>reject(
                  ErrorReason.TENANT_KILLED,
                  "tenant "
                      + tenantId
                      + " was killed again while the revive asked its L1; not revived"))
          .thenUnstashAll();
    }
    if (done.failure().isPresent()) {
      OpenKcmException e =
          TenantRejections.fromKeystore(done.failure().get(), tenantId, s.l1Reference(), false);
      audit.record(
          "tenant.revive",
          "by",
          c.requestedBy(),
          "cid",
          done.correlationId(),
          "outcome",
          e.reason());
      return Effect()
          .reply(
              c.replyTo(),
              TenantRejections.<TenantSummary>reject(
                  new OpenKcmException(e.reason(), "cannot revive: " + e.getMessage())))
          .thenUnstashAll();
    }
    UnsealedKeys keys;
    try {
      keys = chain.open(done.l2().orElseThrow(), s.l2Version(), s.services());
    } catch (OpenKcmException e) {
      return Effect()
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    audit.record(
        "tenant.revive", "by", c.requestedBy(), "cid", done.correlationId(), "outcome", "ok");
    return Effect()
        .persist(new TenantRevived(c.requestedBy(), deps.clock().instant(), done.correlationId()))
        .thenRun(st -> installKeys(keys))
        .thenRun(st -> publish(TenantEventKind.REVIVED, "revived by " + c.requestedBy()))
        .thenReply(c.replyTo(), st -> StatusReply.success(summary((Registered) st)))
        .thenUnstashAll();
  }

  /**
   * The tenant's own kill (persisted, or accepted and not yet persisted), else a region/global
   * kill-switch.
   */
  private Optional<KillRecord> killRecord(Registered s) {
    return s.killed()
        .or(() -> deps.pendingKills().get(tenantId).map(PendingKills.Pending::kill))
        .or(() -> deps.killSwitch().engaged());
  }

  private <T> StatusReply<T> killed(TenantState st) {
    Registered s = (Registered) st;
    wipeKeys("kill-switch");
    Optional<KillRecord> kill = killRecord(s);
    if (kill.isPresent() && kill.get().scope().equals("unknown")) {
      // this node has not loaded the kill-switch state yet: fail closed, but say so (retryable)
      return reject(ErrorReason.CORE_UNAVAILABLE, kill.get().reason());
    }
    return reject(
        ErrorReason.TENANT_KILLED, kill.map(k -> k.describe(tenantId)).orElse("tenant killed"));
  }

  // ---------------------------------------------------------------- L1 re-verification and linking

  private ReplyEffect<Event, TenantState> onCheckL1(Registered s, CheckL1 c) {
    if (unsealed.isEmpty()) {
      unsealFailure =
          Optional.empty(); // an operator asked: ask the keystore now, not the cached answer
      return unsealFirst(s, c.correlationId(), c.replyTo());
    }
    if (l1CheckInFlight) {
      waiting++;
      return Effect().stash();
    }
    return startL1Check(s, correlation(c.correlationId()), Optional.of(c.replyTo()));
  }

  private ReplyEffect<Event, TenantState> startL1Check(
      Registered s, String cid, Optional<ActorRef<StatusReply<TenantSummary>>> replyTo) {
    if (unsealed.isEmpty() || l1CheckInFlight) {
      return Effect().noReply();
    }
    byte[] l1Blob;
    try {
      l1Blob = chain.openL2(s.wrappedL2());
    } catch (OpenKcmException e) {
      return replyTo.isPresent()
          ? Effect().reply(replyTo.get(), TenantRejections.<TenantSummary>reject(e))
          : Effect().noReply();
    }
    l1CheckInFlight = true;
    context.pipeToSelf(
        l1Call(
            deps.keystore().unwrap(L1Reference.parse(s.l1Reference()), l1Blob, s.l1Context(), cid)),
        (l2, failure) ->
            new L1CheckDone(Optional.ofNullable(l2), Optional.ofNullable(failure), cid, replyTo));
    return Effect().noReply();
  }

  private ReplyEffect<Event, TenantState> onL1CheckDone(Registered s, L1CheckDone done) {
    l1CheckInFlight = false;
    if (!l1CallInFlight) {
      waiting = 0;
    }
    done.l2().ifPresent(KeyMaterial::wipe);
    if (done.failure().isEmpty()) {
      lastL1Confirmed = deps.clock().instant();
      audit.record(
          "tenant.l1-check", "l1", s.l1Reference(), "cid", done.correlationId(), "outcome", "ok");
      return answer(done.replyTo(), Effect().none()).thenUnstashAll();
    }
    OpenKcmException e =
        TenantRejections.fromKeystore(done.failure().get(), tenantId, s.l1Reference(), false);
    audit.record(
        "tenant.l1-check",
        "l1",
        s.l1Reference(),
        "cid",
        done.correlationId(),
        "outcome",
        e.reason());
    if (e.reason() == ErrorReason.L1_REVOKED) {
      log.warn(
          "tenant {}: L1 revoked by the customer's keystore; keys wiped: {}",
          tenantId,
          e.getMessage());
      wipeKeys("L1 revoked");
      unsealFailure = Optional.of(new UnsealFailure(e, deps.clock().instant()));
      return answer(
              done.replyTo(),
              s.revocation().isPresent()
                  ? Effect().none()
                  : Effect()
                      .persist(revoked(e, done.correlationId()))
                      .thenRun(st -> publish(TenantEventKind.L1_REVOKED, e.getMessage())))
          .thenUnstashAll();
    }
    Instant now = deps.clock().instant();
    if (now.isAfter(lastL1Confirmed.plus(deps.settings().l1UnavailableGrace()))) {
      log.warn(
          "tenant {}: L1 not confirmed since {} (grace {}); keys wiped: {}",
          tenantId,
          lastL1Confirmed,
          deps.settings().l1UnavailableGrace(),
          e.getMessage());
      wipeKeys("L1 unreachable beyond the grace period");
      publish(TenantEventKind.KEYS_WIPED, "L1 unreachable beyond the grace period");
    } else {
      log.warn(
          "tenant {}: L1 check failed, keys kept within the grace period: {}",
          tenantId,
          e.oneLine());
    }
    if (done.replyTo().isPresent()) {
      return Effect()
          .reply(done.replyTo().get(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    return Effect().noReply().thenUnstashAll();
  }

  /** Replies the resulting summary after {@code effect} when someone asked. */
  private ReplyEffect<Event, TenantState> answer(
      Optional<ActorRef<StatusReply<TenantSummary>>> replyTo,
      EffectBuilder<Event, TenantState> effect) {
    return replyTo.isEmpty()
        ? effect.thenNoReply()
        : effect.thenReply(replyTo.get(), st -> StatusReply.success(summary((Registered) st)));
  }

  private ReplyEffect<Event, TenantState> onRequestL1Link(Registered s, RequestL1Link c) {
    L1Reference ref;
    try {
      ref = L1Reference.parse(c.l1Reference());
    } catch (IllegalArgumentException e) {
      return Effect().reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, e.getMessage()));
    }
    String cid = correlation(c.correlationId());
    Optional<OpenKcmException> refused = linkRefusal(s, ref);
    if (c.requestedBy().isBlank()) {
      refused =
          Optional.of(
              new OpenKcmException(
                  ErrorReason.PERMISSION_DENIED,
                  "a re-link request needs the " + "identity that asks for it"));
    }
    if (refused.isPresent()) {
      audit.record(
          "tenant.link-l1.request",
          "l1",
          ref,
          "by",
          c.requestedBy(),
          "cid",
          cid,
          "outcome",
          refused.get().reason());
      return Effect().reply(c.replyTo(), reject(refused.get()));
    }
    L1LinkRequested event =
        new L1LinkRequested(
            "rl-" + UUID.randomUUID(),
            ref.asString(),
            c.requestedBy(),
            deps.clock().instant(),
            cid);
    return Effect()
        .persist(event)
        .thenRun(
            st -> {
              audit.record(
                  "tenant.link-l1.request",
                  "l1",
                  ref,
                  "previous",
                  s.l1Reference(),
                  "by",
                  c.requestedBy(),
                  "request",
                  event.requestId(),
                  "cid",
                  cid,
                  "outcome",
                  "pending");
              publish(
                  TenantEventKind.L1_LINK_REQUESTED,
                  "re-link to "
                      + ref
                      + " requested by "
                      + c.requestedBy()
                      + " ("
                      + event.requestId()
                      + ")");
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(summary((Registered) st)));
  }

  /** Why {@code ref} may not become this tenant's L1, if it may not. */
  private Optional<OpenKcmException> linkRefusal(Registered s, L1Reference ref) {
    if (s.revocation().isPresent()) {
      return Optional.of(
          new OpenKcmException(
              ErrorReason.L1_REVOKED,
              "tenant "
                  + tenantId
                  + ": its L1 "
                  + s.l1Reference()
                  + " is revoked by the customer; a re-link would take the tenant from the customer's key"));
    }
    if (!ref.keyDomain().equals(s.keyDomain())) {
      return Optional.of(
          new OpenKcmException(
              ErrorReason.L1_REJECTED,
              "tenant "
                  + tenantId
                  + ": L1 "
                  + ref
                  + " is outside the key domain "
                  + s.keyDomain()
                  + " pinned at onboarding (the customer's own keys only)"));
    }
    if (ref.asString().equals(s.l1Reference())) {
      return Optional.of(
          new OpenKcmException(
              ErrorReason.INVALID_ARGUMENT,
              "tenant " + tenantId + " is already linked " + "to " + ref));
    }
    return Optional.empty();
  }

  private ReplyEffect<Event, TenantState> onApproveL1Link(Registered s, ApproveL1Link c) {
    String cid = correlation(c.correlationId());
    Optional<PendingL1Link> pending =
        s.pendingLink().filter(p -> p.requestId().equals(c.requestId()));
    if (pending.isEmpty()) {
      return Effect()
          .reply(
              c.replyTo(),
              reject(
                  ErrorReason.INVALID_ARGUMENT,
                  "tenant "
                      + tenantId
                      + " has no pending "
                      + "re-link request "
                      + Fields.safe(c.requestId())
                      + s.pendingLink().map(p -> " (pending: " + p.requestId() + ")").orElse("")));
    }
    PendingL1Link link = pending.get();
    if (c.approvedBy().isBlank() || c.approvedBy().equals(link.requestedBy())) {
      audit.record(
          "tenant.link-l1.approve",
          "request",
          link.requestId(),
          "by",
          c.approvedBy(),
          "cid",
          cid,
          "outcome",
          "PERMISSION_DENIED",
          "why",
          "four-eyes");
      return Effect()
          .reply(
              c.replyTo(),
              reject(
                  ErrorReason.PERMISSION_DENIED,
                  "re-link "
                      + link.requestId()
                      + " was requested by "
                      + link.requestedBy()
                      + "; another identity must approve it"));
    }
    L1Reference next = L1Reference.parse(link.l1Reference());
    Optional<OpenKcmException> refused = linkRefusal(s, next);
    if (refused.isPresent()) {
      return closeLink(s, link, refused.get(), c.approvedBy(), cid, c.replyTo());
    }
    byte[] l1Blob;
    try {
      l1Blob = chain.openL2(s.wrappedL2());
    } catch (OpenKcmException e) {
      return Effect().reply(c.replyTo(), reject(e));
    }
    Map<String, String> l1Context = chain.l1Context(s.l2Version(), cid);
    l1CallInFlight = true;
    log.info(
        "tenant {}: re-link {} approved by {}: asking the current L1 {} first, then {} (cid={})",
        tenantId,
        link.requestId(),
        c.approvedBy(),
        s.l1Reference(),
        next,
        cid);
    // the current L1 must give L2 back now: proof that the customer's key still answers for this
    // tenant
    java.util.concurrent.CompletionStage<byte[]> linked =
        l1Call(
                deps.keystore()
                    .unwrap(L1Reference.parse(s.l1Reference()), l1Blob, s.l1Context(), cid))
            .exceptionallyCompose(
                e -> java.util.concurrent.CompletableFuture.failedFuture(new CurrentL1Failed(e)))
            .thenCompose(
                l2 -> {
                  boolean consistent = unsealed.map(k -> k.l2().sameKeyAs(l2)).orElse(true);
                  if (!consistent) {
                    l2.wipe();
                    throw new IllegalStateException(
                        "the current L1 returned another L2 than the one in memory");
                  }
                  return wrapVerified(next, l2, l1Context, cid)
                      .whenComplete((blob, failure) -> l2.wipe());
                });
    context.pipeToSelf(
        linked,
        (blob, failure) ->
            new L1LinkDone(
                c, link, l1Context, Optional.ofNullable(blob), Optional.ofNullable(failure)));
    return Effect().noReply();
  }

  /** The current L1 did not give L2 back during a re-link. */
  private static final class CurrentL1Failed extends RuntimeException {
    CurrentL1Failed(Throwable cause) {
      super(cause);
    }
  }

  private ReplyEffect<Event, TenantState> onL1LinkDone(Registered s, L1LinkDone done) {
    l1CallEnded();
    ApproveL1Link c = done.request();
    PendingL1Link link = done.link();
    String cid = done.l1Context().get("openkcm:correlation-id");
    if (done.failure().isPresent()) {
      Throwable f = done.failure().get();
      Throwable cause =
          f instanceof java.util.concurrent.CompletionException && f.getCause() != null
              ? f.getCause()
              : f;
      OpenKcmException e;
      if (cause instanceof CurrentL1Failed current) {
        OpenKcmException why =
            TenantRejections.fromKeystore(current.getCause(), tenantId, s.l1Reference(), false);
        e =
            new OpenKcmException(
                why.reason(), "the current L1 must answer before a re-link: " + why.getMessage());
      } else if (cause instanceof IllegalStateException) {
        e =
            new OpenKcmException(
                ErrorReason.INTERNAL, "tenant " + tenantId + ": " + cause.getMessage());
      } else {
        e = TenantRejections.fromKeystore(f, tenantId, link.l1Reference(), true);
      }
      return closeLink(s, link, e, c.approvedBy(), cid, c.replyTo()).thenUnstashAll();
    }
    byte[] sealedL2;
    try {
      sealedL2 = chain.sealL2(done.wrappedL2().orElseThrow());
    } catch (OpenKcmException e) {
      return Effect()
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    L1Linked event =
        new L1Linked(
            link.l1Reference(),
            sealedL2,
            done.l1Context(),
            deps.clock().instant(),
            cid,
            link.requestedBy(),
            c.approvedBy());
    return Effect()
        .persist(event)
        .thenRun(
            st -> {
              lastL1Confirmed = deps.clock().instant();
              audit.record(
                  "tenant.link-l1.approve",
                  "l1",
                  event.l1Reference(),
                  "previous",
                  s.l1Reference(),
                  "request",
                  link.requestId(),
                  "requested-by",
                  link.requestedBy(),
                  "approved-by",
                  c.approvedBy(),
                  "cid",
                  cid,
                  "outcome",
                  "ok");
              publish(
                  TenantEventKind.L1_LINKED,
                  "L1 is now "
                      + event.l1Reference()
                      + " (requested by "
                      + link.requestedBy()
                      + ", approved by "
                      + c.approvedBy()
                      + ")");
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(summary((Registered) st)))
        .thenUnstashAll();
  }

  /** Ends a re-link request with {@code e}: recorded, audited, published and answered. */
  private ReplyEffect<Event, TenantState> closeLink(
      Registered s,
      PendingL1Link link,
      OpenKcmException e,
      String by,
      String cid,
      ActorRef<StatusReply<TenantSummary>> replyTo) {
    audit.record(
        "tenant.link-l1.approve",
        "l1",
        link.l1Reference(),
        "request",
        link.requestId(),
        "by",
        by,
        "cid",
        cid,
        "outcome",
        e.reason());
    return Effect()
        .persist(
            new L1LinkClosed(
                link.requestId(),
                e.reason().name(),
                e.getMessage(),
                by,
                deps.clock().instant(),
                cid))
        .thenRun(
            st ->
                publish(
                    TenantEventKind.L1_LINK_FAILED,
                    "re-link " + link.requestId() + " failed: " + e.reason()))
        .thenReply(replyTo, st -> TenantRejections.<TenantSummary>reject(e));
  }

  /**
   * Validates {@code ref}, wraps {@code l2} with it and unwraps the result again: a key is linked
   * only when the customer's keystore has shown it can give L2 back.
   */
  private java.util.concurrent.CompletionStage<byte[]> wrapVerified(
      L1Reference ref, KeyMaterial l2, Map<String, String> l1Context, String cid) {
    return l1Call(deps.keystore().validate(ref, cid))
        .thenCompose(v -> l1Call(deps.keystore().wrap(ref, l2, l1Context, cid)))
        .thenCompose(
            blob ->
                l1Call(deps.keystore().unwrap(ref, blob, l1Context, cid))
                    .thenApply(
                        back -> {
                          boolean same = back.sameKeyAs(l2);
                          back.wipe();
                          if (!same) {
                            throw new org.openkcm.core.keystore.L1KeystoreException(
                                org.openkcm.core.keystore.L1KeystoreException.Kind
                                    .INVALID_CIPHERTEXT,
                                "the keystore's round trip returned another key");
                          }
                          return blob;
                        }));
  }

  /**
   * {@code call} to the customer's keystore, failing with L1 unavailable when it has not answered
   * within {@code l1-call-timeout}: a hung KMS or HSM never holds the tenant's commands longer.
   */
  private <T> java.util.concurrent.CompletableFuture<T> l1Call(
      java.util.concurrent.CompletionStage<T> call) {
    java.time.Duration timeout = deps.settings().l1CallTimeout();
    return call.toCompletableFuture()
        .copy()
        .orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
        .exceptionallyCompose(
            e ->
                java.util.concurrent.CompletableFuture.failedFuture(
                    e instanceof java.util.concurrent.TimeoutException
                        ? new org.openkcm.core.keystore.L1KeystoreException(
                            org.openkcm.core.keystore.L1KeystoreException.Kind.UNAVAILABLE,
                            "no answer within "
                                + timeout
                                + " (openkcm.core.tenant.l1-call-timeout)")
                        : e));
  }

  /** An L1 call that commands waited for has ended: they are about to be unstashed. */
  private void l1CallEnded() {
    l1CallInFlight = false;
    waiting = 0;
  }

  /**
   * Stashes {@code c} until the L1 call in flight ends, or refuses it when too many already wait.
   */
  private ReplyEffect<Event, TenantState> waitForL1(Command c) {
    if (waiting >= deps.settings().maxWaitingCommands()) {
      log.warn(
          "tenant {}: {} commands already wait for an L1 call; refusing more", tenantId, waiting);
      return refuse(
          c,
          new OpenKcmException(
              ErrorReason.CORE_UNAVAILABLE,
              "tenant "
                  + tenantId
                  + ": "
                  + waiting
                  + " requests already wait for its L1 keystore (openkcm.core.tenant.max-waiting-commands); retry"));
    }
    waiting++;
    return Effect().stash();
  }

  /** Answers {@code c} with {@code e}, whatever its reply type. */
  private ReplyEffect<Event, TenantState> refuse(Command c, OpenKcmException e) {
    if (c instanceof WrapKeys w) {
      return Effect().reply(w.replyTo(), reject(e));
    } else if (c instanceof UnwrapKeys u) {
      return Effect().reply(u.replyTo(), reject(e));
    } else if (c instanceof SummaryCommand sc) {
      return Effect().reply(sc.replyTo(), reject(e));
    }
    return Effect().noReply();
  }

  private void publish(TenantEventKind kind, String reason) {
    deps.events()
        .publish(
            new TenantEvents.StatusChanged(
                tenantId, kind, reason, deps.clock().instant(), lastSequenceNumber(context)));
  }

  private L1Revoked revoked(OpenKcmException e, String cid) {
    return new L1Revoked(e.reason().name(), e.getMessage(), deps.clock().instant(), cid);
  }

  private void installKeys(UnsealedKeys keys) {
    unsealed = Optional.of(keys);
    lastL1Confirmed = deps.clock().instant();
    timers.startTimerWithFixedDelay(
        "l1-check", new L1CheckTick(), deps.settings().l1CheckInterval());
  }

  // ---------------------------------------------------------------- events

  @Override
  public EventHandler<TenantState, Event> eventHandler() {
    var b = newEventHandlerBuilder();
    b.forStateType(Unregistered.class)
        .onEvent(
            TenantOnboarded.class,
            (s, e) ->
                new Registered(
                    e.tenantId(),
                    e.l1Reference(),
                    e.l2Version(),
                    e.wrappedL2(),
                    Map.copyOf(e.l1Context()),
                    e.at(),
                    Map.of(),
                    Optional.empty(),
                    Optional.empty(),
                    L1Reference.parse(e.l1Reference()).keyDomain(),
                    Optional.empty()));
    b.forStateType(Registered.class)
        .onEvent(
            ServiceCreated.class,
            (s, e) ->
                s.withService(
                    new ServiceKeys(
                        e.serviceId(),
                        e.l3Version(),
                        List.of(new WrappedL3(e.l3Version(), e.l2Version(), e.wrappedL3())))))
        .onEvent(
            L1Revoked.class,
            (s, e) ->
                s.withRevocation(Optional.of(new L1Revocation(e.reason(), e.message(), e.at()))))
        .onEvent(L1Restored.class, (s, e) -> s.withRevocation(Optional.empty()))
        .onEvent(
            L1Linked.class,
            (s, e) -> s.withL1(e.l1Reference(), e.wrappedL2(), Map.copyOf(e.l1Context())))
        .onEvent(BlobsResealed.class, (s, e) -> s.withBlobs(e.wrappedL2(), e.l3Versions()))
        .onEvent(
            L1LinkRequested.class,
            (s, e) ->
                s.withPendingLink(
                    Optional.of(
                        new PendingL1Link(
                            e.requestId(), e.l1Reference(), e.requestedBy(), e.at()))))
        .onEvent(
            L1LinkClosed.class,
            (s, e) ->
                s.withPendingLink(
                    s.pendingLink().filter(p -> !p.requestId().equals(e.requestId()))))
        .onEvent(
            TenantKilled.class,
            (s, e) ->
                s.withKilled(Optional.of(new KillRecord("tenant", e.reason(), e.by(), e.at()))))
        .onEvent(TenantRevived.class, (s, e) -> s.withKilled(Optional.empty()));
    return b.build();
  }

  @Override
  public SignalHandler<TenantState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            PostStop.instance(),
            s -> {
              wipeKeys("stopped");
              answerUnpersistedKill();
            })
        .onSignal(
            org.apache.pekko.persistence.typed.RecoveryCompleted.instance(),
            s -> {
              if (s instanceof Registered r
                  && r.killed().isEmpty()
                  && deps.pendingKills().get(tenantId).isPresent()) {
                context.getSelf().tell(new PersistPendingKill());
              }
            })
        .build();
  }

  /**
   * Stopping with a kill the journal did not take (a persist failure stops the entity): whoever
   * asked for it gets a definite answer; the tenant stays blocked on this node and the kill is
   * written again on restart.
   */
  private void answerUnpersistedKill() {
    deps.pendingKills()
        .get(tenantId)
        .flatMap(PendingKills.Pending::replyTo)
        .ifPresent(
            replyTo -> {
              log.error(
                  "tenant {}: the journal did not take its kill; it stays killed on this node and the kill is "
                      + "written again when the tenant restarts",
                  tenantId);
              replyTo.tell(
                  TenantRejections.reject(
                      ErrorReason.CORE_UNAVAILABLE,
                      "tenant "
                          + tenantId
                          + " is blocked on "
                          + "this Core node, but its kill could not be persisted (journal failure); it is retried on restart; "
                          + "repeat the kill to confirm"));
              deps.pendingKills().answered(tenantId);
            });
  }

  private void wipeKeys(String why) {
    wipeEpoch++;
    timers.cancel("l1-check");
    unsealed.ifPresent(
        k -> {
          k.wipe();
          log.debug("tenant {}: keys wiped ({})", tenantId, why);
        });
    unsealed = Optional.empty();
  }

  // ---------------------------------------------------------------- helpers

  private TenantSummary summary(Registered s) {
    List<ServiceSummary> services = new ArrayList<>();
    s.services()
        .values()
        .forEach(v -> services.add(new ServiceSummary(v.serviceId(), v.currentVersion())));
    Optional<KillRecord> kill = killRecord(s);
    TenantStatus status =
        kill.isPresent()
            ? TenantStatus.KILLED
            : s.revocation().isPresent() ? TenantStatus.L1_REVOKED : TenantStatus.ACTIVE;
    return new TenantSummary(
        tenantId,
        s.l1Reference(),
        s.l2Version(),
        status,
        services,
        unsealed.isPresent(),
        s.revocation(),
        kill,
        context.getSystem().address().toString(),
        s.pendingLink());
  }

  private static OpenKcmException sealedError() {
    return new OpenKcmException(
        ErrorReason.CORE_SEALED,
        "this Core node is sealed: unseal it (admin unseal --share ..., or auto-unseal) before it serves keys");
  }

  private Optional<String> batchProblem(int size) {
    if (size == 0) {
      return Optional.of("the batch is empty");
    }
    if (size > deps.settings().maxBatchSize()) {
      return Optional.of(
          "the batch has "
              + size
              + " items; at most "
              + deps.settings().maxBatchSize()
              + " (openkcm.core.tenant.max-batch-size)");
    }
    return Optional.empty();
  }

  private <T> StatusReply<T> notFound() {
    return reject(
        ErrorReason.TENANT_NOT_FOUND, "tenant " + tenantId + " does not exist; onboard it first");
  }

  private <T> StatusReply<T> serviceNotFound(String serviceId) {
    return reject(
        ErrorReason.SERVICE_NOT_FOUND, "tenant " + tenantId + " has no service " + serviceId);
  }

  private static String correlation(String cid) {
    return cid == null || cid.isBlank() ? UUID.randomUUID().toString() : cid;
  }
}
