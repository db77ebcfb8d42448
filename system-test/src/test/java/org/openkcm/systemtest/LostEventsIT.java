package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.gateway.pool.DekPool;
import org.openkcm.gateway.tenantwatch.TenantStates;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.core.v1.TenantEvent;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * Kill propagation that survives lost messages: a gateway whose watch loses the kill (as a network,
 * or a kill issued while the watch is still subscribing, would) stops serving the tenant from its
 * pool within the lease; a lost event is noticed by the next one's sequence; a "blocked" answer
 * from the Core drops the tenant at once.
 */
class LostEventsIT {

  private static final GenerateDataKeyRequest GEN =
      GenerateDataKeyRequest.newBuilder()
          .setTenantId("acme")
          .setServiceId("payments")
          .putContext("row", "1")
          .build();

  private PgStack stack;

  /** Event kinds of tenant acme that the gateway's watch loses. */
  private final Set<String> lost = ConcurrentHashMap.newKeySet();

  @AfterEach
  void stop() throws Exception {
    if (stack != null) {
      stack.close();
    }
  }

  private void start(String lease) throws Exception {
    Predicate<TenantEvent> delivered =
        e -> !(e.getTenantId().equals("acme") && lost.contains(e.getKind()));
    stack =
        PgStack.start(
            "lost-events",
            Map.of(),
            Map.of(
                "openkcm.gateway.watch.lease",
                lease,
                "openkcm.gateway.cache.enabled",
                true,
                "openkcm.gateway.cache.ttl",
                "10m"),
            delivered);
    stack.admin(
        a ->
            a.createTenant(
                CreateTenantRequest.newBuilder()
                    .setTenantId("acme")
                    .setL1Reference("devfile:acme-root")
                    .build()));
    stack.admin(
        a ->
            a.createService(
                CreateServiceRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .build()));
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            Duration.ofMillis(100),
            () -> {
              assertTrue(states().isConnected());
              return null;
            });
    // serve through the Core: the tenant is confirmed; the context comes back, so it gets a pool
    await(stack.app.generateDataKey(GEN));
    await(stack.app.generateDataKey(GEN));
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            Duration.ofMillis(20),
            () -> {
              assertTrue(pool().readyCount() > 0, "pool filled");
              assertTrue(states().mayServeLocally("acme"));
              return null;
            });
  }

  private TenantStates states() {
    return stack.gateway.wiring().tenants();
  }

  private DekPool pool() {
    return stack.gateway.wiring().pool().orElseThrow();
  }

  private void kill() {
    stack.admin(
        a ->
            a.killTenant(
                KillTenantRequest.newBuilder()
                    .setTenantId("acme")
                    .setReason("drill-7")
                    .setRequestedBy("officer-jane")
                    .build()));
  }

  @Test
  void aGatewayThatNeverHearsOfTheKillStopsServingTheTenantLocallyWithinTheLease()
      throws Exception {
    lost.add("killed");
    start("1s");
    kill();
    long killed = System.nanoTime();
    // no traffic at all (so no refill can tell): the lease alone ends local serving
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            Duration.ofMillis(20),
            () -> {
              assertFalse(states().mayServeLocally("acme"), "still served from the pool");
              return null;
            });
    long ms = (System.nanoTime() - killed) / 1_000_000;
    System.out.println(
        "LostEventsIT: with every kill event lost, local serving ended "
            + ms
            + " ms after the kill"
            + " (lease 1 s)");
    assertTrue(pool().readyCount() > 0, "the pool still holds DEKs (the kill event never arrived)");
    OpenKcmException refused =
        assertThrows(OpenKcmException.class, () -> await(stack.app.generateDataKey(GEN)));
    assertEquals(ErrorReason.TENANT_KILLED, refused.reason(), "asked the Core, which refused");
    assertEquals(0, pool().readyCount(), "the Core's refusal dropped the pool");
    assertTrue(ms < 5_000, "local serving ended " + ms + " ms after the kill (lease 1 s)");
  }

  @Test
  void aLostEventIsNoticedByTheNextEventsSequenceAndTheTenantIsReSynced() throws Exception {
    lost.add("killed");
    start("10m"); // the lease does not help here
    kill();
    stack.admin(
        a ->
            a.reviveTenant(
                ReviveTenantRequest.newBuilder().setTenantId("acme").setRequestedBy("it").build()));
    // "revived" arrives with a sequence two past the last one seen: the gateway re-syncs the tenant
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            Duration.ofMillis(20),
            () -> {
              assertEquals(0, pool().readyCount(), "pool of the tenant dropped on the gap");
              return null;
            });
    assertFalse(states().mayServeLocally("acme"));
    GenerateDataKeyResponse fresh = await(stack.app.generateDataKey(GEN));
    assertEquals(
        32, fresh.getPlaintext().size(), "served again after the re-sync through the Core");
  }

  @Test
  void aBlockedAnswerFromTheCoreDropsTheTenantAtOnce() throws Exception {
    lost.add("killed");
    start("10m");
    GenerateDataKeyResponse key = await(stack.app.generateDataKey(GEN));
    assertArrayEquals(key.getPlaintext().toByteArray(), decrypt(key)); // cached now
    kill();
    assertTrue(states().mayServeLocally("acme"), "the gateway has not heard of the kill");
    // a bulk call always goes to the Core, which answers TENANT_KILLED
    OpenKcmException refused =
        assertThrows(
            OpenKcmException.class,
            () ->
                await(
                    stack.app.generateDataKeys(
                        org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest.newBuilder()
                            .setTenantId("acme")
                            .setServiceId("payments")
                            .putContext("row", "1")
                            .setCount(1)
                            .build())));
    assertEquals(ErrorReason.TENANT_KILLED, refused.reason());
    assertFalse(
        refused.getMessage().contains("officer-jane") || refused.getMessage().contains("drill-7"),
        "an application is not told who killed the tenant or why: " + refused.getMessage());
    assertFalse(states().mayServeLocally("acme"), "dropped at once");
    assertEquals(0, pool().readyCount());
    assertEquals(
        ErrorReason.TENANT_KILLED,
        assertThrows(OpenKcmException.class, () -> decrypt(key)).reason(),
        "the cached DEK is not served any more");
  }

  private byte[] decrypt(GenerateDataKeyResponse key) {
    return await(
            stack.app.decrypt(
                DecryptRequest.newBuilder()
                    .setTenantId("acme")
                    .setEnvelope(key.getEnvelope())
                    .putContext("row", "1")
                    .build()))
        .getPlaintext()
        .toByteArray();
  }
}
