package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.time.Instant;
import java.util.Optional;
import java.util.UUID;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.tenant.L1Call.Checking;
import org.openkcm.core.tenant.L1Call.Unsealing;
import org.openkcm.core.tenant.L1Session.Calling;
import org.openkcm.core.tenant.L1Session.Failed;
import org.openkcm.core.tenant.L1Session.Unsealed;
import org.openkcm.core.tenant.TenantEntity.CheckL1;
import org.openkcm.core.tenant.TenantEntity.Command;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.L1Answered;
import org.openkcm.core.tenant.TenantEntity.L1Restored;
import org.openkcm.core.tenant.TenantEntity.L1Revoked;
import org.openkcm.core.tenant.TenantEntity.StashedCommandsAnswered;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.event.TenantEventKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bringing a tenant's chain into memory and keeping it honest: the unseal the first command after a
 * start needs (L1 unwraps L2, L2 unwraps every L3), and the periodic or operator-asked
 * re-verification that L1 still answers — a confirmed revocation wipes the keys at once, an
 * unreachable keystore after the grace period too.
 */
final class Unsealer {

  private static final Logger log = LoggerFactory.getLogger(Unsealer.class);

  private final TenantRuntime rt;

  Unsealer(TenantRuntime rt) {
    this.rt = rt;
  }

  /**
   * No keys in memory: answers {@code c} with the last unseal's error within its backoff, else
   * unseals and stashes {@code c} until the answer.
   */
  <T> ReplyEffect<Event, TenantState> unsealFirst(
      Registered s, Command c, String correlationId, ActorRef<StatusReply<T>> replyTo) {
    if (rt.session() instanceof Calling) {
      return rt.waitForL1(c); // a background check is in flight: one L1 call at a time
    }
    if (rt.session() instanceof Failed f) {
      boolean backingOff =
          rt.deps.clock().instant().isBefore(f.at().plus(rt.deps.settings().unsealRetryBackoff()));
      if (!f.stashedAnswered() || backingOff) {
        return rt.effect.reply(replyTo, reject(f.error()));
      }
    }
    rt.session(L1Session.SEALED);
    String cid = TenantRuntime.correlation(correlationId);
    try {
      log.info(
          "tenant {}: unsealing L2 v{} with L1 {} (cid={})",
          rt.tenantId,
          s.l2Version(),
          s.l1Reference(),
          cid);
      rt.callForKey(new Unsealing(cid, System.nanoTime()), 1, rt.unwrapL2(s, cid));
    } catch (OpenKcmException e) {
      return rt.effect.reply(replyTo, reject(e));
    }
    return rt.effect.stash();
  }

  ReplyEffect<Event, TenantState> onUnsealed(Registered s, Unsealing call, L1Answered answer) {
    Optional<Calling> ended = rt.endCall(call);
    if (ended.isEmpty() || ended.get().wiped()) {
      // wiped meanwhile (kill, seal, revocation): these keys are not to be kept
      answer.wipeKey();
      return rt.effect.noReply().thenUnstashAll();
    }
    if (answer.failure().isPresent()) {
      return failed(s, rt.keystoreError(answer.failure().get(), s.l1Reference(), false), call);
    }
    UnsealedKeys keys;
    try {
      keys = rt.chain.open(answer.key().orElseThrow(), s.l2Version(), s.services());
    } catch (OpenKcmException e) {
      return failed(s, e, call);
    }
    rt.installKeys(keys);
    rt.context().getSelf().tell(new TenantEntity.LifecycleTick());
    rt.audit.record(
        "tenant.unseal",
        "l1",
        s.l1Reference(),
        "l2v",
        s.l2Version(),
        "services",
        s.services().size(),
        "cid",
        call.correlationId(),
        "outcome",
        "ok",
        "ms",
        (System.nanoTime() - call.startedNanos()) / 1_000_000);
    if (s.revocation().isPresent()) {
      rt.audit.record("tenant.l1-restored", "l1", s.l1Reference(), "cid", call.correlationId());
      return rt.effect
          .persist(new L1Restored(rt.deps.clock().instant(), call.correlationId()))
          .thenRun(st -> rt.publish(TenantEventKind.L1_RESTORED, "L1 works again"))
          .thenNoReply()
          .thenUnstashAll();
    }
    return rt.effect.noReply().thenUnstashAll();
  }

  /**
   * The commands waiting for this unseal get its error, and so does every command for the retry
   * backoff.
   */
  private ReplyEffect<Event, TenantState> failed(Registered s, OpenKcmException e, Unsealing call) {
    String cid = call.correlationId();
    log.warn("tenant {}: unseal failed: {}", rt.tenantId, e.oneLine());
    rt.audit.record("tenant.unseal", "l1", s.l1Reference(), "cid", cid, "outcome", e.reason());
    rt.session(new Failed(e, rt.deps.clock().instant(), false));
    rt.context().getSelf().tell(new StashedCommandsAnswered());
    if (e.reason() == ErrorReason.L1_REVOKED && s.revocation().isEmpty()) {
      return rt.effect
          .persist(revoked(e, cid))
          .thenRun(st -> rt.publish(TenantEventKind.L1_REVOKED, e.getMessage()))
          .thenNoReply()
          .thenUnstashAll();
    }
    return rt.effect.noReply().thenUnstashAll();
  }

