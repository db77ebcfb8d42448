package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.core.testing.Bytes;
import org.openkcm.core.testing.PostgresSchema;
import org.openkcm.core.testing.Rpc;
import org.openkcm.orbital.Orbital;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.admin.v1.RotateKeyRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * Two regions, each a Core on its own PostgreSQL schema with its own master key and a gateway of
 * its own, kept in step by Orbital (region A ships to B through a recording relay, B ships to A
 * directly). The customer's L1 is reachable from both (one development keystore, as an AWS
 * multi-Region key would be). The one Orbital test on plaintext listeners (test profile): it reads
 * what crosses the wire at the relay; every other runs under mutual TLS ({@link OrbitalRegions}).
 */
class OrbitalIT {

  private static PgStack eu;
  private static PgStack us;
  private static Orbital euOrbital;
  private static Orbital usOrbital;
  private static Relay euToUs;

  @BeforeAll
  static void start() throws Exception {
    Path sharedL1 = Files.createTempDirectory("openkcm-orbital-l1");
    int euPort = Rpc.freePort();
    int usPort = Rpc.freePort();
    int euCore = Rpc.freePort();
    int usCore = Rpc.freePort();
    euToUs = new Relay(usPort);
    eu =
        PgStack.start(
            "eu", region("eu", euPort, euCore, "us", euToUs.port(), usCore, sharedL1), Map.of());
    euOrbital = Orbital.init(eu.core().system()).orElseThrow();
    // the tenant exists (and its L1 key in the shared keystore) before region us starts
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
    us =
        PgStack.start("us", region("us", usPort, usCore, "eu", euPort, euCore, sharedL1), Map.of());
    usOrbital = Orbital.init(us.core().system()).orElseThrow();
  }

