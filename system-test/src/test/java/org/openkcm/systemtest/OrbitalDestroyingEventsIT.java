package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.openkcm.core.testing.PostgresSchema;
import org.openkcm.core.testing.Rpc;
import org.openkcm.orbital.Orbital;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.OffboardTenantRequest;
import org.openkcm.protocol.admin.v1.RotateKeyRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * Destroying events reach a region that was away: while region us cannot be reached, the home
 * region eu rotates a tenant's L2 and offboards it. eu keeps the older events (the outbox reads the
 * journal, and a deleted event is never shipped) until us has acknowledged the offboarding; then us
 * stops serving the tenant and both regions have deleted the events before it.
 */
class OrbitalDestroyingEventsIT {

  @Test
  void anOffboardingAtHomeReachesARegionThatWasAwayAndThePurgeWaitsForIt() throws Exception {
    Path sharedL1 = Files.createTempDirectory("openkcm-destroying-l1");
    int euPort = Rpc.freePort();
    int usPort = Rpc.freePort();
    try (Relay euToUs = new Relay(usPort);
        PgStack eu =
            PgStack.start("d-eu", region("eu", euPort, "us", euToUs.port(), sharedL1), Map.of())) {
      Orbital euOrbital = Orbital.init(eu.core().system()).orElseThrow();
      eu.admin(
          a ->
              a.createTenant(
                  CreateTenantRequest.newBuilder()
                      .setTenantId("gone")
                      .setL1Reference("devfile:gone-root")
                      .build()));
      eu.admin(
          a ->
              a.createService(
                  CreateServiceRequest.newBuilder()
                      .setTenantId("gone")
                      .setServiceId("payments")
                      .build()));
      try (PgStack us =
          PgStack.start("d-us", region("us", usPort, "eu", euPort, sharedL1), Map.of())) {
        Orbital usOrbital = Orbital.init(us.core().system()).orElseThrow();
        GenerateDataKeyResponse made =
            await(
                eu.app("gone", "payments")
                    .generateDataKey(
                        GenerateDataKeyRequest.newBuilder()
                            .setTenantId("gone")
                            .setServiceId("payments")
                            .build()));
        eventually(us, () -> decrypt(us, made));

        euToUs.cut(); // us is away
        eu.admin(
            a ->
                a.rotateTenantKey(
                    RotateKeyRequest.newBuilder()
                        .setTenantId("gone")
                        .setRequestedBy("it")
                        .build()));
        eu.admin(
            a ->
                a.offboardTenant(
                    OffboardTenantRequest.newBuilder()
                        .setTenantId("gone")
                        .setReason("contract ended")
                        .setRequestedBy("it")
                        .build()));
        long offboarded = sequenceOf(eu.db, "TenantOffboarded");
        // two purge sweeps at eu after it: the events before the offboarding stay while us lacks it
        long sweeps = Orbital.purgeSweeps("eu");
        eventually(
            eu,
            () -> {
              assertTrue(Orbital.purgeSweeps("eu") >= sweeps + 2);
              return null;
            });
        assertTrue(
            eu.db.events("Tenant|gone").stream().anyMatch(e -> e.sequenceNr() < offboarded),
            "older events kept at eu while us has not acknowledged the offboarding");
        decrypt(us, made); // us still serves: it has heard nothing

        euToUs.heal(); // us is back
        eventually(
            us,
            () -> {
              OpenKcmException e = assertThrows(OpenKcmException.class, () -> decrypt(us, made));
              assertEquals(ErrorReason.TENANT_OFFBOARDED, e.reason(), e.getMessage());
              return null;
            });
        eventually(
            eu,
            () -> {
              List<PostgresSchema.StoredEvent> left = eu.db.events("Tenant|gone");
              assertTrue(
                  left.stream().allMatch(e -> e.sequenceNr() >= offboarded),
                  "eu deleted the events before the offboarding once us had it: " + left.size());
              return null;
            });
        eventually(
            us,
            () -> {
              assertEquals(
                  1,
                  us.db.events("Tenant|gone").size(),
                  "us deleted its copies before the offboarding at once");
              return null;
            });
        usOrbital.close();
      }
      euOrbital.close();
    }
  }

  private static long sequenceOf(PostgresSchema db, String kind) throws Exception {
    return db.events("Tenant|gone").stream()
        .filter(e -> e.manifest().endsWith("$" + kind))
        .mapToLong(PostgresSchema.StoredEvent::sequenceNr)
        .max()
        .orElseThrow();
  }

  private static byte[] decrypt(PgStack region, GenerateDataKeyResponse key) {
    return await(
            region
                .app("gone", "payments")
                .decrypt(
                    DecryptRequest.newBuilder()
                        .setTenantId("gone")
                        .setEnvelope(key.getEnvelope())
                        .build()))
        .getPlaintext()
        .toByteArray();
  }

  private static <T> T eventually(PgStack region, Callable<T> check) {
    return Eventually.holds(region.client, Duration.ofSeconds(30), check);
  }

  private static Map<String, Object> region(
      String name, int port, String peer, int peerPort, Path sharedL1) {
    Map<String, Object> c = OrbitalRegions.pair(name, port, peer, peerPort, sharedL1);
    c.put("openkcm.orbital.purge-interval", "200ms");
    return c;
  }
}
