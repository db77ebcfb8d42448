package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.openkcm.core.testing.Rpc.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.openkcm.core.testing.Rpc;
import org.openkcm.orbital.Orbital;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * Strict mode ("dead-man switch"): a region that stops hearing from a tenant's home region (the
 * path cut by relays) stops serving the tenant after the allowed silence, and serves it again once
 * the path heals; the home region keeps serving throughout.
 */
class OrbitalStrictIT {

  @Test
  void aReplicaCutOffFromTheHomeRegionStopsServingUntilItHearsAgain() throws Exception {
    Path sharedL1 = Files.createTempDirectory("openkcm-strict-l1");
    int euPort = Rpc.freePort();
    int usPort = Rpc.freePort();
    try (Relay euToUs = new Relay(usPort);
        Relay usToEu = new Relay(euPort);
        PgStack eu =
            PgStack.start("s-eu", region("eu", euPort, "us", euToUs.port(), sharedL1), Map.of())) {
      Orbital euOrbital = Orbital.init(eu.core().system()).orElseThrow();
      eu.admin(
          a ->
              a.createTenant(
                  CreateTenantRequest.newBuilder()
                      .setTenantId("acme")
                      .setL1Reference("devfile:acme-root")
                      .build()));
      eu.admin(
          a ->
              a.createService(
                  CreateServiceRequest.newBuilder()
                      .setTenantId("acme")
                      .setServiceId("payments")
                      .build()));
      try (PgStack us =
          PgStack.start("s-us", region("us", usPort, "eu", usToEu.port(), sharedL1), Map.of())) {
        Orbital usOrbital = Orbital.init(us.core().system()).orElseThrow();
        eventually(us, () -> generate(us));

        euToUs.cut();
        usToEu.cut();
        eventually(
            us,
            () -> {
              OpenKcmException silent = assertThrows(OpenKcmException.class, () -> generate(us));
              assertEquals(ErrorReason.HOME_REGION_SILENT, silent.reason());
            });
        generate(eu); // home serves its own tenant regardless

        euToUs.heal();
        usToEu.heal();
        eventually(us, () -> generate(us));
        usOrbital.close();
        euOrbital.close();
      }
    }
  }

  private static GenerateDataKeyResponse generate(PgStack region) {
    return await(
        region.app.generateDataKey(
            GenerateDataKeyRequest.newBuilder()
                .setTenantId("acme")
                .setServiceId("payments")
                .build()));
  }

  private static void eventually(PgStack region, Runnable check) {
    region
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(200),
            () -> {
              try {
                check.run();
              } catch (OpenKcmException e) {
                throw new AssertionError(e.oneLine());
              }
              return null;
            });
  }

  private static Map<String, Object> region(
      String name, int port, String peer, int peerPort, Path sharedL1) {
    Map<String, Object> c = OrbitalRegions.pair(name, port, peer, peerPort, sharedL1);
    c.put("openkcm.orbital.call-timeout", "2s");
    c.put("openkcm.orbital.heartbeat-interval", "300ms");
    c.put("openkcm.orbital.strict.enabled", true);
    c.put("openkcm.orbital.strict.max-silence", "2s");
    return c;
  }
}
