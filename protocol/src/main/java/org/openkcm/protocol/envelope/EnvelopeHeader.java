package org.openkcm.protocol.envelope;

/**
 * The clear-text, authenticated part of an envelope: which tenant's which service key (and which
 * version of it) wrapped the DEK.
 */
public record EnvelopeHeader(String tenantId, String serviceId, long l3Version) {

  public EnvelopeHeader {
    Identifiers.problem("tenant", tenantId)
        .ifPresent(
            p -> {
              throw new IllegalArgumentException(p);
            });
    Identifiers.problem("service", serviceId)
        .ifPresent(
            p -> {
              throw new IllegalArgumentException(p);
            });
    if (l3Version < 1 || l3Version > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("L3 version must be in 1..2^32-1, was " + l3Version);
    }
  }
}
