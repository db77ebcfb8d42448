package org.openkcm.systemtest;

import java.nio.file.Path;
import java.util.Map;

/**
 * Mutual TLS for one region's Core in the Orbital tests: the one development CA of the test (beside
 * its shared L1 keystore), the Core presenting {@code spiffe://openkcm.local/core/<region>} — as a
 * multi-region deployment must ({@link PgStack} takes the gateway, admin and application identities
 * from the same CA).
 */
final class OrbitalTls {

  private OrbitalTls() {}

  static void on(Map<String, Object> core, String region, Path sharedL1) {
    core.put("openkcm.tls.enabled", true);
    core.put(
        "openkcm.tls.dir", sharedL1.resolveSibling(sharedL1.getFileName() + "-pki").toString());
    core.put("openkcm.tls.name", region);
  }
}
