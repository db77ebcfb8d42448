package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.killswitch.KillRecord;
import org.openkcm.core.killswitch.KillScope;
import org.openkcm.core.tenant.L1Call.Checking;
import org.openkcm.core.tenant.L1Call.Linking;
import org.openkcm.core.tenant.L1Call.Onboarding;
import org.openkcm.core.tenant.L1Call.Reviving;
import org.openkcm.core.tenant.L1Session.Calling;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.Kill;
import org.openkcm.core.tenant.TenantEntity.L1Answered;
import org.openkcm.core.tenant.TenantEntity.PersistPendingKill;
import org.openkcm.core.tenant.TenantEntity.Revive;
import org.openkcm.core.tenant.TenantEntity.TenantKilled;
import org.openkcm.core.tenant.TenantEntity.TenantRevived;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.event.TenantEventKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tenant's kill-switch: a kill wipes the keys and refuses everything at once, before it is even
 * persisted (it is entered in {@link PendingKills} first, so a journal failure cannot bring the
 * tenant back on this node), whatever L1 call is in flight; a revive unseals from L1 again first,
 * so it fails while L1 is revoked.
 */
final class KillCommands {

  private static final Logger log = LoggerFactory.getLogger(KillCommands.class);

  private final TenantRuntime rt;

  KillCommands(TenantRuntime rt) {
    this.rt = rt;
  }

