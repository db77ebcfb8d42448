package org.openkcm.core.tenant;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.openkcm.core.killswitch.KillRecord;
import org.openkcm.core.serialization.CborSerializable;

/**
 * What a tenant entity knows, rebuilt from its journal by {@code TenantEntity}'s event handler:
 * nothing yet ({@link Unregistered}), or a tenant ({@link Registered}) with its L1 reference and
 * key domain, its sealed L1-wrapped L2, its services' sealed L2-wrapped L3 versions, a revocation,
 * a kill, a pending re-link. Never a plaintext key: those live only in the entity's memory.
 */
public sealed interface TenantState extends CborSerializable {

  /** Every L3 version of one service, wrapped by the L2 version named in each. */
  record ServiceKeys(String serviceId, long currentVersion, List<WrappedL3> versions)
      implements CborSerializable {}

  /** One L3 version, sealed and wrapped by L2 version {@code l2Version}. */
  record WrappedL3(long version, long l2Version, byte[] blob) implements CborSerializable {}

  /** A re-link waiting for approval. */
  record PendingL1Link(String requestId, String l1Reference, String requestedBy, Instant at)
      implements CborSerializable {}

  /** The customer's keystore refused L1: why, and since when. */
  record L1Revocation(String reason, String message, Instant since) implements CborSerializable {}

  public record Unregistered() implements TenantState {}

  /**
   * @param keyDomain the customer's key domain of the L1 linked at onboarding (cloud account and
   *     region, HSM token): every later L1 must be of it
   */
  public record Registered(
      String tenantId,
      String l1Reference,
      long l2Version,
      byte[] wrappedL2,
      Map<String, String> l1Context,
      Instant onboardedAt,
      Map<String, ServiceKeys> services,
      Optional<L1Revocation> revocation,
      Optional<KillRecord> killed,
      String keyDomain,
      Optional<PendingL1Link> pendingLink)
      implements TenantState {

    Registered withService(ServiceKeys service) {
      Map<String, ServiceKeys> next = new TreeMap<>(services);
      next.put(service.serviceId(), service);
      return new Registered(
          tenantId,
          l1Reference,
          l2Version,
          wrappedL2,
          l1Context,
          onboardedAt,
          next,
          revocation,
          killed,
          keyDomain,
          pendingLink);
    }

    Registered withRevocation(Optional<L1Revocation> r) {
      return new Registered(
          tenantId,
          l1Reference,
          l2Version,
          wrappedL2,
          l1Context,
          onboardedAt,
          services,
          r,
          killed,
          keyDomain,
          pendingLink);
    }

    Registered withL1(String reference, byte[] wrapped, Map<String, String> context) {
      return new Registered(
          tenantId,
          reference,
          l2Version,
          wrapped,
          context,
          onboardedAt,
          services,
          Optional.empty(),
          killed,
          keyDomain,
          Optional.empty());
    }

    Registered withKilled(Optional<KillRecord> k) {
      return new Registered(
          tenantId,
          l1Reference,
          l2Version,
          wrappedL2,
          l1Context,
          onboardedAt,
          services,
          revocation,
          k,
          keyDomain,
          pendingLink);
    }

    Registered withBlobs(byte[] l2, Map<String, List<WrappedL3>> l3Versions) {
      Map<String, ServiceKeys> next = new TreeMap<>();
      services.forEach(
          (id, keys) ->
              next.put(
                  id,
                  new ServiceKeys(
                      id,
                      keys.currentVersion(),
                      List.copyOf(l3Versions.getOrDefault(id, keys.versions())))));
      return new Registered(
          tenantId,
          l1Reference,
          l2Version,
          l2,
          l1Context,
          onboardedAt,
          next,
          revocation,
          killed,
          keyDomain,
          pendingLink);
    }

    Registered withPendingLink(Optional<PendingL1Link> p) {
      return new Registered(
          tenantId,
          l1Reference,
          l2Version,
          wrappedL2,
          l1Context,
          onboardedAt,
          services,
          revocation,
          killed,
          keyDomain,
          p);
    }
  }
}
