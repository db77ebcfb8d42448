package org.openkcm.core.tenant;

import java.util.Optional;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.tenant.LifecycleProtocol.L2Rewrapped;
import org.openkcm.core.tenant.LifecycleProtocol.L2Rotated;
import org.openkcm.core.tenant.LifecycleProtocol.L3Rotated;
import org.openkcm.core.tenant.LifecycleProtocol.L3VersionsRetired;
import org.openkcm.core.tenant.LifecycleProtocol.RotationPolicySet;
import org.openkcm.core.tenant.LifecycleProtocol.TenantOffboarded;
import org.openkcm.core.tenant.ReplicaOutcome.Refusal;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.L1LinkClosed;
import org.openkcm.core.tenant.TenantEntity.L1LinkRequested;
import org.openkcm.core.tenant.TenantEntity.L1Linked;
import org.openkcm.core.tenant.TenantEntity.L1Restored;
import org.openkcm.core.tenant.TenantEntity.L1Revoked;
import org.openkcm.core.tenant.TenantEntity.ServiceCreated;
import org.openkcm.core.tenant.TenantEntity.TenantKilled;
import org.openkcm.core.tenant.TenantEntity.TenantOnboarded;
import org.openkcm.core.tenant.TenantEntity.TenantRevived;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.ServiceKeys;

/**
 * Whether another region's event may enter this tenant's journal: decided before anything is
 * persisted, from the tenant's current state alone (a pure function). Only the tenant's home region
 * decides home things (services, rotation, retirement, L1 link and restore, L2 rotation and rewrap,
 * revive, rotation policy, offboarding); any region may kill it or report its L1 revoked; an
 * onboarding is taken only for an id this region does not know. A version number never names two
 * keys, and a sequence number that jumps implausibly far is refused (it would make every later real
 * event of that origin look like a duplicate).
 */
final class ReplicaAdmission {

  private ReplicaAdmission() {}

  /** The verdict on one replicated event. */
  sealed interface Verdict {}

  /** Applied before (by origin and sequence number): nothing to do. */
  record Duplicate() implements Verdict {}

  /**
   * The origin's previous event that crosses regions ({@code previous}) was never applied here:
   * applying this one first would move the high-water mark past it and lose it.
   */
  record Gap(long upTo, long previous) implements Verdict {}

  /** May be persisted and applied. */
  record Admit() implements Verdict {}

  /** Refused with {@code why}; {@code detail} says what exactly, for the log and the audit. */
  record Refuse(Refusal why, String detail) implements Verdict {}

  /**
   * The verdict on {@code event}, sequence number {@code seq} of {@code origin}, for tenant {@code
   * tenantId} in state {@code s}.
   */
  static Verdict judge(
      String tenantId, TenantState s, String origin, long seq, Event event, long maxJump) {
    return judge(tenantId, s, origin, seq, 0, event, maxJump);
  }

  /**
   * The verdict on {@code event}, sequence number {@code seq} of {@code origin} whose previous
   * event that crosses regions is {@code previous} (0: none, or not said: no gap check).
   */
  static Verdict judge(
      String tenantId,
      TenantState s,
      String origin,
      long seq,
      long previous,
      Event event,
      long maxJump) {
    long upTo = s.replicatedUpTo(origin);
    if (seq <= upTo) {
      return new Duplicate();
    }
    if (seq - upTo > maxJump) {
      return refuse(
          Refusal.SEQUENCE_JUMP,
          "event #"
              + seq
              + " of region "
              + origin
              + " follows #"
              + upTo
              + " (at most "
              + maxJump
              + " apart)");
    }
    if (previous > upTo && previous < seq) {
      return new Gap(upTo, previous);
    }
    if (event instanceof LifecycleProtocol.WrapBudgetReserved
        || event instanceof TenantEntity.BlobsResealed
        || event instanceof TenantEntity.Replicated) {
      return refuse(Refusal.NOT_REPLICABLE, event.getClass().getSimpleName() + " never crosses");
    }
    if (event instanceof TenantOnboarded o) {
      if (!o.tenantId().equals(tenantId)) {
        return refuse(Refusal.TENANT_MISMATCH, "onboarding of " + o.tenantId());
      }
      if (s instanceof Registered r) {
        return refuse(
            Refusal.ONBOARDING_CONFLICT,
            "this region already has the tenant"
                + (r.isReplica() ? " (home " + r.homeRegion() + ")" : " (its own)"));
      }
      if (s instanceof TenantState.Offboarded off && !origin.equals(off.homeRegion())) {
        // an offboarded id is known: only its former home may re-create it
        return refuse(
            Refusal.ONBOARDING_CONFLICT,
            "the tenant was offboarded; only its former home "
                + (off.homeRegion().isEmpty() ? "(this region)" : off.homeRegion())
                + " re-creates its id");
      }
      return new Admit();
    }
    if (s instanceof TenantState.Unregistered && event instanceof TenantKilled) {
      return new Admit(); // kept until the home's onboarding arrives: a kill is never lost
    }
    if (!(s instanceof Registered r)) {
      return refuse(
          Refusal.UNKNOWN_TENANT,
          event.getClass().getSimpleName() + " for a tenant this region does not hold");
    }
    if (event instanceof TenantKilled || event instanceof L1Revoked) {
      return new Admit(); // any region may stop a tenant: a kill always wins
    }
    if (!homeOnly(event)) {
      return refuse(Refusal.NOT_REPLICABLE, event.getClass().getSimpleName() + " never crosses");
    }
    String home = r.isReplica() ? r.homeRegion() : "";
    if (!origin.equals(home)) {
      return refuse(
          Refusal.NOT_FROM_HOME,
          event.getClass().getSimpleName()
              + " from region "
              + origin
              + ", but the tenant's home is "
              + (home.isEmpty() ? "this region" : "region " + home));
    }
    return consistent(r, event).map(v -> (Verdict) v).orElse(new Admit());
  }

