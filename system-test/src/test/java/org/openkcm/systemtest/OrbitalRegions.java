package org.openkcm.systemtest;

import java.nio.file.Path;
import java.util.Map;

/**
 * One region's Core settings in the Orbital tests, and mutual TLS for it: the one development CA of
 * the test (beside its shared L1 keystore), the Core presenting {@code
 * spiffe://openkcm.local/core/<region>} — as a multi-region deployment must ({@link PgStack} takes
 * the gateway, admin and application identities from the same CA).
 */
final class OrbitalRegions {

  private OrbitalRegions() {}

  /**
   * Region {@code name} (Orbital on {@code port}) shipping to its one {@code peer} at {@code
   * peerPort}, fast backoff, the shared L1 keystore, mutual TLS; the caller may add to it.
   */
  static Map<String, Object> pair(String name, int port, String peer, int peerPort, Path sharedL1) {
    Map<String, Object> c = new java.util.HashMap<>();
    c.put("openkcm.core.region", name);
    c.put("openkcm.orbital.enabled", true);
    c.put("openkcm.orbital.port", port);
    c.put("openkcm.orbital.min-backoff", "200ms");
    c.put("openkcm.orbital.max-backoff", "1s");
    c.put("openkcm.orbital.call-timeout", "3s");
    c.put(
        "openkcm.orbital.peers",
        java.util.List.of(Map.of("name", peer, "host", "127.0.0.1", "port", peerPort)));
    c.put("openkcm.core.keystore.devfile.directory", sharedL1.toString());
    mutualTls(c, name, sharedL1);
    return c;
  }

  static void mutualTls(Map<String, Object> core, String region, Path sharedL1) {
    core.put("openkcm.tls.enabled", true);
    core.put(
        "openkcm.tls.dir", sharedL1.resolveSibling(sharedL1.getFileName() + "-pki").toString());
    core.put("openkcm.tls.name", region);
  }
}
