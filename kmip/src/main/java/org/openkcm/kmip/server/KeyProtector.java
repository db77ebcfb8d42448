package org.openkcm.kmip.server;

/**
 * Protects key material with the owner's key chain and opens it again. The gateway's implementation
 * seals the material under a fresh data key that the tenant's L3 wraps, so a killed tenant, a
 * revoked L1 or a destroyed object makes it unreadable. Failures are {@link
 * org.openkcm.kmip.message.KmipException}s with the reason the client should see.
 */
public interface KeyProtector {

  /** Throws when the owner may not be served now (killed tenant, revoked L1, unknown service). */
  void requireServing(Owner owner);

  byte[] protect(Owner owner, String uid, byte[] material);

  byte[] open(Owner owner, String uid, byte[] protectedMaterial);
}
