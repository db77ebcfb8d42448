package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.testing.Rpc;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapKeysResponse;
import org.openkcm.protocol.core.v1.WrapItem;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapKeysResponse;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DestroyBySubjectRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest;

/**
 * Limits on every request field, over the real gRPC endpoints: each refusal is INVALID_ARGUMENT
 * naming the field (or RESOURCE_EXHAUSTED for an oversized request), nothing is changed by a
 * refused call, free text cannot forge log lines; and a client flooding the gateway does not starve
 * another client.
 */
class HostileInputIT {

  private static final int MAX_BATCH = 8;
  private static final GenerateDataKeyRequest GEN =
      GenerateDataKeyRequest.newBuilder().setTenantId("acme").setServiceId("payments").build();

  private static DemoStack stack;
  private static ActorTestKit kit;
  private static DataKeyServiceClient gateway;
  private static org.openkcm.protocol.gateway.v1.KeyVaultServiceClient vault;
  private static CoreKeyServiceClient core;

  @BeforeAll
  static void start() throws Exception {
    Config coreLimits = ConfigFactory.parseMap(Map.of("openkcm.core.grpc.max-batch", MAX_BATCH));
    Config gatewayLimits =
        ConfigFactory.parseMap(
            Map.of(
                "openkcm.gateway.max-batch",
                MAX_BATCH,
                "openkcm.gateway.grpc.max-request-size",
                "64 KiB",
                "openkcm.gateway.grpc.max-concurrent-calls-per-connection",
                16));
    stack =
        DemoStack.start(
            Files.createTempDirectory("openkcm-hostile"), "test", coreLimits, gatewayLimits);
    stack.ensureTenant("acme", "devfile:acme-root", "payments");
    kit = ActorTestKit.create("hostile-client");
    gateway = DataKeyServiceClient.create(gatewaySettings(), kit.system());
    vault =
        org.openkcm.protocol.gateway.v1.KeyVaultServiceClient.create(
            gatewaySettings(), kit.system());
    core =
        CoreKeyServiceClient.create(
            GrpcClientSettings.connectToServiceAt(
                    "127.0.0.1", stack.core().grpcAddress().getPort(), kit.system())
                .withTls(false)
                .withDeadline(Rpc.CALL),
            kit.system());
  }

  private static GrpcClientSettings gatewaySettings() {
    return GrpcClientSettings.connectToServiceAt(
            "127.0.0.1", stack.gateway().grpcAddress().getPort(), kit.system())
        .withTls(false)
        .withDeadline(Rpc.CALL);
  }

  @AfterAll
  static void stop() {
    gateway.close();
    vault.close();
    core.close();
    kit.shutdownTestKit();
    stack.close();
  }

  private static void assertInvalid(
      String field, Supplier<java.util.concurrent.CompletionStage<?>> call) {
    OpenKcmException e = assertThrows(OpenKcmException.class, () -> Rpc.await(call.get()));
    assertEquals(ErrorReason.INVALID_ARGUMENT, e.reason(), e.getMessage());
    assertTrue(e.getMessage().startsWith(field), "names " + field + ": " + e.getMessage());
  }

  @Test
  void theCoreRefusesOversizedBatchesAndItemsNamingTheField() {
    WrapKeysRequest.Builder wrap =
        WrapKeysRequest.newBuilder().setTenantId("acme").setServiceId("payments");
    for (int i = 0; i <= MAX_BATCH; i++) {
      wrap.addItems(WrapItem.newBuilder().setPlaintext(ByteString.copyFrom(new byte[32])));
    }
    assertInvalid(
        "items must hold 1..8 items (openkcm.core.grpc.max-batch)",
        () -> core.wrapKeys(wrap.build()));
    assertInvalid("items", () -> core.wrapKeys(wrap.clearItems().build()));
    assertInvalid(
        "items[0].plaintext",
        () ->
            core.wrapKeys(
                wrap.clearItems()
                    .addItems(WrapItem.newBuilder().setPlaintext(ByteString.copyFrom(new byte[20])))
                    .build()));
    assertInvalid(
        "items[0].envelope",
        () ->
            core.unwrapKeys(
                UnwrapKeysRequest.newBuilder()
                    .setTenantId("acme")
                    .addItems(
                        UnwrapItem.newBuilder().setEnvelope(ByteString.copyFrom(new byte[100_000])))
                    .build()));
    assertInvalid(
        "correlation_id",
        () ->
            core.wrapKeys(
                wrap.clearItems()
                    .addItems(WrapItem.newBuilder().setPlaintext(ByteString.copyFrom(new byte[32])))
                    .setCorrelationId("x\ntenant.kill tenant=acme outcome=ok")
                    .build()));
  }

