package org.openkcm.core.tenant;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.openkcm.core.tenant.TenantState.WrappedL3;

/**
 * The key lifecycle's part of a tenant's protocol: the commands (rotate, rewrap L2, retire,
 * offboard) and the events they persist. Kept apart from {@link TenantEntity} so that each file
 * reads in one sitting; the class names of the events are their serialization manifests in the
 * journal, so they do not move again.
 */
public final class LifecycleProtocol {

  private LifecycleProtocol() {}

  /** Makes a new L3 version of {@code serviceId} active; older versions keep unwrapping. */
  public record RotateService(
      String serviceId,
      String requestedBy,
      String correlationId,
      ActorRef<StatusReply<TenantSummary>> replyTo)
      implements TenantEntity.SummaryCommand {}

  /**
   * Makes a new L2, wrapped by the customer's L1; every L3 version is re-wrapped under it and the
   * old L2 is gone (no DEK needs rewrapping).
   */
  public record RotateL2(
      String requestedBy, String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo)
      implements TenantEntity.SummaryCommand {}

  /**
   * Destroys the L3 versions of {@code serviceId} below {@code below} (a minimum decryption
   * version): gone from memory, state, journal and snapshots.
   */
  public record RetireVersions(
      String serviceId,
      long below,
      String requestedBy,
      String correlationId,
      ActorRef<StatusReply<TenantSummary>> replyTo)
      implements TenantEntity.SummaryCommand {}

  /**
   * Destroys every key version of the tenant and answers a destruction receipt; afterwards the
   * tenant answers TENANT_OFFBOARDED.
   */
  public record Offboard(
      String reason,
      String requestedBy,
      String correlationId,
      ActorRef<StatusReply<Offboarding.Receipt>> replyTo)
      implements TenantEntity.Command {}

  /** Onboards an offboarded tenant id again (the explicit flag): a new L2 under {@code l1}. */
  public record ReuseOffboardedId(
      String l1Reference, String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo)
      implements TenantEntity.SummaryCommand {}

  /**
   * Re-wraps the tenant's L2 under the current material of its L1 (after the customer rotated it):
   * the current L1 unwraps it, wraps it again and must pass a round trip.
   */
  public record RewrapL2(
      String requestedBy, String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo)
      implements TenantEntity.SummaryCommand {}

  /**
   * A new L3 version of a service is active ({@code pinned}: of a service that never leaves its
   * home region) ({@code reason}: asked by {@code by}, the nonce budget, or its age); it is
   * persisted only wrapped by L2 version {@code l2Version}.
   */
  public record L3Rotated(
      String serviceId,
      long l3Version,
      long l2Version,
      byte[] wrappedL3,
      Instant at,
      String correlationId,
      String by,
      String reason,
      boolean pinned)
      implements TenantEntity.Event {}

  /**
   * L3 versions of a service below {@code below} were destroyed; {@code blobSha256} names their
   * blobs (never the blobs themselves), for the receipt.
   */
  public record L3VersionsRetired(
      String serviceId,
      long below,
      List<Long> versions,
      List<String> blobSha256,
      Instant at,
      String correlationId,
      String by)
      implements TenantEntity.Event {}

  /** Every key version was destroyed (named in {@code destroyed}); the tenant is offboarded. */
  public record TenantOffboarded(
      String tenantId,
      String reason,
      String by,
      Instant at,
      String correlationId,
      List<Offboarding.DestroyedKey> destroyed)
      implements TenantEntity.Event {}

  /** The same L2, wrapped again by the current material of the same L1. */
  public record L2Rewrapped(
      byte[] wrappedL2, Map<String, String> l1Context, Instant at, String correlationId, String by)
      implements TenantEntity.Event {}

  /** Wraps of an L3 version reserved up to {@code reservedUpTo} (the nonce budget, in blocks). */
  public record WrapBudgetReserved(String serviceId, long l3Version, long reservedUpTo)
      implements TenantEntity.Event {}

  /**
   * A new L2 (version {@code l2Version}) wrapped by the customer's L1, and every L3 version
   * re-wrapped under it; the previous L2 is not kept.
   */
  public record L2Rotated(
      long l2Version,
      byte[] wrappedL2,
      Map<String, String> l1Context,
      Map<String, List<WrappedL3>> l3Versions,
      Instant at,
      String correlationId,
      String by,
      String reason,
      List<String> pinnedServices)
      implements TenantEntity.Event {}

  /**
   * Sets the tenant's own cryptoperiods: for one service's L3 ({@code serviceId} given), or the
   * tenant's L3 default and L2 ({@code serviceId} empty). An empty duration leaves that one as is.
   */
  public record SetRotationPolicy(
      String serviceId,
      java.util.Optional<java.time.Duration> l3MaxAge,
      java.util.Optional<java.time.Duration> l2MaxAge,
      String requestedBy,
      String correlationId,
      ActorRef<StatusReply<TenantSummary>> replyTo)
      implements TenantEntity.SummaryCommand {}

  /** The tenant's cryptoperiods changed ({@code 0} seconds: unchanged). */
  public record RotationPolicySet(
      String serviceId,
      long l3MaxAgeSeconds,
      long l2MaxAgeSeconds,
      Instant at,
      String correlationId,
      String by)
      implements TenantEntity.Event {}
}
