package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EffectFactories;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.keystore.L1KeystoreException;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.killswitch.KillRecord;
import org.openkcm.core.tenant.L1Session.Calling;
import org.openkcm.core.tenant.TenantEntity.ApproveL1Link;
import org.openkcm.core.tenant.TenantEntity.CheckL1;
import org.openkcm.core.tenant.TenantEntity.Command;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.Internal;
import org.openkcm.core.tenant.TenantEntity.L1Answered;
import org.openkcm.core.tenant.TenantEntity.L1CheckTick;
import org.openkcm.core.tenant.TenantEntity.Revive;
import org.openkcm.core.tenant.TenantEntity.SummaryCommand;
import org.openkcm.core.tenant.TenantEntity.UnwrapKeys;
import org.openkcm.core.tenant.TenantEntity.WrapKeys;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.event.TenantEventKind;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One tenant's incarnation on this node, shared by its command handlers ({@link ChainCommands},
 * {@link Unsealing}, {@link KillCommands}, {@link L1Relink}): who it is and what it uses, its
 * {@link L1Session} (the keys in memory), the one path to the customer's keystore, and the answers
 * every handler gives. Owned by the entity's actor; never shared with another thread.
 */
final class TenantRuntime {

  private static final Logger log = LoggerFactory.getLogger(TenantRuntime.class);

  final String tenantId;
  final TenantDependencies deps;
  final KeyChain chain;
  final TenantAudit audit;
  final EffectFactories<Event, TenantState> effect;
  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final LongSupplier sequence;
  private L1Session session = L1Session.SEALED;
  private boolean purgeDue;
  private boolean purgeWaits;

  /** Orbital has peers: a destroying event written here is purged behind once they all have it. */
  private final boolean purgeWaitsForPeers;

  private final TenantResidency residency;

  /**
   * The tenant's event sequence as gateways see it: one more for every event published to them
   * (those persisted without an announcement, like nonce-budget reservations, do not count, so they
   * never look like a lost event). Starts at the journal's sequence number after recovery.
   */
  private long watchSequence = -1;

  TenantRuntime(
      String tenantId,
      TenantDependencies deps,
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      EffectFactories<Event, TenantState> effect,
      LongSupplier sequence) {
    this.tenantId = tenantId;
    this.deps = deps;
    this.chain = new KeyChain(tenantId, deps.masterKey(), deps.random());
    this.audit = new TenantAudit(tenantId);
    this.purgeWaitsForPeers = TenantSettings.regions(context.getSystem().settings().config()) > 1;
    this.context = context;
    this.timers = timers;
    this.effect = effect;
    this.sequence = sequence;
    this.residency = new TenantResidency(tenantId, deps, context.getSystem());
  }

  // ---------------------------------------------------------------- the session

  L1Session session() {
    return session;
  }

  void session(L1Session next) {
    this.session = next;
  }

  Optional<UnsealedKeys> keys() {
    return session.heldKeys();
  }

  ActorContext<Command> context() {
    return context;
  }

  long sequence() {
    return watchSequence < 0 ? sequence.getAsLong() : watchSequence;
  }

  /**
   * Publishes the tenant as {@code s} and its keys stand now for the key listener to unwrap with
   * ({@link TenantResidency}); call only after answering an unwrap or a wrap in a serving state.
   */
  void resident(Registered s) {
    session.heldKeys().ifPresent(k -> residency.publish(s, k, sequence()));
  }

  /**
   * Withdraws the published view, waiting for its unwraps and wraps in progress, and counts the
   * wraps it made: before any command other than an unwrap, any signal, and any wipe.
   */
  void notResident() {
    residency.withdraw(session.heldKeys());
  }

  /** Strict mode: why a replica of {@code s} must not be served now, if it must not. */
  Optional<String> homeSilent(Registered s) {
    return HomeRegionHeartbeats.get(context.getSystem()).silent(s.homeRegion());
  }

  /** Recovery is complete at journal sequence {@code lastSequenceNr}. */
  void recovered(long lastSequenceNr) {
    watchSequence = lastSequenceNr;
  }