  @Test
  void aSharedContextBindsEveryKeyOfTheBatchAndCannotBeMixedWithItemContexts() {
    ByteString k0 = ByteString.copyFrom(new byte[32]);
    ByteString k1 =
        ByteString.copyFrom(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
    WrapKeysResponse wrapped =
        Rpc.await(
            core.wrapKeys(
                WrapKeysRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .putSharedContext("table", "orders")
                    .addItems(WrapItem.newBuilder().setPlaintext(k0))
                    .addItems(WrapItem.newBuilder().setPlaintext(k1))
                    .build()));
    // each envelope is bound to the shared context: it opens under it, given per item or shared,
    // and under no other
    UnwrapKeysResponse perItem =
        Rpc.await(
            core.unwrapKeys(
                UnwrapKeysRequest.newBuilder()
                    .setTenantId("acme")
                    .addItems(
                        UnwrapItem.newBuilder()
                            .setEnvelope(wrapped.getEnvelopes(0))
                            .putContext("table", "orders"))
                    .addItems(UnwrapItem.newBuilder().setEnvelope(wrapped.getEnvelopes(1)))
                    .build()));
    assertEquals(k0, perItem.getResults(0).getPlaintext());
    assertEquals("ENVELOPE_AUTHENTICATION_FAILED", perItem.getResults(1).getError().getReason());
    UnwrapKeysResponse shared =
        Rpc.await(
            core.unwrapKeys(
                UnwrapKeysRequest.newBuilder()
                    .setTenantId("acme")
                    .putSharedContext("table", "orders")
                    .addItems(UnwrapItem.newBuilder().setEnvelope(wrapped.getEnvelopes(0)))
                    .addItems(UnwrapItem.newBuilder().setEnvelope(wrapped.getEnvelopes(1)))
                    .build()));
    assertEquals(k0, shared.getResults(0).getPlaintext());
    assertEquals(k1, shared.getResults(1).getPlaintext());
    assertInvalid(
        "items[1] carries an encryption context and the request a shared_context",
        () ->
            core.wrapKeys(
                WrapKeysRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .putSharedContext("table", "orders")
                    .addItems(WrapItem.newBuilder().setPlaintext(k0))
                    .addItems(WrapItem.newBuilder().setPlaintext(k0).putContext("table", "users"))
                    .build()));
  }

  @Test
  void theGatewayRefusesBadFieldsNamingThem() {
    assertInvalid(
        "count must be 1..8",
        () ->
            gateway.generateDataKeys(
                GenerateDataKeysRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .setCount(MAX_BATCH + 1)
                    .build()));
    assertInvalid(
        "correlation_id",
        () ->
            gateway.generateDataKey(
                GEN.toBuilder().setCorrelationId("forged\r\naudit line").build()));
    assertInvalid(
        "subject",
        () ->
            vault.destroyBySubject(
                DestroyBySubjectRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .setSubject("user\n42")
                    .build()));
    assertInvalid(
        "tenant id", () -> gateway.generateDataKey(GEN.toBuilder().setTenantId("ACME!").build()));
    // a request over the per-connection size limit is refused by the transport
    StatusRuntimeException big =
        assertThrows(
            StatusRuntimeException.class,
            () -> {
              try {
                gateway
                    .generateDataKey(GEN.toBuilder().putContext("k", "v".repeat(100_000)).build())
                    .toCompletableFuture()
                    .get(30, TimeUnit.SECONDS);
              } catch (java.util.concurrent.ExecutionException e) {
                throw e.getCause();
              }
            });
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, big.getStatus().getCode(), big.getMessage());
    assertEquals(
        32, Rpc.await(gateway.generateDataKey(GEN)).getPlaintext().size(), "still serving");
  }