  /** Every command that waited for the failed unseal has had its error. */
  ReplyEffect<Event, TenantState> onStashedAnswered() {
    if (rt.session() instanceof Failed f) {
      rt.session(new Failed(f.error(), f.at(), true));
    }
    return rt.effect.noReply();
  }

  // ---------------------------------------------------------------- re-verification

  ReplyEffect<Event, TenantState> onCheckL1(Registered s, CheckL1 c) {
    if (rt.keys().isEmpty()) {
      if (rt.session() instanceof Failed f && f.stashedAnswered()) {
        rt.session(L1Session.SEALED); // an operator asked: ask the keystore now, not the cache
      }
      return unsealFirst(s, c, c.correlationId(), c.replyTo());
    }
    return startCheck(s, TenantRuntime.correlation(c.correlationId()), Optional.of(c.replyTo()));
  }

  /** The periodic re-verification (only with keys in memory and no other call in flight). */
  ReplyEffect<Event, TenantState> onTick(Registered s) {
    if (rt.keys().isEmpty() || rt.session() instanceof Calling) {
      return rt.effect.noReply();
    }
    rt.context().getSelf().tell(new TenantEntity.LifecycleTick());
    return startCheck(s, "l1-check-" + UUID.randomUUID(), Optional.empty());
  }

  private ReplyEffect<Event, TenantState> startCheck(
      Registered s, String cid, Optional<ActorRef<StatusReply<TenantSummary>>> replyTo) {
    try {
      rt.callForKey(new Checking(cid, replyTo), 0, rt.unwrapL2(s, cid));
    } catch (OpenKcmException e) {
      return replyTo.isPresent()
          ? rt.effect.reply(replyTo.get(), TenantRejections.<TenantSummary>reject(e))
          : rt.effect.noReply();
    }
    return rt.effect.noReply();
  }

  ReplyEffect<Event, TenantState> onChecked(Registered s, Checking call, L1Answered answer) {
    rt.endCall(call);
    answer.wipeKey();
    String cid = call.correlationId();
    if (answer.failure().isEmpty()) {
      if (rt.session() instanceof Unsealed u) {
        rt.session(new Unsealed(u.keys(), rt.deps.clock().instant()));
      }
      rt.audit.record("tenant.l1-check", "l1", s.l1Reference(), "cid", cid, "outcome", "ok");
      return rt.answer(call.replyTo(), rt.effect.none()).thenUnstashAll();
    }
    OpenKcmException e = rt.keystoreError(answer.failure().get(), s.l1Reference(), false);
    rt.audit.record("tenant.l1-check", "l1", s.l1Reference(), "cid", cid, "outcome", e.reason());
    if (e.reason() == ErrorReason.L1_REVOKED) {
      log.warn(
          "tenant {}: L1 revoked by the customer's keystore; keys wiped: {}",
          rt.tenantId,
          e.getMessage());
      rt.wipeKeys("L1 revoked");
      rt.session(new Failed(e, rt.deps.clock().instant(), true));
      return rt.answer(
              call.replyTo(),
              s.revocation().isPresent()
                  ? rt.effect.none()
                  : rt.effect
                      .persist(revoked(e, cid))
                      .thenRun(st -> rt.publish(TenantEventKind.L1_REVOKED, e.getMessage())))
          .thenUnstashAll();
    }
    Instant now = rt.deps.clock().instant();
    if (rt.session() instanceof Unsealed u
        && now.isAfter(u.confirmed().plus(rt.deps.settings().l1UnavailableGrace()))) {
      log.warn(
          "tenant {}: L1 not confirmed since {} (grace {}); keys wiped: {}",
          rt.tenantId,
          u.confirmed(),
          rt.deps.settings().l1UnavailableGrace(),
          e.getMessage());
      rt.wipeKeys("L1 unreachable beyond the grace period");
      rt.publish(TenantEventKind.KEYS_WIPED, "L1 unreachable beyond the grace period");
    } else {
      log.warn(
          "tenant {}: L1 check failed, keys kept within the grace period: {}",
          rt.tenantId,
          e.oneLine());
    }
    if (call.replyTo().isPresent()) {
      return rt.effect
          .reply(call.replyTo().get(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    return rt.effect.noReply().thenUnstashAll();
  }

  private L1Revoked revoked(OpenKcmException e, String cid) {
    return new L1Revoked(e.reason().name(), e.getMessage(), rt.deps.clock().instant(), cid);
  }
}