  private static Map<String, Object> region(
      String name, int port, int core, String peer, int peerPort, int peerCore, Path sharedL1) {
    Map<String, Object> c = new HashMap<>();
    c.put("openkcm.core.region", name);
    c.put("openkcm.core.grpc.port", core);
    c.put("openkcm.orbital.enabled", true);
    c.put("openkcm.orbital.port", port);
    c.put("openkcm.orbital.min-backoff", "200ms");
    c.put("openkcm.orbital.max-backoff", "1s");
    c.put(
        "openkcm.orbital.peers",
        List.of(
            Map.of(
                "name",
                peer,
                "host",
                "127.0.0.1",
                "port",
                peerPort,
                "core",
                "127.0.0.1:" + peerCore)));
    c.put("openkcm.core.keystore.devfile.directory", sharedL1.toString());
    return c;
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {euOrbital, usOrbital, eu, us, euToUs}) {
      if (c != null) {
        c.close();
      }
    }
  }

  @Test
  void aTenantOfOneRegionServesInTheOtherAndOnlyItsHomeWritesItsLifecycle() throws Exception {
    TenantInfo replica = eventually(() -> tenant(us));
    assertEquals("payments", replica.getServices(0).getServiceId());

    // an envelope made in eu opens in us (the L1 is reachable from both)
    GenerateDataKeyResponse made = generate(eu, "o-1");
    assertArrayEquals(made.getPlaintext().toByteArray(), decrypt(us, made, "o-1"));

    // rotation at home reaches the replica; a key made there opens at home
    eu.admin(
        a ->
            a.rotateServiceKey(
                RotateKeyRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .setRequestedBy("it")
                    .build()));
    eventually(
        () -> {
          assertEquals(2, tenant(us).getServices(0).getL3Version());
          return null;
        });
    GenerateDataKeyResponse madeInUs = generate(us, "o-2");
    assertEquals(2, madeInUs.getL3Version());
    assertArrayEquals(madeInUs.getPlaintext().toByteArray(), decrypt(eu, madeInUs, "o-2"));

    // lifecycle writes belong to the home region: a new service asked in us is forwarded to eu,
    // made there, and comes back to us by replication
    TenantInfo forwarded =
        us.admin(
            a ->
                a.createService(
                    CreateServiceRequest.newBuilder()
                        .setTenantId("acme")
                        .setServiceId("ledger")
                        .build()));
    assertEquals("", forwarded.getHomeRegion(), "answered by the home region itself");
    eventually(
        () -> {
          assertTrue(
              tenant(us).getServicesList().stream()
                  .anyMatch(s -> s.getServiceId().equals("ledger")));
          return null;
        });
    // writes that are not forwarded answer with the redirect
    OpenKcmException notHome =
        assertThrows(
            OpenKcmException.class,
            () ->
                us.admin(
                    a ->
                        a.retireServiceKeys(
                            org.openkcm.protocol.admin.v1.RetireKeysRequest.newBuilder()
                                .setTenantId("acme")
                                .setServiceId("payments")
                                .setBelow(2)
                                .build())));
    assertEquals(ErrorReason.NOT_HOME_REGION, notHome.reason());
    assertTrue(notHome.getMessage().contains("region eu"), notHome.getMessage());

    // a kill in the replica region holds at home too; revive only at home, and it reaches the
    // replica
    us.admin(
        a ->
            a.killTenant(
                KillTenantRequest.newBuilder()
                    .setTenantId("acme")
                    .setReason("breach seen in us")
                    .setRequestedBy("it")
                    .build()));
    eventually(
        () -> {
          OpenKcmException killed = assertThrows(OpenKcmException.class, () -> generate(eu, "o-3"));
          assertEquals(ErrorReason.TENANT_KILLED, killed.reason());
          return null;
        });
    assertEquals(
        ErrorReason.NOT_HOME_REGION,
        assertThrows(
                OpenKcmException.class,
                () ->
                    us.admin(
                        a ->
                            a.reviveTenant(
                                ReviveTenantRequest.newBuilder()
                                    .setTenantId("acme")
                                    .setRequestedBy("it")
                                    .build())))
            .reason());
    eu.admin(
        a ->
            a.reviveTenant(
                ReviveTenantRequest.newBuilder().setTenantId("acme").setRequestedBy("it").build()));
    eventually(
        () -> {
          GenerateDataKeyResponse again = generate(us, "o-4");
          assertArrayEquals(again.getPlaintext().toByteArray(), decrypt(eu, again, "o-4"));
          return null;
        });
  }

  @Test
  void onlyL1OrL2WrappedBlobsCrossTheWireNeverAMasterSealOrAPlainKey() throws Exception {
    eventually(() -> tenant(us));
    byte[] wire = euToUs.sent();
    assertTrue(wire.length > 0, "events went through the relay");
    Serialization serialization = SerializationExtension.get(eu.core().system());
    int blobs = 0;
    for (PostgresSchema.StoredEvent e : eu.db.events("Tenant|acme")) {
      Object event = serialization.deserialize(e.payload(), e.serId(), e.manifest()).get();
      if (event instanceof TenantEntity.TenantOnboarded o) {
        assertFalse(Bytes.indexOf(wire, o.wrappedL2()) >= 0, "eu's master-sealed L2 on the wire");
        blobs++;
      } else if (event instanceof TenantEntity.ServiceCreated c) {
        assertFalse(Bytes.indexOf(wire, c.wrappedL3()) >= 0, "eu's master-sealed L3 on the wire");
        blobs++;
      }
    }
    assertEquals(2, blobs);
    // and what arrived is sealed with us's own master key: us's journal holds other bytes
    for (PostgresSchema.StoredEvent e : us.db.events("Tenant|acme")) {
      for (PostgresSchema.StoredEvent mine : eu.db.events("Tenant|acme")) {
        Object event =
            serialization.deserialize(mine.payload(), mine.serId(), mine.manifest()).get();
        if (event instanceof TenantEntity.TenantOnboarded o) {
          assertFalse(Bytes.indexOf(e.payload(), o.wrappedL2()) >= 0, "eu's seal in us's journal");
        }
      }
    }
  }

  @Test
  void aPinnedServiceNeverLeavesItsHomeRegion() throws Exception {
    eventually(() -> tenant(us));
    eu.admin(
        a ->
            a.createService(
                CreateServiceRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("vault-de")
                    .setPinned(true)
                    .build()));
    eventually(
        () -> {
          assertTrue(
              tenant(us).getServicesList().stream()
                  .anyMatch(s -> s.getServiceId().equals("vault-de") && s.getPinned()),
              "us knows the pinned service exists");
          return null;
        });
    GenerateDataKeyResponse local =
        await(
            eu.app.generateDataKey(
                GenerateDataKeyRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("vault-de")
                    .putContext("order", "p-1")
                    .build()));
    OpenKcmException refused =
        assertThrows(
            OpenKcmException.class,
            () ->
                await(
                    us.app.decrypt(
                        DecryptRequest.newBuilder()
                            .setTenantId("acme")
                            .setEnvelope(local.getEnvelope())
                            .putContext("order", "p-1")
                            .build())));
    assertEquals(ErrorReason.SERVICE_PINNED, refused.reason());
    assertEquals(
        ErrorReason.SERVICE_PINNED,
        assertThrows(
                OpenKcmException.class,
                () ->
                    await(
                        us.app.generateDataKey(
                            GenerateDataKeyRequest.newBuilder()
                                .setTenantId("acme")
                                .setServiceId("vault-de")
                                .build())))
            .reason());

    // the pinned L3's blob (without eu's seal, as it would travel) is nowhere in us nor on the wire
    Serialization serialization = SerializationExtension.get(eu.core().system());
    byte[] raw = null;
    for (PostgresSchema.StoredEvent e : eu.db.events("Tenant|acme")) {
      Object event = serialization.deserialize(e.payload(), e.serId(), e.manifest()).get();
      if (event instanceof TenantEntity.ServiceCreated c && c.serviceId().equals("vault-de")) {
        raw =
            org.openkcm.core.seal.NodeMasterKey.get(eu.core().system())
                .master()
                .open(c.wrappedL3(), "l3:acme:vault-de:1");
      }
    }
    assertTrue(raw != null && raw.length > 32);
    assertFalse(Bytes.indexOf(euToUs.sent(), raw) >= 0, "the pinned L3 went over the wire");
    for (PostgresSchema.StoredEvent e : us.db.events("Tenant|acme")) {
      assertFalse(Bytes.indexOf(e.payload(), raw) >= 0, "the pinned L3 is in us's journal");
    }
    for (byte[] snap : us.db.snapshotPayloads("Tenant|acme")) {
      assertFalse(Bytes.indexOf(snap, raw) >= 0, "the pinned L3 is in a snapshot of us");
    }
  }

  @Test
  void statusShowsEachPeerCaughtUpWithItsLag() throws Exception {
    eventually(() -> tenant(us));
    lag("idle", "svc-", 20);
    // again while both regions serve data keys (4 callers per region, generate + decrypt)
    java.util.concurrent.atomic.AtomicBoolean loaded =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    java.util.concurrent.atomic.AtomicInteger served =
        new java.util.concurrent.atomic.AtomicInteger();
    List<Thread> load = new java.util.ArrayList<>();
    for (PgStack region : List.of(eu, us)) {
      for (int t = 0; t < 4; t++) {
        Thread thread =
            new Thread(
                () -> {
                  for (int i = 0; loaded.get() && i < 20_000; i++) { // bounded
                    try {
                      GenerateDataKeyResponse k = generate(region, "load-" + i);
                      decrypt(region, k, "load-" + i);
                      served.addAndGet(2);
                    } catch (RuntimeException e) {
                      // counted below by what was served
                    }
                  }
                });
        thread.setDaemon(true);
        thread.start();
        load.add(thread);
      }
    }
    long before = served.get();
    long t0 = System.nanoTime();
    lag("under load", "busy-", 20);
    double rate = (served.get() - before) / ((System.nanoTime() - t0) / 1e9);
    loaded.set(false);
    for (Thread t : load) {
      t.join(30_000);
    }
    System.out.printf("ORBITAL LOAD meanwhile: %.0f data-key calls/s over both regions%n", rate);
    var client =
        org.openkcm.protocol.orbital.v1.OrbitalServiceClient.create(
            org.apache.pekko.grpc.GrpcClientSettings.connectToServiceAt(
                    "127.0.0.1", euOrbital.address().getPort(), eu.client.system())
                .withTls(false),
            eu.client.system());
    try {
      var status =
          eventually(
              () -> {
                var r =
                    await(
                        client.status(
                            org.openkcm.protocol.orbital.v1.StatusRequest.getDefaultInstance()));
                assertEquals("eu", r.getRegion());
                assertEquals("us", r.getPeers(0).getPeer());
                assertTrue(r.getPeers(0).getConnected(), r.toString());
                assertEquals(0, r.getPeers(0).getEventsBehind(), r.toString());
                assertTrue(r.getPeers(0).getLastAcknowledgedOffset() > 0, r.toString());
                return r;
              });
      System.out.println("ORBITAL STATUS eu: " + status.toString().replace('\n', ' '));
    } finally {
      client.close();
    }
  }

  /** {@code n} service creations at home, each timed to its effect in the other region. */
  private static void lag(String label, String prefix, int n) {
    long[] lags = new long[n];
    for (int i = 0; i < n; i++) {
      String service = prefix + i;
      long start = System.nanoTime();
      eu.admin(
          a ->
              a.createService(
                  CreateServiceRequest.newBuilder()
                      .setTenantId("acme")
                      .setServiceId(service)
                      .build()));
      eventually(
          () -> {
            assertTrue(
                tenant(us).getServicesList().stream()
                    .anyMatch(x -> x.getServiceId().equals(service)));
            return null;
          });
      lags[i] = (System.nanoTime() - start) / 1_000_000;
    }
    java.util.Arrays.sort(lags);
    System.out.printf(
        "ORBITAL LAG (%s) write in eu -> visible in us (admin round trips included): p50 %d ms,"
            + " p99 %d ms, max %d ms over %d writes%n",
        label, lags[n / 2], lags[(int) (n * 0.99)], lags[n - 1], n);
  }

  // ---------------------------------------------------------------- helpers

  private static TenantInfo tenant(PgStack region) {
    return region.admin(
        a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId("acme").build()));
  }

  /** {@code check} until it holds (replication is asynchronous); bounded. */
  private static <T> T eventually(java.util.concurrent.Callable<T> check) {
    return Eventually.holds(eu.client, Duration.ofSeconds(30), check);
  }

  private static GenerateDataKeyResponse generate(PgStack region, String order) {
    return await(
        region.app.generateDataKey(
            GenerateDataKeyRequest.newBuilder()
                .setTenantId("acme")
                .setServiceId("payments")
                .putContext("order", order)
                .build()));
  }

  private static byte[] decrypt(PgStack region, GenerateDataKeyResponse key, String order) {
    return await(
            region.app.decrypt(
                DecryptRequest.newBuilder()
                    .setTenantId("acme")
                    .setEnvelope(key.getEnvelope())
                    .putContext("order", order)
                    .build()))
        .getPlaintext()
        .toByteArray();
  }
}