  /** Installs freshly unsealed keys (L1 confirmed now) and schedules their re-verification. */
  void installKeys(UnsealedKeys keys) {
    session = new L1Session.Unsealed(keys, deps.clock().instant());
    timers.startTimerWithFixedDelay(
        "l1-check", new L1CheckTick(), deps.settings().l1CheckInterval());
  }

  /** Wipes the keys in memory; an L1 call in flight brings nothing back that is kept. */
  void wipeKeys(String why) {
    notResident();
    timers.cancel("l1-check");
    session
        .heldKeys()
        .ifPresent(
            k -> {
              k.wipe();
              log.debug("tenant {}: keys wiped ({})", tenantId, why);
            });
    session = session.afterWipe();
    NonceBudgetGauge.get(context.getSystem()).forget(tenantId);
  }

  // ---------------------------------------------------------------- destroying for good

  /**
   * The snapshot that follows the destroying event just persisted (written here, or another
   * region's) is the point before which all goes — at once in one region; with Orbital peers, once
   * every peer has every event of this region up to it (Orbital purges then: a deleted event is
   * never shipped).
   */
  void purgeAfterSnapshot() {
    purgeDue = true;
    purgeWaits = purgeWaitsForPeers;
  }

  /** A snapshot at {@code sequenceNr} was saved: if a destroying event asked, purge before it. */
  void onSnapshot(long sequenceNr) {
    if (!purgeDue) {
      return;
    }
    purgeDue = false;
    if (purgeWaits) {
      log.info(
          "tenant {}: the events before {} are deleted once every peer region has it (Orbital)",
          tenantId,
          sequenceNr);
      return;
    }
    context.pipeToSelf(
        org.openkcm.core.persistence.JournalPurge.purge(
            context, TenantEntity.ENTITY_KEY.name() + "|" + tenantId, sequenceNr),
        (done, failure) -> new TenantEntity.PurgeDone(sequenceNr, Optional.ofNullable(failure)));
  }

  ReplyEffect<Event, TenantState> onPurged(TenantEntity.PurgeDone done) {
    if (done.failure().isPresent()) {
      log.error(
          "tenant {}: deleting the events before {} failed ({}); destroyed blobs may remain in"
              + " older events until the next retirement or rotation",
          tenantId,
          done.upTo(),
          done.failure().get().toString());
      audit.record("tenant.purge", "upTo", done.upTo(), "outcome", "failed");
    } else {
      log.info("tenant {}: events before {} and older snapshots deleted", tenantId, done.upTo());
      audit.record("tenant.purge", "upTo", done.upTo(), "outcome", "ok");
    }
    return effect.noReply();
  }

  // ---------------------------------------------------------------- the one L1 call path

  /**
   * Starts {@code call}, whose answer is L2 (or another key the keystore unwrapped); {@code
   * waiting} commands are stashed for it already. Every keystore call in {@code stage} is bounded
   * by {@link #withTimeout}.
   */
  void callForKey(L1Call call, int waiting, CompletionStage<KeyMaterial> stage) {
    start(call, waiting);
    context.pipeToSelf(
        stage,
        (key, failure) ->
            new L1Answered(
                call, Optional.ofNullable(key), Optional.empty(), Optional.ofNullable(failure)));
  }

  /** Starts {@code call}, whose answer is a blob the keystore wrapped. */
  void callForBlob(L1Call call, CompletionStage<byte[]> stage) {
    start(call, 0);
    context.pipeToSelf(
        stage,
        (blob, failure) ->
            new L1Answered(
                call, Optional.empty(), Optional.ofNullable(blob), Optional.ofNullable(failure)));
  }

  private void start(L1Call call, int waiting) {
    L1Session from = session.calling().map(Calling::before).orElse(session);
    session = new Calling(call, from, waiting, false);
  }

