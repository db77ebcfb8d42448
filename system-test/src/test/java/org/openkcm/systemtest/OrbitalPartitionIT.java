package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.RotateKeyRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;

/**
 * Two regions joined by relays that the test cuts: writes on both sides while partitioned (a
 * rotation at home, a kill in the other region), then heal: both converge to the same state digest
 * and the kill holds everywhere. Then the home Core stops mid-stream and starts again: its
 * replicator resumes from its stored offset, and what it sends again changes nothing.
 */
class OrbitalPartitionIT {

  @Test
  void partitionedWritesConvergeAfterHealingAndARestartMidStreamLosesAndDuplicatesNothing()
      throws Exception {
    Path sharedL1 = Files.createTempDirectory("openkcm-partition-l1");
    int euPort = Rpc.freePort();
    int usPort = Rpc.freePort();
    try (Relay euToUs = new Relay(usPort);
        Relay usToEu = new Relay(euPort);
        PgStack eu =
            PgStack.start("p-eu", region("eu", euPort, "us", euToUs.port(), sharedL1), Map.of())) {
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
          PgStack.start("p-us", region("us", usPort, "eu", usToEu.port(), sharedL1), Map.of())) {
        Orbital usOrbital = Orbital.init(us.core().system()).orElseThrow();
        converged(eu, us);

        euToUs.cut();
        usToEu.cut();
        rotate(eu);
        us.admin(
            a ->
                a.killTenant(
                    KillTenantRequest.newBuilder()
                        .setTenantId("acme")
                        .setReason("seen in us")
                        .setRequestedBy("it")
                        .build()));
        // while cut: each side has only its own write
        assertEquals("killed", tenant(us).getStatus());
        assertEquals("active", tenant(eu).getStatus());
        assertNotEquals(tenant(eu).getStateDigest(), tenant(us).getStateDigest());

        euToUs.heal();
        usToEu.heal();
        converged(eu, us);
        assertEquals("killed", tenant(eu).getStatus(), "the kill holds at home too");
        assertEquals(2, tenant(us).getServices(0).getL3Version(), "the rotation reached us");
        OpenKcmException refused =
            assertThrows(
                OpenKcmException.class,
                () ->
                    await(
                        eu.app.generateDataKey(
                            GenerateDataKeyRequest.newBuilder()
                                .setTenantId("acme")
                                .setServiceId("payments")
                                .build())));
        assertEquals(ErrorReason.TENANT_KILLED, refused.reason());

        // a revive at home and a kill in us, each unaware of the other: the kill wins everywhere
        euToUs.cut();
        usToEu.cut();
        eu.admin(
            a ->
                a.reviveTenant(
                    org.openkcm.protocol.admin.v1.ReviveTenantRequest.newBuilder()
                        .setTenantId("acme")
                        .setRequestedBy("it")
                        .build()));
        us.admin(
            a ->
                a.killTenant(
                    KillTenantRequest.newBuilder()
                        .setTenantId("acme")
                        .setReason("again in us")
                        .setRequestedBy("it")
                        .build()));
        assertEquals("active", tenant(eu).getStatus());
        euToUs.heal();
        usToEu.heal();
        converged(eu, us);
        assertEquals("killed", tenant(eu).getStatus(), "the concurrent kill beat the revive");
        assertEquals("killed", tenant(us).getStatus());

        // revived at home; the home Core then stops right after more writes and starts again:
        // nothing lost, nothing applied twice
        eu.admin(
            a ->
                a.reviveTenant(
                    org.openkcm.protocol.admin.v1.ReviveTenantRequest.newBuilder()
                        .setTenantId("acme")
                        .setRequestedBy("it")
                        .build()));
        rotate(eu);
        rotate(eu);
        euOrbital.close();
        eu.stopCore();
        eu.startCore();
        euOrbital = Orbital.init(eu.core().system()).orElseThrow();
        rotate(eu);
        converged(eu, us);
        assertEquals(5, tenant(us).getServices(0).getL3Version());
        assertEquals(5, tenant(us).getServices(0).getVersionsCount(), "each version once");
        usOrbital.close();
        euOrbital.close();
      }
    }
  }

  private static void rotate(PgStack region) {
    region.admin(
        a ->
            a.rotateServiceKey(
                RotateKeyRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .setRequestedBy("it")
                    .build()));
  }

  private static void converged(PgStack eu, PgStack us) {
    eu.client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(200),
            () -> {
              try {
                assertEquals(tenant(eu).getStateDigest(), tenant(us).getStateDigest());
              } catch (OpenKcmException e) {
                throw new AssertionError(e.oneLine());
              }
              return null;
            });
  }

  private static TenantInfo tenant(PgStack region) {
    return region.admin(
        a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId("acme").build()));
  }

  private static Map<String, Object> region(
      String name, int port, String peer, int peerPort, Path sharedL1) {
    Map<String, Object> c = OrbitalRegions.pair(name, port, peer, peerPort, sharedL1);
    return c;
  }
}
