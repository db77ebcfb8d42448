package org.openkcm.core.tenant;

import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.tenant.LifecycleProtocol.L2Rewrapped;
import org.openkcm.core.tenant.LifecycleProtocol.L2Rotated;
import org.openkcm.core.tenant.LifecycleProtocol.L3Rotated;
import org.openkcm.core.tenant.LifecycleProtocol.L3VersionsRetired;
import org.openkcm.core.tenant.LifecycleProtocol.TenantOffboarded;
import org.openkcm.core.tenant.TenantEntity.ApplyReplicated;
import org.openkcm.core.tenant.TenantEntity.Command;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.event.TenantEventKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This region's side of Orbital for one tenant: events from other regions are applied once (by
 * origin region and sequence number, so a resend after a crash or partition changes nothing), their
 * blobs sealed with this region's master key; the keys in memory are wiped (the next use unseals
 * the new chain through the customer's L1) and local gateways are told. What {@link
 * ReplicaAdmission} refuses, or the event handler cannot apply, is never persisted. A replica
 * refuses the lifecycle writes its tenant's home region owns.
 */
final class ReplicaApply {

  private static final Logger log = LoggerFactory.getLogger(ReplicaApply.class);

  private final TenantRuntime rt;
  private final java.util.function.BiFunction<TenantState, Event, TenantState> dryRun;

  /** {@code dryRun}: the entity's event handler, run before persisting to prove it applies. */
  ReplicaApply(
      TenantRuntime rt, java.util.function.BiFunction<TenantState, Event, TenantState> dryRun) {
    this.rt = rt;
    this.dryRun = dryRun;
  }