  /**
   * Ends {@code call} when it is the one in flight, and gives what it was; empty when the call was
   * abandoned meanwhile (a kill).
   */
  Optional<Calling> endCall(L1Call call) {
    if (session instanceof Calling c && c.call() == call) {
      session = c.before();
      return Optional.of(c);
    }
    return Optional.empty();
  }

  /** Abandons the call in flight (a kill): its answer, when it comes, is discarded. */
  void abandonCall() {
    session.calling().ifPresent(c -> session = c.before());
  }

  /**
   * Whether {@code c} must wait for the L1 call in flight: every user command while a call holds
   * them, and while a background check runs, those that would call L1 themselves.
   */
  boolean mustWait(Command c) {
    if (c instanceof Internal || !(session instanceof Calling calling)) {
      return false;
    }
    return calling.call().holdsCommands()
        || c instanceof CheckL1
        || c instanceof ApproveL1Link
        || c instanceof Revive
        || c instanceof LifecycleProtocol.RotateL2
        || c instanceof LifecycleProtocol.RewrapL2;
  }

  /** Stashes {@code c} until the L1 call in flight ends, or refuses it when too many wait. */
  ReplyEffect<Event, TenantState> waitForL1(Command c) {
    Calling calling = session.calling().orElseThrow();
    if (calling.waiting() >= deps.settings().maxWaitingCommands()) {
      log.warn(
          "tenant {}: {} commands already wait for an L1 call; refusing more",
          tenantId,
          calling.waiting());
      return refuse(
          c,
          new OpenKcmException(
              ErrorReason.CORE_UNAVAILABLE,
              "tenant "
                  + tenantId
                  + ": "
                  + calling.waiting()
                  + " requests already wait for its L1 keystore"
                  + " (openkcm.core.tenant.max-waiting-commands); retry"));
    }
    session = calling.withOneMoreWaiting();
    return effect.stash();
  }

  /** Answers {@code c} with {@code e}, whatever its reply type. */
  ReplyEffect<Event, TenantState> refuse(Command c, OpenKcmException e) {
    if (c instanceof WrapKeys w) {
      return effect.reply(w.replyTo(), reject(e));
    } else if (c instanceof UnwrapKeys u) {
      return effect.reply(u.replyTo(), reject(e));
    } else if (c instanceof TenantEntity.RewrapKeys r) {
      return effect.reply(r.replyTo(), reject(e));
    } else if (c instanceof LifecycleProtocol.Offboard o) {
      return effect.reply(o.replyTo(), reject(e));
    } else if (c instanceof TenantEntity.MigrateSeal m) {
      return effect.reply(m.replyTo(), reject(e));
    } else if (c instanceof SummaryCommand sc) {
      return effect.reply(sc.replyTo(), reject(e));
    }
    return effect.noReply();
  }

  /**
   * {@code call} to the customer's keystore, failing with L1 unavailable when it has not answered
   * within {@code l1-call-timeout}: a hung KMS or HSM never holds the tenant's commands longer.
   */
  <T> CompletableFuture<T> withTimeout(CompletionStage<T> call) {
    Duration timeout = deps.settings().l1CallTimeout();
    return call.toCompletableFuture()
        .copy()
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionallyCompose(
            e ->
                CompletableFuture.failedFuture(
                    e instanceof TimeoutException
                        ? new L1KeystoreException(
                            L1KeystoreException.Kind.UNAVAILABLE,
                            "no answer within "
                                + timeout
                                + " (openkcm.core.tenant.l1-call-timeout)")
                        : e));
  }

  /**
   * Validates {@code ref}, wraps {@code l2} with it and unwraps the result again: a key is linked
   * only when the customer's keystore has shown it can give L2 back.
   */
  CompletionStage<byte[]> wrapVerified(
      L1Reference ref, KeyMaterial l2, Map<String, String> l1Context, String cid) {
    return withTimeout(deps.keystore().validate(ref, cid))
        .thenCompose(v -> withTimeout(deps.keystore().wrap(ref, l2, l1Context, cid)))
        .thenCompose(
            blob ->
                withTimeout(deps.keystore().unwrap(ref, blob, l1Context, cid))
                    .thenApply(
                        back -> {
                          boolean same = back.sameKeyAs(l2);
                          back.wipe();
                          if (!same) {
                            throw new L1KeystoreException(
                                L1KeystoreException.Kind.INVALID_CIPHERTEXT,
                                "the keystore's round trip returned another key");
                          }
                          return blob;
                        }));
  }