  /**
   * Seeded: 20,000 valid requests with mutated bytes (bit flips, cut, spliced random bytes,
   * re-parsed) and random field values, 64 in flight. Every answer is a success or a named reason
   * with a message — never INTERNAL, never a timeout — and the gateway serves normally afterwards.
   * Replay: OPENKCM_FUZZ_SEED.
   */
  @Test
  void mutatedRequestsGetNamedAnswersAndNothingHangs() throws Exception {
    long seed =
        System.getenv("OPENKCM_FUZZ_SEED") != null
            ? Long.parseLong(System.getenv("OPENKCM_FUZZ_SEED"))
            : System.nanoTime();
    System.out.println(
        "request fuzz seed " + seed + " (replay with OPENKCM_FUZZ_SEED=" + seed + ")");
    java.util.Random random = new java.util.Random(seed);
    ByteString envelope = Rpc.await(gateway.generateDataKey(GEN)).getEnvelope();
    List<com.google.protobuf.Message> templates =
        List.of(
            GEN,
            org.openkcm.protocol.gateway.v1.DecryptRequest.newBuilder()
                .setTenantId("acme")
                .setEnvelope(envelope)
                .build(),
            GenerateDataKeysRequest.newBuilder()
                .setTenantId("acme")
                .setServiceId("payments")
                .setCount(4)
                .build(),
            org.openkcm.protocol.gateway.v1.DecryptBatchRequest.newBuilder()
                .setTenantId("acme")
                .addItems(
                    org.openkcm.protocol.gateway.v1.DecryptItem.newBuilder().setEnvelope(envelope))
                .build(),
            org.openkcm.protocol.gateway.v1.CreateKeyRequest.newBuilder()
                .setTenantId("acme")
                .setServiceId("payments")
                .setSubject("user-1")
                .build(),
            org.openkcm.protocol.gateway.v1.GetKeyRequest.newBuilder()
                .setTenantId("acme")
                .setServiceId("payments")
                .setKeyId("k_0123456789abcdef0123456789abcdef")
                .build(),
            DestroyBySubjectRequest.newBuilder()
                .setTenantId("acme")
                .setServiceId("payments")
                .setSubject("nobody")
                .build());
    Map<String, AtomicLong> outcomes = new java.util.concurrent.ConcurrentHashMap<>();
    List<String> unclear = java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(64);
    int sent = 0;
    for (int i = 0; i < 20_000; i++) {
      com.google.protobuf.Message template = templates.get(random.nextInt(templates.size()));
      com.google.protobuf.Message request;
      try {
        request = template.getParserForType().parseFrom(mutate(template.toByteArray(), random));
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        continue; // bytes no client library would send
      }
      inFlight.acquire();
      sent++;
      send(request)
          .whenComplete(
              (ok, failure) -> {
                inFlight.release();
                String outcome;
                if (failure == null) {
                  outcome = "ok";
                } else {
                  OpenKcmException e = org.openkcm.protocol.error.GrpcErrors.fromGrpc(failure);
                  outcome = e.reason().name();
                  boolean transportLimit = e.getMessage().startsWith("RESOURCE_EXHAUSTED");
                  if ((e.reason() == ErrorReason.INTERNAL && !transportLimit)
                      || e.reason() == ErrorReason.TIMEOUT
                      || e.getMessage() == null
                      || e.getMessage().isBlank()) {
                    unclear.add(request.getClass().getSimpleName() + ": " + e.oneLine());
                  }
                }
                outcomes.computeIfAbsent(outcome, k -> new AtomicLong()).incrementAndGet();
              });
    }
    assertTrue(inFlight.tryAcquire(64, 60, TimeUnit.SECONDS), "every call answered");
    inFlight.release(64);
    System.out.println(
        "request fuzz: " + sent + " requests sent, outcomes " + new java.util.TreeMap<>(outcomes));
    assertTrue(
        unclear.isEmpty(),
        unclear.size()
            + " unclear answers, e.g. "
            + unclear.subList(0, Math.min(5, unclear.size())));
    assertTrue(sent > 5_000, "enough mutations parsed: " + sent);
    assertEquals(
        32, Rpc.await(gateway.generateDataKey(GEN)).getPlaintext().size(), "still serving");
  }

