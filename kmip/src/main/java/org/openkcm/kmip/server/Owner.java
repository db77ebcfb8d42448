package org.openkcm.kmip.server;

/**
 * Whose objects a KMIP client sees: one service of one tenant, decided by its certificate (SPIFFE
 * {@code app/<tenant>/<service>}). A client never names its tenant; it cannot reach another's.
 */
public record Owner(String tenant, String service) {
  @Override
  public String toString() {
    return tenant + "/" + service;
  }
}
