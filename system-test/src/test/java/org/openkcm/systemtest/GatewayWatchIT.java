package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.gateway.GatewayNode;
import org.openkcm.gateway.cache.DekCache;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.KillSwitchRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * A gateway with its DEK cache on: the Core's tenant-event watch flushes it on a kill (a decrypt
 * that would have hit the cache fails), on a global kill-switch, and after a lost connection
 * (re-sync on reconnect).
 */
class GatewayWatchIT {

  private PgStack stack;

  @AfterEach
  void stop() throws Exception {
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void killFlushesTheGatewayCacheAndAReconnectReSyncs() throws Exception {
    stack =
        PgStack.start(
            "watch",
            Map.of(),
            Map.of("openkcm.gateway.cache.enabled", true, "openkcm.gateway.cache.ttl", "5m"));
    GatewayNode gateway = stack.gateway;
    ActorTestKit client = stack.client;
    DataKeyServiceClient app = stack.app;
    DekCache cache = gateway.wiring().cache().orElseThrow();
    admin(
        a ->
            a.createTenant(
                CreateTenantRequest.newBuilder()
                    .setTenantId("acme")
                    .setL1Reference("devfile:acme-root")
                    .build()));
    admin(
        a ->
            a.createService(
                CreateServiceRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .build()));
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            Duration.ofMillis(100),
            () -> {
              assertTrue(gateway.wiring().tenants().isConnected(), "watch connected");
              return null;
            });

    GenerateDataKeyResponse key =
        await(
            app.generateDataKey(
                GenerateDataKeyRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .putContext("row", "1")
                    .build()));
    assertArrayEquals(key.getPlaintext().toByteArray(), decrypt(key)); // from the Core, then cached
    long hits = cache.hits();
    assertArrayEquals(key.getPlaintext().toByteArray(), decrypt(key));
    assertEquals(hits + 1, cache.hits(), "the second decrypt was served from the gateway cache");

    // kill: the watch flushes the cache, so the decrypt that would have hit it goes to the Core and
    // fails
    admin(
        a ->
            a.killTenant(
                KillTenantRequest.newBuilder()
                    .setTenantId("acme")
                    .setReason("drill")
                    .setRequestedBy("it")
                    .build()));
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            Duration.ofMillis(20),
            () -> {
              assertEquals(0, cache.size());
              return null;
            });
    assertEquals(
        ErrorReason.TENANT_KILLED,
        assertThrows(OpenKcmException.class, () -> decrypt(key)).reason());

    admin(
        a ->
            a.reviveTenant(
                ReviveTenantRequest.newBuilder().setTenantId("acme").setRequestedBy("it").build()));
    assertArrayEquals(key.getPlaintext().toByteArray(), decrypt(key));
    assertEquals(1, cache.size(), "cached again after the revival");

    // global kill-switch: flushed as well
    admin(
        a ->
            a.engageKillSwitch(
                KillSwitchRequest.newBuilder().setScope("global").setReason("drill").build()));
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            Duration.ofMillis(20),
            () -> {
              assertEquals(0, cache.size());
              return null;
            });
    assertEquals(
        ErrorReason.TENANT_KILLED,
        assertThrows(OpenKcmException.class, () -> decrypt(key)).reason());
    admin(a -> a.releaseKillSwitch(KillSwitchRequest.newBuilder().setScope("global").build()));
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            Duration.ofMillis(50),
            () -> {
              assertArrayEquals(key.getPlaintext().toByteArray(), decrypt(key));
              assertEquals(1, cache.size());
              return null;
            });

    // the Core goes away: the cache is dropped and nothing is served locally until the watch is
    // back
    stack.stopCore();
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            Duration.ofMillis(50),
            () -> {
              assertEquals(0, cache.size());
              assertTrue(!gateway.wiring().tenants().isConnected());
              return null;
            });
    assertThrows(OpenKcmException.class, () -> decrypt(key), "no Core, no local answer");
    stack.startCore();
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(200),
            () -> {
              assertArrayEquals(key.getPlaintext().toByteArray(), decrypt(key));
              assertTrue(
                  gateway.wiring().tenants().isConnected(),
                  "re-synced through the Core after reconnecting");
              return null;
            });
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

  private <T> T admin(java.util.function.Function<AdminServiceClient, CompletionStage<T>> call) {
    return stack.admin(call);
  }
}