  ReplyEffect<Event, TenantState> onApply(TenantState s, ApplyReplicated c) {
    ReplicaAdmission.Verdict verdict =
        ReplicaAdmission.judge(
            rt.tenantId,
            s,
            c.originRegion(),
            c.sequenceNr(),
            c.previousSequenceNr(),
            c.event(),
            c.maxSequenceJump());
    if (verdict instanceof ReplicaAdmission.Duplicate) {
      return rt.effect.reply(c.replyTo(), StatusReply.success(ReplicaOutcome.DUPLICATE));
    }
    if (verdict instanceof ReplicaAdmission.Gap g) {
      log.warn(
          "tenant {}: {} #{} from region {} follows #{}, but #{} is the last applied here;"
              + " catching up first",
          rt.tenantId,
          c.event().getClass().getSimpleName(),
          c.sequenceNr(),
          c.originRegion(),
          g.previous(),
          g.upTo());
      return rt.effect.reply(
          c.replyTo(),
          StatusReply.success(
              ReplicaOutcome.gap(
                  g.upTo(), "#" + c.sequenceNr() + " follows #" + g.previous() + ", not applied")));
    }
    if (verdict instanceof ReplicaAdmission.Refuse r) {
      return refuse(c, r.why(), r.detail());
    }
    Event event = c.event();
    if (event instanceof TenantEntity.TenantKilled k
        && (k.killId() == null || k.killId().isEmpty())) {
      // a kill without an id (an older region): named by its origin and number, the same everywhere
      event =
          new TenantEntity.TenantKilled(
              k.reason(),
              k.by(),
              k.at(),
              k.correlationId(),
              c.originRegion() + "/" + c.sequenceNr());
    }
    Event sealed;
    try {
      sealed = TenantReplication.sealed(rt.tenantId, event, rt.deps.masterKey());
    } catch (OpenKcmException e) {
      return rt.effect.reply(c.replyTo(), TenantRejections.reject(e));
    }
    TenantEntity.Replicated copy =
        new TenantEntity.Replicated(c.originRegion(), c.sequenceNr(), sealed);
    // never persist what cannot be applied: the event handler runs on the current state first
    // (the event itself: applied wrapped, the handler would skip it rather than throw)
    try {
      dryRun.apply(s, sealed);
    } catch (RuntimeException e) {
      return refuse(
          c,
          ReplicaOutcome.Refusal.INAPPLICABLE,
          sealed.getClass().getSimpleName() + ": " + e.getClass().getSimpleName());
    }
    if (destroys(event)) {
      // this region's own events before it may not have reached every peer yet: with peers the
      // purge waits for that (Orbital), as after a destroying event written here
      rt.purgeAfterSnapshot();
    }
    Event inner = sealed;
    return rt.effect
        .persist(copy)
        .thenRun(
            st -> {
              rt.wipeKeys("replicated " + inner.getClass().getSimpleName());
              announcement(inner).ifPresent(kind -> rt.publish(kind, "from " + c.originRegion()));
              log.debug(
                  "tenant {}: applied {} #{} from region {}",
                  rt.tenantId,
                  inner.getClass().getSimpleName(),
                  c.sequenceNr(),
                  c.originRegion());
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(ReplicaOutcome.APPLIED));
  }

  /**
   * Refuses a replicated event: nothing persisted, the sequence number not taken (a resend is
   * refused again), loud in the log and the audit trail.
   */
  private ReplyEffect<Event, TenantState> refuse(
      ApplyReplicated c, ReplicaOutcome.Refusal why, String detail) {
    log.error(
        "tenant {}: refused {} #{} from region {}: {} ({}); nothing persisted",
        rt.tenantId,
        c.event().getClass().getSimpleName(),
        c.sequenceNr(),
        c.originRegion(),
        why,
        detail);
    rt.audit.record(
        "orbital.refused",
        "origin",
        c.originRegion(),
        "seq",
        c.sequenceNr(),
        "event",
        c.event().getClass().getSimpleName(),
        "reason",
        why.name(),
        "detail",
        detail);
    return rt.effect.reply(c.replyTo(), StatusReply.success(ReplicaOutcome.refused(why, detail)));
  }

  /** The events that destroy key versions: the journal before them goes (after a snapshot). */
  static boolean destroys(Event e) {
    return e instanceof L3VersionsRetired
        || e instanceof L2Rotated
        || e instanceof L2Rewrapped
        || e instanceof TenantOffboarded;
  }

  /** What local gateways are told of a replicated event. */
  private static java.util.Optional<TenantEventKind> announcement(Event e) {
    TenantEventKind kind = null;
    if (e instanceof TenantEntity.TenantOnboarded) {
      kind = TenantEventKind.ONBOARDED;
    } else if (e instanceof TenantEntity.ServiceCreated) {
      kind = TenantEventKind.SERVICE_CREATED;
    } else if (e instanceof TenantEntity.TenantKilled) {
      kind = TenantEventKind.KILLED;
    } else if (e instanceof TenantEntity.TenantRevived) {
      kind = TenantEventKind.REVIVED;
    } else if (e instanceof TenantEntity.L1Revoked) {
      kind = TenantEventKind.L1_REVOKED;
    } else if (e instanceof TenantEntity.L1Restored) {
      kind = TenantEventKind.L1_RESTORED;
    } else if (e instanceof TenantEntity.L1Linked) {
      kind = TenantEventKind.L1_LINKED;
    } else if (e instanceof TenantOffboarded) {
      kind = TenantEventKind.OFFBOARDED;
    } else if (e instanceof L3Rotated || e instanceof L2Rotated || e instanceof L3VersionsRetired) {
      kind = TenantEventKind.KEY_ROTATED;
    }
    return java.util.Optional.ofNullable(kind);
  }

  /** The writes only a tenant's home region makes. */
  static boolean homeOnly(Command c) {
    return c instanceof TenantEntity.CreateService
        || c instanceof TenantEntity.RequestL1Link
        || c instanceof TenantEntity.ApproveL1Link
        || c instanceof TenantEntity.Revive
        || c instanceof TenantEntity.MigrateSeal
        || c instanceof LifecycleProtocol.RotateService
        || c instanceof LifecycleProtocol.RotateL2
        || c instanceof LifecycleProtocol.RewrapL2
        || c instanceof LifecycleProtocol.RetireVersions
        || c instanceof LifecycleProtocol.SetRotationPolicy
        || c instanceof LifecycleProtocol.Offboard;
  }

  static OpenKcmException notHome(Registered s) {
    return new OpenKcmException(
        ErrorReason.NOT_HOME_REGION,
        "tenant "
            + s.tenantId()
            + " belongs to region "
            + s.homeRegion()
            + ": lifecycle writes (services, rotation, retirement, re-link, revive, offboarding) go"
            + " to that region's Core; this region serves its keys and may kill it");
  }
}