  private static byte[] mutate(byte[] valid, java.util.Random random) {
    byte[] b = valid.clone();
    switch (random.nextInt(4)) {
      case 0 -> {
        for (int n = 1 + random.nextInt(3); n > 0 && b.length > 0; n--) {
          b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
        }
      }
      case 1 -> b = java.util.Arrays.copyOf(b, random.nextInt(b.length + 1));
      case 2 -> {
        byte[] junk = new byte[1 + random.nextInt(40)];
        random.nextBytes(junk);
        int at = random.nextInt(b.length + 1);
        byte[] out = new byte[b.length + junk.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(junk, 0, out, at, junk.length);
        System.arraycopy(b, at, out, at + junk.length, b.length - at);
        b = out;
      }
      default -> {
        if (b.length > 0) {
          b[random.nextInt(b.length)] = (byte) random.nextInt(256);
        }
      }
    }
    return b;
  }

  private static java.util.concurrent.CompletionStage<?> send(com.google.protobuf.Message m) {
    if (m instanceof GenerateDataKeyRequest r) {
      return gateway.generateDataKey(r);
    } else if (m instanceof org.openkcm.protocol.gateway.v1.DecryptRequest r) {
      return gateway.decrypt(r);
    } else if (m instanceof GenerateDataKeysRequest r) {
      return gateway.generateDataKeys(r);
    } else if (m instanceof org.openkcm.protocol.gateway.v1.DecryptBatchRequest r) {
      return gateway.decryptBatch(r);
    } else if (m instanceof org.openkcm.protocol.gateway.v1.CreateKeyRequest r) {
      return vault.createKey(r);
    } else if (m instanceof org.openkcm.protocol.gateway.v1.GetKeyRequest r) {
      return vault.getKey(r);
    }
    return vault.destroyBySubject((DestroyBySubjectRequest) m);
  }

  @Test
  void adminFreeTextWithControlCharactersIsRefusedAndChangesNothing() {
    OpenKcmException e =
        assertThrows(
            OpenKcmException.class,
            () ->
                Rpc.admin(
                    kit.system(),
                    stack.core().grpcAddress().getPort(),
                    a ->
                        a.killTenant(
                            KillTenantRequest.newBuilder()
                                .setTenantId("acme")
                                .setReason(
                                    "maintenance\n12:00:00 INFO audit - tenant.revive tenant=acme")
                                .build())));
    assertEquals(ErrorReason.INVALID_ARGUMENT, e.reason());
    assertTrue(
        e.getMessage().startsWith("reason must not contain control characters"), e.getMessage());
    assertEquals(
        "active",
        Rpc.admin(
                kit.system(),
                stack.core().grpcAddress().getPort(),
                a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId("acme").build()))
            .getStatus());
  }

  @Test
  void aFloodingClientDoesNotStarveAnother() throws Exception {
    Rpc.await(gateway.generateDataKey(GEN)); // pool warm
    DataKeyServiceClient flooder = DataKeyServiceClient.create(gatewaySettings(), kit.system());
    AtomicLong flooded = new AtomicLong();
    AtomicLong floodFailures = new AtomicLong();
    long floodUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
    List<CompletableFuture<Void>> floods = new ArrayList<>();
    try {
      // 2,000 calls kept in flight on one connection (the server admits 16 at a time on it)
      for (int i = 0; i < 2_000; i++) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        flood(flooder, floodUntil, flooded, floodFailures, done);
        floods.add(done);
      }
      Histogram victim = new Histogram(3);
      for (int i = 0; i < 300; i++) {
        long t0 = System.nanoTime();
        assertEquals(32, Rpc.await(gateway.generateDataKey(GEN)).getPlaintext().size());
        victim.recordValue(System.nanoTime() - t0);
      }
      CompletableFuture.allOf(floods.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      System.out.printf(
          "flooding: %d flood calls (%d failed); the other client's 300 calls: p50 %.2f ms, p99 %.2f ms,"
              + " max %.2f ms%n",
          flooded.get(),
          floodFailures.get(),
          victim.getValueAtPercentile(50) / 1e6,
          victim.getValueAtPercentile(99) / 1e6,
          victim.getMaxValue() / 1e6);
      assertTrue(flooded.get() > 2_000, "the flood really ran");
      // every call of the other client was answered, none waited anywhere near its deadline
      assertTrue(
          victim.getMaxValue() < Duration.ofSeconds(5).toNanos(),
          "slowest call of the other client took " + victim.getMaxValue() / 1e6 + " ms");
    } finally {
      flooder.close();
    }
  }

  private static void flood(
      DataKeyServiceClient c,
      long until,
      AtomicLong count,
      AtomicLong failures,
      CompletableFuture<Void> done) {
    if (System.nanoTime() > until) {
      done.complete(null);
      return;
    }
    c.generateDataKey(GEN)
        .whenComplete(
            (ok, failure) -> {
              count.incrementAndGet();
              if (failure != null) {
                failures.incrementAndGet();
              }
              flood(c, until, count, failures, done);
            });
  }
}