  /** The events only a tenant's home region writes. */
  static boolean homeOnly(Event e) {
    return e instanceof ServiceCreated
        || e instanceof L3Rotated
        || e instanceof L3VersionsRetired
        || e instanceof L2Rotated
        || e instanceof L2Rewrapped
        || e instanceof L1Linked
        || e instanceof L1Restored
        || e instanceof L1LinkRequested
        || e instanceof L1LinkClosed
        || e instanceof TenantRevived
        || e instanceof RotationPolicySet
        || e instanceof TenantOffboarded;
  }

  /** A home event that contradicts what this region holds. */
  private static Optional<Refuse> consistent(Registered r, Event event) {
    if (event instanceof ServiceCreated c && r.services().containsKey(c.serviceId())) {
      return Optional.of(new Refuse(Refusal.SERVICE_EXISTS, "service " + c.serviceId()));
    }
    if (event instanceof L3Rotated rot) {
      ServiceKeys service = r.services().get(rot.serviceId());
      if (service == null) {
        return Optional.of(new Refuse(Refusal.UNKNOWN_SERVICE, "service " + rot.serviceId()));
      }
      if (rot.l3Version() <= service.currentVersion()
          || service.versions().stream().anyMatch(w -> w.version() == rot.l3Version())) {
        return Optional.of(
            new Refuse(
                Refusal.VERSION_REUSED,
                "L3 v"
                    + rot.l3Version()
                    + " of service "
                    + rot.serviceId()
                    + " (active here: v"
                    + service.currentVersion()
                    + ")"));
      }
    }
    if (event instanceof L3VersionsRetired ret) {
      ServiceKeys service = r.services().get(ret.serviceId());
      if (service == null) {
        return Optional.of(new Refuse(Refusal.UNKNOWN_SERVICE, "service " + ret.serviceId()));
      }
      if (service.pinned() && service.versions().isEmpty()) {
        return Optional.empty(); // a pinned service of the home region: nothing held here
      }
      if (ret.below() > service.currentVersion()) {
        return Optional.of(
            new Refuse(
                Refusal.RETIRES_ACTIVE_VERSION,
                "retire below v" + ret.below() + ", active v" + service.currentVersion()));
      }
    }
    if (event instanceof L2Rotated rot && rot.l2Version() <= r.l2Version()) {
      return Optional.of(
          new Refuse(
              Refusal.VERSION_REUSED,
              "L2 v" + rot.l2Version() + " (this region holds v" + r.l2Version() + ")"));
    }
    if (event instanceof L1Linked link) {
      String domain;
      try {
        domain = L1Reference.parse(link.l1Reference()).keyDomain();
      } catch (RuntimeException e) {
        return Optional.of(new Refuse(Refusal.KEY_DOMAIN_MISMATCH, "unreadable L1 reference"));
      }
      if (!domain.equals(r.keyDomain())) {
        return Optional.of(
            new Refuse(
                Refusal.KEY_DOMAIN_MISMATCH,
                "L1 of key domain " + domain + ", pinned at onboarding: " + r.keyDomain()));
      }
    }
    if (event instanceof TenantRevived rev && rev.named().stream().allMatch(String::isEmpty)) {
      return Optional.of(new Refuse(Refusal.REVIVE_NAMES_NO_KILL, "revive by " + rev.by()));
    }
    if (event instanceof TenantOffboarded off && !off.tenantId().equals(r.tenantId())) {
      return Optional.of(new Refuse(Refusal.TENANT_MISMATCH, "offboarding of " + off.tenantId()));
    }
    return Optional.empty();
  }

  private static Refuse refuse(Refusal why, String detail) {
    return new Refuse(why, detail);
  }
}
