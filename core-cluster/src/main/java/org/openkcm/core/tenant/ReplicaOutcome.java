package org.openkcm.core.tenant;

import org.openkcm.core.serialization.CborSerializable;

/**
 * What became of one replicated event in this region (the answer of {@link
 * TenantEntity.ApplyReplicated}): applied now, applied before, or refused with a typed reason and
 * nothing persisted.
 *
 * @param detail what exactly was refused (empty otherwise): for the log, the audit and the sender
 * @param replicatedUpTo with {@link Kind#GAP}: the origin's last event applied here (the catch-up
 *     starts after it); 0 otherwise
 */
public record ReplicaOutcome(Kind kind, Refusal refusal, String detail, long replicatedUpTo)
    implements CborSerializable {

  public ReplicaOutcome {
    detail = detail == null ? "" : detail;
  }

  public ReplicaOutcome(Kind kind, Refusal refusal, String detail) {
    this(kind, refusal, detail, 0);
  }

  public enum Kind {
    APPLIED,
    DUPLICATE,
    REFUSED,
    /**
     * Not applied, nothing persisted: an event of the origin before it (its previous one that
     * crosses regions) was never applied here. The receiver catches up from the origin first.
     */
    GAP
  }

  /** The origin's events after {@code upTo} and before this one are missing here. */
  public static ReplicaOutcome gap(long upTo, String detail) {
    return new ReplicaOutcome(Kind.GAP, Refusal.NONE, detail, upTo);
  }

  public static final ReplicaOutcome APPLIED = new ReplicaOutcome(Kind.APPLIED, Refusal.NONE, "");
  public static final ReplicaOutcome DUPLICATE =
      new ReplicaOutcome(Kind.DUPLICATE, Refusal.NONE, "");

  public static ReplicaOutcome refused(Refusal why, String detail) {
    return new ReplicaOutcome(Kind.REFUSED, why, detail);
  }

  /** Why a replicated event was refused (never persisted). */
  public enum Refusal {
    /** Not refused. */
    NONE,
    /** A write only the tenant's home region makes, from another region. */
    NOT_FROM_HOME,
    /** An event other than an onboarding for a tenant this region does not know. */
    UNKNOWN_TENANT,
    /** An onboarding for a tenant this region already has (the same id onboarded twice). */
    ONBOARDING_CONFLICT,
    /** The event names another tenant than the one it was sent for. */
    TENANT_MISMATCH,
    /** The origin's sequence number jumps past {@code openkcm.orbital.max-sequence-jump}. */
    SEQUENCE_JUMP,
    /** A key version number this region already knows would name a second key. */
    VERSION_REUSED,
    /** An event for a service this region does not know. */
    UNKNOWN_SERVICE,
    /** A service created a second time. */
    SERVICE_EXISTS,
    /** A retirement that would destroy the active version. */
    RETIRES_ACTIVE_VERSION,
    /** An L1 outside the key domain pinned at onboarding. */
    KEY_DOMAIN_MISMATCH,
    /** A revive that names no kill (it would lift whatever kill is in force). */
    REVIVE_NAMES_NO_KILL,
    /** An event kind that never crosses regions (budget reservations, seal migration, copies). */
    NOT_REPLICABLE,
    /** A region/global kill-switch release that names no engagement (it would lift any). */
    RELEASE_NAMES_NO_ENGAGEMENT,
    /** The event handler cannot apply it to the tenant's current state. */
    INAPPLICABLE
  }
}
