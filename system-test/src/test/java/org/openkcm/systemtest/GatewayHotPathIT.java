package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import com.google.protobuf.ByteString;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openkcm.core.testing.Rpc;
import org.openkcm.gateway.pool.DekPool;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptBatchRequest;
import org.openkcm.protocol.gateway.v1.DecryptBatchResponse;
import org.openkcm.protocol.gateway.v1.DecryptItem;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysResponse;

/** The gateway's hot path on the demo stack: pooled data keys, coalesced decrypts, bulk calls. */
class GatewayHotPathIT {

  private DemoStack stack;
  private ActorTestKit client;
  private DataKeyServiceClient app;

  @BeforeEach
  void start() throws Exception {
    stack =
        DemoStack.start(
            Files.createTempDirectory("openkcm-hot"),
            "test",
            ConfigFactory.empty(),
            ConfigFactory.parseMap(
                Map.of(
                    "openkcm.gateway.pool.max-pools", 5,
                    "openkcm.gateway.pool.max-pools-per-tenant", 3)));
    stack.ensureTenant("acme", "devfile:acme-root", "payments");
    stack.ensureTenant("globex", "devfile:globex-root", "payments");
    client =
        ActorTestKit.create(
            "hot-client", ConfigFactory.parseString("pekko.actor.provider = local"));
    app =
        DataKeyServiceClient.create(
            GrpcClientSettings.connectToServiceAt(
                    "127.0.0.1", stack.gateway().grpcAddress().getPort(), client.system())
                .withTls(false)
                .withDeadline(Rpc.CALL),
            client.system());
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            Duration.ofMillis(50),
            () -> {
              assertTrue(stack.gateway().wiring().tenants().isConnected());
              return null;
            });
  }

  @AfterEach
  void stop() {
    app.close();
    client.shutdownTestKit();
    stack.close();
  }

  @Test
  void generateDataKeyIsServedFromAPoolAndPooledKeysOpenWithTheirContext() {
    DekPool pool = stack.gateway().wiring().pool().orElseThrow();
    Map<String, String> ctx = Map.of("table", "orders");
    GenerateDataKeyResponse first = generate("acme", ctx); // direct: confirms the tenant
    assertEquals(0, pool.poolCount("acme"), "a context seen once makes no pool");
    generate("acme", ctx); // the context came back: now it gets a pool
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            Duration.ofMillis(20),
            () -> {
              assertTrue(
                  pool.readyCount() >= 8, "pool filled in the background: " + pool.readyCount());
              return null;
            });
    int before = pool.readyCount();
    GenerateDataKeyResponse pooled = generate("acme", ctx);
    assertEquals(
        before - 1, pool.readyCount(), "answered from the pool, without a Core round trip");
    for (GenerateDataKeyResponse k : List.of(first, pooled)) {
      assertArrayEquals(k.getPlaintext().toByteArray(), decrypt("acme", k.getEnvelope(), ctx));
    }
    assertEquals(
        ErrorReason.ENVELOPE_AUTHENTICATION_FAILED,
        assertThrows(OpenKcmException.class, () -> decrypt("acme", pooled.getEnvelope(), Map.of()))
            .reason());

    // a kill drops the pool at once (its plaintexts wiped) and the next request reaches the Core
    Rpc.admin(
        client.system(),
        stack.core().grpcAddress().getPort(),
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
              assertEquals(0, pool.readyCount());
              return null;
            });
    assertEquals(
        ErrorReason.TENANT_KILLED,
        assertThrows(OpenKcmException.class, () -> generate("acme", ctx)).reason());
  }

  @Test
  void aUniqueContextPerCallMakesNoPoolAndNoMoreCoreWrapsThanCalls() {
    DekPool pool = stack.gateway().wiring().pool().orElseThrow();
    long before = wraps("acme");
    int calls = 40;
    for (int i = 0; i < calls; i++) {
      generate("acme", Map.of("row", "r-" + i));
    }
    assertEquals(0, pool.poolCount("acme"), "no pool for contexts that never came back");
    assertEquals(
        0, pool.readyCount(), "no pooled DEK waiting for a context nobody will send again");
    assertEquals(calls, wraps("acme") - before, "one Core wrap per call, not a pool refill each");
  }

  @Test
  void concurrentUniqueContextCallsShareCoreWrapCallsAndEachGetsItsOwnKey() {
    long keysBefore = wraps("acme");
    long callsBefore = coreCalls("WrapKeys");
    int calls = 200;
    List<CompletableFuture<GenerateDataKeyResponse>> keys = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      keys.add(
          app.generateDataKey(
                  GenerateDataKeyRequest.newBuilder()
                      .setTenantId("acme")
                      .setServiceId("payments")
                      .putContext("row", "c-" + i)
                      .build())
              .toCompletableFuture());
    }
    java.util.Set<ByteString> distinct = new java.util.HashSet<>();
    for (int i = 0; i < calls; i++) {
      GenerateDataKeyResponse k = await(keys.get(i));
      distinct.add(k.getPlaintext());
      // an envelope handed to the wrong caller would not open under this caller's context
      assertArrayEquals(
          k.getPlaintext().toByteArray(),
          await(
                  app.decrypt(
                      DecryptRequest.newBuilder()
                          .setTenantId("acme")
                          .setEnvelope(k.getEnvelope())
                          .putContext("row", "c-" + i)
                          .build()))
              .getPlaintext()
              .toByteArray(),
          "key " + i);
    }
    assertEquals(calls, distinct.size(), "every caller got a key of its own");
    assertEquals(calls, wraps("acme") - keysBefore, "one wrapped key per call, no more");
    long coreCalls = coreCalls("WrapKeys") - callsBefore;
    assertTrue(
        coreCalls < calls / 2,
        calls + " concurrent calls went to the Core in " + coreCalls + " WrapKeys calls");
  }

  /** WrapKeys/UnwrapKeys calls the Core answered OK so far (its RPC metrics). */
  private long coreCalls(String method) {
    return (long)
        org.openkcm.node.metrics.NodeMetrics.get(stack.core().system())
            .rpc
            .collect()
            .getDataPoints()
            .stream()
            .filter(
                d ->
                    method.equals(d.getLabels().get("method"))
                        && "OK".equals(d.getLabels().get("outcome")))
            .mapToLong(d -> d.getCount())
            .sum();
  }

  @Test
  void aTenantPastItsPoolQuotaLosesItsOwnPoolsNotAnothers() {
    DekPool pool = stack.gateway().wiring().pool().orElseThrow();
    for (int i = 0; i < 2; i++) {
      generate("globex", Map.of("table", "t" + i));
      generate("globex", Map.of("table", "t" + i));
    }
    assertEquals(2, pool.poolCount("globex"));
    for (int i = 0; i < 6; i++) {
      generate("acme", Map.of("table", "t" + i));
      generate("acme", Map.of("table", "t" + i));
    }
    assertEquals(3, pool.poolCount("acme"), "acme holds its quota (3), no more");
    assertEquals(2, pool.poolCount("globex"), "globex keeps its pools");
    assertTrue(pool.poolCount() <= 5, "within the total: " + pool.poolCount());
  }

  /** Every wrap the Core made for tenant {@code tenant}'s service payments, all L3 versions. */
  private long wraps(String tenant) {
    return Rpc.<org.openkcm.protocol.admin.v1.TenantInfo>admin(
            client.system(),
            stack.core().grpcAddress().getPort(),
            a ->
                a.getTenant(
                    org.openkcm.protocol.admin.v1.GetTenantRequest.newBuilder()
                        .setTenantId(tenant)
                        .build()))
        .getServicesList()
        .stream()
        .filter(s -> s.getServiceId().equals("payments"))
        .flatMap(s -> s.getVersionsList().stream())
        .mapToLong(v -> v.getWraps())
        .sum();
  }

  @Test
  void concurrentDecryptsAreCoalescedAndEachGetsItsOwnKey() {
    GenerateDataKeysResponse keys =
        await(
            app.generateDataKeys(
                GenerateDataKeysRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .setCount(200)
                    .build()));
    assertEquals(200, keys.getKeysCount());
    long unwrapsBefore = coreCalls("UnwrapKeys");
    List<CompletableFuture<byte[]>> opened = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      opened.add(
          app.decrypt(
                  DecryptRequest.newBuilder()
                      .setTenantId("acme")
                      .setEnvelope(keys.getKeys(i).getEnvelope())
                      .build())
              .thenApply(r -> r.getPlaintext().toByteArray())
              .toCompletableFuture());
    }
    for (int i = 0; i < 200; i++) {
      assertArrayEquals(
          keys.getKeys(i).getPlaintext().toByteArray(), await(opened.get(i)), "key " + i);
    }
    long unwrapCalls = coreCalls("UnwrapKeys") - unwrapsBefore;
    assertTrue(unwrapCalls < 100, "200 concurrent Decrypts took " + unwrapCalls + " UnwrapKeys");
  }

  @Test
  void bulkDecryptAnswersEveryItemOnItsOwn() {
    GenerateDataKeysResponse acme =
        await(
            app.generateDataKeys(
                GenerateDataKeysRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .setCount(3)
                    .putContext("k", "v")
                    .build()));
    GenerateDataKeysResponse globex =
        await(
            app.generateDataKeys(
                GenerateDataKeysRequest.newBuilder()
                    .setTenantId("globex")
                    .setServiceId("payments")
                    .setCount(1)
                    .build()));
    byte[] tampered = acme.getKeys(2).getEnvelope().toByteArray();
    tampered[tampered.length - 1] ^= 1;
    DecryptBatchResponse r =
        await(
            app.decryptBatch(
                DecryptBatchRequest.newBuilder()
                    .setTenantId("acme")
                    .addItems(item(acme.getKeys(0).getEnvelope(), Map.of("k", "v")))
                    .addItems(item(acme.getKeys(1).getEnvelope(), Map.of("k", "other")))
                    .addItems(item(ByteString.copyFrom(tampered), Map.of("k", "v")))
                    .addItems(item(globex.getKeys(0).getEnvelope(), Map.of()))
                    .addItems(item(ByteString.copyFromUtf8("junk"), Map.of()))
                    .build()));
    assertArrayEquals(
        acme.getKeys(0).getPlaintext().toByteArray(), r.getResults(0).getPlaintext().toByteArray());
    assertEquals("ENVELOPE_AUTHENTICATION_FAILED", r.getResults(1).getError().getReason());
    assertEquals("ENVELOPE_AUTHENTICATION_FAILED", r.getResults(2).getError().getReason());
    assertEquals("ENVELOPE_TENANT_MISMATCH", r.getResults(3).getError().getReason());
    assertEquals("ENVELOPE_BAD_MAGIC", r.getResults(4).getError().getReason());
    assertEquals(
        ErrorReason.INVALID_ARGUMENT,
        assertThrows(
                OpenKcmException.class,
                () ->
                    await(
                        app.generateDataKeys(
                            GenerateDataKeysRequest.newBuilder()
                                .setTenantId("acme")
                                .setServiceId("payments")
                                .setCount(0)
                                .build())))
            .reason());
    assertEquals(
        ErrorReason.INVALID_ARGUMENT,
        assertThrows(
                OpenKcmException.class,
                () ->
                    await(
                        app.decryptBatch(
                            DecryptBatchRequest.newBuilder().setTenantId("acme").build())))
            .reason());
  }

  private static DecryptItem item(ByteString envelope, Map<String, String> ctx) {
    return DecryptItem.newBuilder().setEnvelope(envelope).putAllContext(ctx).build();
  }

  private GenerateDataKeyResponse generate(String tenant, Map<String, String> ctx) {
    return await(
        app.generateDataKey(
            GenerateDataKeyRequest.newBuilder()
                .setTenantId(tenant)
                .setServiceId("payments")
                .putAllContext(ctx)
                .build()));
  }

  private byte[] decrypt(String tenant, ByteString envelope, Map<String, String> ctx) {
    return await(
            app.decrypt(
                DecryptRequest.newBuilder()
                    .setTenantId(tenant)
                    .setEnvelope(envelope)
                    .putAllContext(ctx)
                    .build()))
        .getPlaintext()
        .toByteArray();
  }
}
