package org.openkcm.core.tenant;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.openkcm.core.killswitch.KillRecord;
import org.openkcm.core.serialization.CborSerializable;
import org.openkcm.core.tenant.TenantState.L1Revocation;
import org.openkcm.core.tenant.TenantState.PendingL1Link;

/**
 * What a tenant answers about itself: no key material, only references, versions and status.
 *
 * @param status active, killed, or l1-revoked when the customer's keystore refused L1
 * @param unsealed whether this node holds the tenant's keys in memory right now
 * @param revocation why and since when L1 is refused (empty while active)
 * @param killed the kill in force (the tenant's own, or a region/global kill-switch)
 * @param node the Core node that answered
 * @param l2CreatedAt when the current L2 version was made
 * @param l2MaxAge the L2's cryptoperiod in force (the tenant's own, else the configured one)
 * @param killIds the tenant's own kills in force (several when regions killed it concurrently; a
 *     revive lifts those it names)
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
    Optional<PendingL1Link> pendingLink,
    Instant l2CreatedAt,
    java.time.Duration l2MaxAge,
    String homeRegion,
    String stateDigest,
    List<String> killIds)
    implements CborSerializable {

  public TenantSummary {
    killIds = killIds == null ? List.of() : List.copyOf(killIds);
  }

  /**
   * @param l3Version the active version
   * @param versions every version, oldest first
   */
  public record ServiceSummary(
      String serviceId,
      long l3Version,
      List<VersionSummary> versions,
      java.time.Duration l3MaxAge,
      boolean pinned)
      implements CborSerializable {}

  /**
   * @param wraps wraps made with it: counted on the node holding the keys, else the reserved bound
   *     (never less than what was made)
   * @param destroyedSha256 for a retired version: the SHA-256 of its destroyed blob (the receipt)
   */
  public record VersionSummary(
      long version, KeyVersionState state, Instant createdAt, long wraps, String destroyedSha256)
      implements CborSerializable {}

  /**
   * What {@code s} looks like from this node: {@code keys} in memory (if any), {@code kill} in
   * force (if any), answered by {@code node}.
   */
  static TenantSummary of(
      TenantState.Registered s,
      Optional<UnsealedKeys> keys,
      Optional<KillRecord> kill,
      String node,
      KeyLifecycle defaults) {
    List<ServiceSummary> services = new ArrayList<>();
    for (TenantState.ServiceKeys v : s.services().values()) {
      List<TenantSummary.VersionSummary> versions = new ArrayList<>();
      for (long version : v.allVersions()) {
        TenantState.L3Info info = v.info(version);
        long wraps = keys.map(k -> k.wraps(v.serviceId(), version)).orElse(info.wrapsReserved());
        versions.add(
            new TenantSummary.VersionSummary(
                version,
                version < v.retiredBelow()
                    ? KeyVersionState.RETIRED
                    : version == v.currentVersion()
                        ? KeyVersionState.ACTIVE
                        : KeyVersionState.DECRYPT_ONLY,
                info.createdAt(),
                version < v.retiredBelow() ? info.wrapsReserved() : wraps,
                info.destroyedSha256()));
      }
      services.add(
          new ServiceSummary(
              v.serviceId(),
              v.currentVersion(),
              versions,
              s.policy().l3MaxAge(v.serviceId(), defaults.l3MaxAge()),
              v.pinned()));
    }
    TenantStatus status =
        kill.isPresent()
            ? TenantStatus.KILLED
            : s.revocation().isPresent() ? TenantStatus.L1_REVOKED : TenantStatus.ACTIVE;
    return new TenantSummary(
        s.tenantId(),
        s.l1Reference(),
        s.l2Version(),
        status,
        services,
        keys.isPresent(),
        s.revocation(),
        kill,
        node,
        s.pendingLink(),
        s.l2CreatedAt(),
        s.policy().l2MaxAge().orElse(defaults.l2MaxAge()),
        s.homeRegion(),
        digest(s),
        List.copyOf(new java.util.TreeSet<>(s.kills().keySet())));
  }

  /**
   * The tenant's state as every region must agree on it (not what is regional: seals, budgets,
   * which node holds the keys): L1, L2 version, services and their versions, kill, revocation, a
   * pending re-link. Equal digests in two regions: they have converged.
   */
  static String digest(TenantState.Registered s) {
    StringBuilder b = new StringBuilder();
    b.append(s.tenantId()).append('|').append(s.l1Reference()).append('|').append(s.l2Version());
    for (TenantState.ServiceKeys v : s.services().values()) {
      b.append("|svc:").append(v.serviceId()).append(':').append(v.pinned());
      if (!v.pinned() || !v.versions().isEmpty()) {
        b.append(':').append(v.currentVersion()).append(':').append(v.retiredBelow());
        v.versions()
            .forEach(w -> b.append(',').append(w.version()).append('/').append(w.l2Version()));
      }
    }
    s.killed().ifPresent(k -> b.append("|killed:").append(k.reason()).append(':').append(k.by()));
    new java.util.TreeSet<>(s.kills().keySet()).forEach(id -> b.append("|kill:").append(id));
    s.revocation().ifPresent(r -> b.append("|revoked:").append(r.reason()));
    s.pendingLink().ifPresent(p -> b.append("|link:").append(p.requestId()));
    try {
      return java.util.HexFormat.of()
          .formatHex(
              java.security.MessageDigest.getInstance("SHA-256")
                  .digest(b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