  ReplyEffect<Event, TenantState> onKill(Registered s, Kill c) {
    rt.wipeKeys("tenant kill-switch"); // also a revive in flight brings nothing back
    if (s.killed().isPresent() && !s.isReplica()) {
      // killed at home already: nothing new to say (only its home revives it)
      return rt.effect.reply(c.replyTo(), StatusReply.success(rt.summary(s)));
    }
    // In several regions a kill is always written anew (with its own id): a revive pulled
    // concurrently elsewhere names the older kill and so cannot lift this one.
    String cid = TenantRuntime.correlation(c.correlationId());
    String reason = c.reason().isBlank() ? "(no reason given)" : c.reason();
    String by = c.requestedBy().isBlank() ? "unknown" : c.requestedBy();
    Instant at = rt.deps.clock().instant();
    rt.deps
        .pendingKills()
        .put(
            rt.tenantId,
            new PendingKills.Pending(
                new KillRecord(KillScope.TENANT, reason, by, at), cid, Optional.of(c.replyTo())));
    rt.abandonCall(); // commands that waited for it are refused now (unstashed into the kill)
    log.warn(
        "tenant {}: KILLED by {} (reason: {}); keys wiped (cid={})", rt.tenantId, by, reason, cid);
    rt.audit.record("tenant.kill", "by", by, "reason", reason, "cid", cid);
    return rt.effect
        .persist(new TenantKilled(reason, by, at, cid, killId()))
        .thenRun(
            st -> {
              rt.deps.pendingKills().persisted(rt.tenantId);
              rt.publish(TenantEventKind.KILLED, reason);
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)))
        .thenUnstashAll();
  }

  /**
   * A kill accepted on this node before a journal failure: write it again (everything is refused
   * meanwhile).
   */
  ReplyEffect<Event, TenantState> onPersistPendingKill(Registered s, PersistPendingKill c) {
    Optional<PendingKills.Pending> pending = rt.deps.pendingKills().get(rt.tenantId);
    if (pending.isEmpty() || s.killed().isPresent()) {
      rt.deps.pendingKills().persisted(rt.tenantId);
      return rt.effect.noReply();
    }
    KillRecord k = pending.get().kill();
    String cid = pending.get().correlationId();
    log.warn(
        "tenant {}: writing the kill of {} again (the journal refused it before)",
        rt.tenantId,
        k.since());
    return rt.effect
        .persist(new TenantKilled(k.reason(), k.by(), k.since(), cid, killId()))
        .thenRun(
            st -> {
              rt.deps.pendingKills().persisted(rt.tenantId);
              rt.audit.record("tenant.kill", "by", k.by(), "cid", cid, "persisted", "after-retry");
              rt.publish(TenantEventKind.KILLED, k.reason());
            })
        .thenNoReply();
  }

  ReplyEffect<Event, TenantState> onRevive(Registered s, Revive c) {
    Optional<KillRecord> global = rt.deps.killSwitch().engaged();
    if (global.isPresent()) {
      return rt.effect.reply(
          c.replyTo(),
          reject(
              ErrorReason.TENANT_KILLED,
              global.get().describe(rt.tenantId) + "; release that kill-switch first"));
    }
    String cid = TenantRuntime.correlation(c.correlationId());
    log.info(
        "tenant {}: revive requested by {}: unsealing from L1 {} (cid={})",
        rt.tenantId,
        c.requestedBy(),
        s.l1Reference(),
        cid);
    try {
      rt.callForKey(new Reviving(c, cid), 0, rt.unwrapL2(s, cid));
    } catch (OpenKcmException e) {
      return rt.effect.reply(c.replyTo(), reject(e));
    }
    return rt.effect.noReply();
  }

  ReplyEffect<Event, TenantState> onRevived(Registered s, Reviving call, L1Answered answer) {
    Optional<Calling> ended = rt.endCall(call);
    Revive c = call.request();
    String cid = call.correlationId();
    if (ended.isEmpty() || ended.get().wiped()) {
      answer.wipeKey();
      return rt.effect
          .reply(
              c.replyTo(),
              TenantRejections.<TenantSummary>reject(
                  ErrorReason.TENANT_KILLED,
                  "tenant "
                      + rt.tenantId
                      + " was killed again (or its keys wiped) while the revive asked its L1;"
                      + " not revived"))
          .thenUnstashAll();
    }
    if (answer.failure().isPresent()) {
      OpenKcmException e = rt.keystoreError(answer.failure().get(), s.l1Reference(), false);
      rt.audit.record("tenant.revive", "by", c.requestedBy(), "cid", cid, "outcome", e.reason());
      return rt.effect
          .reply(
              c.replyTo(),
              TenantRejections.<TenantSummary>reject(
                  new OpenKcmException(e.reason(), "cannot revive: " + e.getMessage())))
          .thenUnstashAll();
    }
    UnsealedKeys keys;
    try {
      keys = rt.chain.open(answer.key().orElseThrow(), s.l2Version(), s.services());
    } catch (OpenKcmException e) {
      return rt.effect
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    rt.audit.record("tenant.revive", "by", c.requestedBy(), "cid", cid, "outcome", "ok");
    return rt.effect
        // it names every kill in force here: one pulled meanwhile elsewhere, not yet here, stays
        .persist(
            new TenantRevived(
                c.requestedBy(),
                rt.deps.clock().instant(),
                cid,
                s.killId(),
                List.copyOf(s.kills().keySet())))
        .thenRun(st -> rt.installKeys(keys))
        .thenRun(st -> rt.publish(TenantEventKind.REVIVED, "revived by " + c.requestedBy()))
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)))
        .thenUnstashAll();
  }

  /** A new kill's id: unique across regions. */
  private String killId() {
    return rt.context().getSystem().address().toString() + "/" + java.util.UUID.randomUUID();
  }

  /** An L1 answer reaching a killed tenant: nothing it brings back is kept. */
  ReplyEffect<Event, TenantState> onAnswerWhileKilled(Registered s, L1Answered answer) {
    if (answer.call() instanceof Reviving reviving) {
      return onRevived(s, reviving, answer);
    }
    rt.endCall(answer.call());
    answer.wipeKey();
    if (answer.call() instanceof Linking linking) {
      return rt.effect.reply(linking.request().replyTo(), rt.killed(s)).thenUnstashAll();
    }
    if (answer.call() instanceof Onboarding onboarding) {
      onboarding.l2().wipe();
    }
    if (answer.call() instanceof L1Call.RewrappingL2 rewrapping) {
      return rt.effect.reply(rewrapping.request().replyTo(), rt.killed(s)).thenUnstashAll();
    }
    if (answer.call() instanceof L1Call.RotatingL2 rotating) {
      rotating.l2().wipe();
      return rt.effect.reply(rotating.request().replyTo(), rt.killed(s)).thenUnstashAll();
    }
    if (answer.call() instanceof Checking checking && checking.replyTo().isPresent()) {
      return rt.effect.reply(checking.replyTo().get(), rt.killed(s)).thenUnstashAll();
    }
    return rt.effect.noReply().thenUnstashAll();
  }

  /**
   * Stopping with a kill the journal did not take (a persist failure stops the entity): whoever
   * asked for it gets a definite answer; the tenant stays blocked on this node and the kill is
   * written again on restart.
   */
  void answerUnpersistedKill() {
    rt.deps
        .pendingKills()
        .get(rt.tenantId)
        .flatMap(PendingKills.Pending::replyTo)
        .ifPresent(
            replyTo -> {
              log.error(
                  "tenant {}: the journal did not take its kill; it stays killed on this node and"
                      + " the kill is written again when the tenant restarts",
                  rt.tenantId);
              replyTo.tell(
                  TenantRejections.reject(
                      ErrorReason.CORE_UNAVAILABLE,
                      "tenant "
                          + rt.tenantId
                          + " is blocked on this Core node, but its kill could not be persisted"
                          + " (journal failure); it is retried on restart; repeat the kill to"
                          + " confirm"));
              rt.deps.pendingKills().answered(rt.tenantId);
            });
  }
}