  /**
   * Unwraps the tenant's L2 with its current L1 (the sealed blob opened first; that fails at once
   * with an {@link OpenKcmException}).
   */
  CompletionStage<KeyMaterial> unwrapL2(Registered s, String cid) {
    byte[] l1Blob = chain.openL2(s.wrappedL2());
    return withTimeout(
        deps.keystore().unwrap(L1Reference.parse(s.l1Reference()), l1Blob, s.l1Context(), cid));
  }

  OpenKcmException keystoreError(Throwable failure, String l1Reference, boolean linking) {
    return TenantRejections.fromKeystore(failure, tenantId, l1Reference, linking);
  }

  // ---------------------------------------------------------------- answers

  /**
   * Announces {@code kind} to the gateways; an announcement of a persisted change advances the
   * sequence they follow (a wipe, which persists nothing, does not).
   */
  void publish(TenantEventKind kind, String reason) {
    if (kind != TenantEventKind.KEYS_WIPED) {
      watchSequence = sequence() + 1;
    }
    deps.events()
        .publish(
            new TenantEvents.StatusChanged(
                tenantId, kind, reason, deps.clock().instant(), sequence()));
  }

  /** Replies the resulting summary after {@code then} when someone asked. */
  ReplyEffect<Event, TenantState> answer(
      Optional<ActorRef<StatusReply<TenantSummary>>> replyTo,
      EffectBuilder<Event, TenantState> then) {
    return replyTo.isEmpty()
        ? then.thenNoReply()
        : then.thenReply(replyTo.get(), st -> StatusReply.success(summary((Registered) st)));
  }

  TenantSummary summary(Registered s) {
    return TenantSummary.of(
        s,
        keys(),
        killRecord(s),
        context.getSystem().address().toString(),
        deps.settings().lifecycle());
  }

  /**
   * The tenant's own kill (persisted, or accepted and not yet persisted), else a region/global
   * kill-switch.
   */
  Optional<KillRecord> killRecord(Registered s) {
    return s.killed()
        .or(() -> deps.pendingKills().get(tenantId).map(PendingKills.Pending::kill))
        .or(() -> deps.killSwitch().engaged());
  }

  /** The answer of a killed tenant (its keys wiped again, to be sure). */
  <T> StatusReply<T> killed(TenantState st) {
    Registered s = (Registered) st;
    wipeKeys("kill-switch");
    Optional<KillRecord> kill = killRecord(s);
    if (kill.isPresent() && !kill.get().confirmed()) {
      // this node has not loaded the kill-switch state yet: fail closed, but say so (retryable)
      return reject(ErrorReason.CORE_UNAVAILABLE, kill.get().reason());
    }
    return reject(
        ErrorReason.TENANT_KILLED, kill.map(k -> k.describe(tenantId)).orElse("tenant killed"));
  }

  <T> StatusReply<T> notFound() {
    return reject(
        ErrorReason.TENANT_NOT_FOUND, "tenant " + tenantId + " does not exist; onboard it first");
  }

  <T> StatusReply<T> serviceNotFound(String serviceId) {
    return reject(
        ErrorReason.SERVICE_NOT_FOUND, "tenant " + tenantId + " has no service " + serviceId);
  }

  static OpenKcmException sealedError() {
    return new OpenKcmException(
        ErrorReason.CORE_SEALED,
        "this Core node is sealed: unseal it (admin unseal --share ..., or auto-unseal) before it"
            + " serves keys");
  }

  Optional<String> batchProblem(int size) {
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

  static String correlation(String cid) {
    return cid == null || cid.isBlank() ? Fields.newCorrelationId() : cid;
  }
}
