package org.openkcm.cli;

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
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapItem;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DestroyBySubjectRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest;

/**
 * Limits on every request field, over the real gRPC endpoints: each refusal is INVALID_ARGUMENT naming the
 * field (or RESOURCE_EXHAUSTED for an oversized request), nothing is changed by a refused call, free text
 * cannot forge log lines; and a client flooding the gateway does not starve another client.
 */
class HostileInputIT {

  private static final int MAX_BATCH = 8;
  private static final GenerateDataKeyRequest GEN = GenerateDataKeyRequest.newBuilder().setTenantId("acme")
      .setServiceId("payments").build();

  private static DemoStack stack;
  private static ActorTestKit kit;
  private static DataKeyServiceClient gateway;
  private static CoreKeyServiceClient core;

  @BeforeAll
  static void start() throws Exception {
    Config coreLimits = ConfigFactory.parseMap(Map.of("openkcm.core.grpc.max-batch", MAX_BATCH));
    Config gatewayLimits = ConfigFactory.parseMap(Map.of("openkcm.gateway.max-batch", MAX_BATCH,
        "openkcm.gateway.grpc.max-request-size", "64 KiB", "openkcm.gateway.grpc.max-concurrent-calls-per-connection", 16));
    stack = DemoStack.start(Files.createTempDirectory("openkcm-hostile"), "test", coreLimits, gatewayLimits);
    stack.ensureTenant("acme", "devfile:acme-root", "payments");
    kit = ActorTestKit.create("hostile-client");
    gateway = DataKeyServiceClient.create(gatewaySettings(), kit.system());
    core = CoreKeyServiceClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1",
        stack.core().grpcAddress().getPort(), kit.system()).withTls(false).withDeadline(Rpc.CALL), kit.system());
  }

  private static GrpcClientSettings gatewaySettings() {
    return GrpcClientSettings.connectToServiceAt("127.0.0.1", stack.gateway().grpcAddress().getPort(), kit.system())
        .withTls(false).withDeadline(Rpc.CALL);
  }

  @AfterAll
  static void stop() {
    gateway.close();
    core.close();
    kit.shutdownTestKit();
    stack.close();
  }

  private static void assertInvalid(String field, Supplier<java.util.concurrent.CompletionStage<?>> call) {
    OpenKcmException e = assertThrows(OpenKcmException.class, () -> Rpc.await(call.get()));
    assertEquals(ErrorReason.INVALID_ARGUMENT, e.reason(), e.getMessage());
    assertTrue(e.getMessage().startsWith(field), "names " + field + ": " + e.getMessage());
  }

  @Test
  void theCoreRefusesOversizedBatchesAndItemsNamingTheField() {
    WrapKeysRequest.Builder wrap = WrapKeysRequest.newBuilder().setTenantId("acme").setServiceId("payments");
    for (int i = 0; i <= MAX_BATCH; i++) {
      wrap.addItems(WrapItem.newBuilder().setPlaintext(ByteString.copyFrom(new byte[32])));
    }
    assertInvalid("items must hold 1..8 items (openkcm.core.grpc.max-batch)", () -> core.wrapKeys(wrap.build()));
    assertInvalid("items", () -> core.wrapKeys(wrap.clearItems().build()));
    assertInvalid("items[0].plaintext", () -> core.wrapKeys(wrap.clearItems()
        .addItems(WrapItem.newBuilder().setPlaintext(ByteString.copyFrom(new byte[65]))).build()));
    assertInvalid("items[0].envelope", () -> core.unwrapKeys(UnwrapKeysRequest.newBuilder().setTenantId("acme")
        .addItems(UnwrapItem.newBuilder().setEnvelope(ByteString.copyFrom(new byte[100_000]))).build()));
    assertInvalid("correlation_id", () -> core.wrapKeys(wrap.clearItems()
        .addItems(WrapItem.newBuilder().setPlaintext(ByteString.copyFrom(new byte[32])))
        .setCorrelationId("x\ntenant.kill tenant=acme outcome=ok").build()));
  }

  @Test
  void theGatewayRefusesBadFieldsNamingThem() {
    assertInvalid("count must be 1..8", () -> gateway.generateDataKeys(GenerateDataKeysRequest.newBuilder()
        .setTenantId("acme").setServiceId("payments").setCount(MAX_BATCH + 1).build()));
    assertInvalid("correlation_id", () -> gateway.generateDataKey(GEN.toBuilder()
        .setCorrelationId("forged\r\naudit line").build()));
    assertInvalid("subject", () -> gateway.destroyBySubject(DestroyBySubjectRequest.newBuilder()
        .setTenantId("acme").setSubject("user\n42").build()));
    assertInvalid("tenant id", () -> gateway.generateDataKey(GEN.toBuilder().setTenantId("ACME!").build()));
    // a request over the per-connection size limit is refused by the transport
    StatusRuntimeException big = assertThrows(StatusRuntimeException.class, () -> {
      try {
        gateway.generateDataKey(GEN.toBuilder().putContext("k", "v".repeat(100_000)).build())
            .toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        throw e.getCause();
      }
    });
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, big.getStatus().getCode(), big.getMessage());
    assertEquals(32, Rpc.await(gateway.generateDataKey(GEN)).getPlaintext().size(), "still serving");
  }

  @Test
  void adminFreeTextWithControlCharactersIsRefusedAndChangesNothing() {
    OpenKcmException e = assertThrows(OpenKcmException.class, () -> Rpc.admin(kit.system(),
        stack.core().grpcAddress().getPort(), a -> a.killTenant(KillTenantRequest.newBuilder().setTenantId("acme")
            .setReason("maintenance\n12:00:00 INFO audit - tenant.revive tenant=acme").build())));
    assertEquals(ErrorReason.INVALID_ARGUMENT, e.reason());
    assertTrue(e.getMessage().startsWith("reason must not contain control characters"), e.getMessage());
    assertEquals("active", Rpc.admin(kit.system(), stack.core().grpcAddress().getPort(),
        a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId("acme").build())).getStatus());
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
      System.out.printf("flooding: %d flood calls (%d failed); the other client's 300 calls: p50 %.2f ms, p99 %.2f ms,"
              + " max %.2f ms%n", flooded.get(), floodFailures.get(), victim.getValueAtPercentile(50) / 1e6,
          victim.getValueAtPercentile(99) / 1e6, victim.getMaxValue() / 1e6);
      assertTrue(flooded.get() > 2_000, "the flood really ran");
      // every call of the other client was answered, none waited anywhere near its deadline
      assertTrue(victim.getMaxValue() < Duration.ofSeconds(5).toNanos(),
          "slowest call of the other client took " + victim.getMaxValue() / 1e6 + " ms");
    } finally {
      flooder.close();
    }
  }

  private static void flood(DataKeyServiceClient c, long until, AtomicLong count, AtomicLong failures,
      CompletableFuture<Void> done) {
    if (System.nanoTime() > until) {
      done.complete(null);
      return;
    }
    c.generateDataKey(GEN).whenComplete((ok, failure) -> {
      count.incrementAndGet();
      if (failure != null) {
        failures.incrementAndGet();
      }
      flood(c, until, count, failures, done);
    });
  }
}
