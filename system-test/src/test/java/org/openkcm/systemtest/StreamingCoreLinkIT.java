package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.testing.Rpc;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * The gateway's Core link over long-lived bidirectional streams (openkcm.gateway.core.streaming =
 * on), pool off so every GenerateDataKey travels on WrapStream and every Decrypt on UnwrapStream:
 * answers match their requests under concurrency, and a refused request does not end the stream.
 */
class StreamingCoreLinkIT {

  private static DemoStack stack;
  private static ActorTestKit kit;
  private static DataKeyServiceClient app;

  @BeforeAll
  static void start() throws Exception {
    stack =
        DemoStack.start(
            Files.createTempDirectory("openkcm-stream"),
            "test",
            ConfigFactory.empty(),
            ConfigFactory.parseMap(
                Map.of(
                    "openkcm.gateway.core.streaming",
                    true,
                    "openkcm.gateway.pool.enabled",
                    false)));
    stack.ensureTenant("acme", "devfile:acme-root", "payments");
    stack.ensureTenant("globex", "devfile:globex-root", "payments");
    kit = ActorTestKit.create("stream-client");
    app =
        DataKeyServiceClient.create(
            GrpcClientSettings.connectToServiceAt(
                    "127.0.0.1", stack.gateway().grpcAddress().getPort(), kit.system())
                .withTls(false)
                .withDeadline(Rpc.CALL),
            kit.system());
  }

  @AfterAll
  static void stop() {
    app.close();
    kit.shutdownTestKit();
    stack.close();
  }

  private static GenerateDataKeyRequest gen(String tenant, int i) {
    return GenerateDataKeyRequest.newBuilder()
        .setTenantId(tenant)
        .setServiceId("payments")
        .putContext("n", Integer.toString(i))
        .build();
  }

  @Test
  void concurrentCallsGetTheirOwnAnswersOverTheStreams() throws Exception {
    List<CompletableFuture<GenerateDataKeyResponse>> keys = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      keys.add(app.generateDataKey(gen(i % 2 == 0 ? "acme" : "globex", i)).toCompletableFuture());
    }
    CompletableFuture.allOf(keys.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    List<CompletableFuture<ByteString>> opened = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      opened.add(
          app.decrypt(
                  DecryptRequest.newBuilder()
                      .setTenantId(i % 2 == 0 ? "acme" : "globex")
                      .setEnvelope(keys.get(i).get().getEnvelope())
                      .putContext("n", Integer.toString(i))
                      .build())
              .thenApply(r -> r.getPlaintext())
              .toCompletableFuture());
    }
    for (int i = 0; i < keys.size(); i++) {
      // an answer given to the wrong request would hold another DEK, or not open under this context
      assertEquals(
          keys.get(i).get().getPlaintext(), opened.get(i).get(60, TimeUnit.SECONDS), "key " + i);
    }
  }

  @Test
  void aRefusedRequestAnswersItsReasonAndTheStreamGoesOn() {
    assertEquals(
        ErrorReason.TENANT_NOT_FOUND,
        assertThrows(OpenKcmException.class, () -> Rpc.await(app.generateDataKey(gen("nobody", 1))))
            .reason());
    Rpc.admin(
        kit.system(),
        stack.core().grpcAddress().getPort(),
        a ->
            a.killTenant(
                KillTenantRequest.newBuilder()
                    .setTenantId("globex")
                    .setReason("test")
                    .setRequestedBy("it")
                    .build()));
    try {
      assertEquals(
          ErrorReason.TENANT_KILLED,
          assertThrows(
                  OpenKcmException.class, () -> Rpc.await(app.generateDataKey(gen("globex", 2))))
              .reason());
      assertEquals(32, Rpc.await(app.generateDataKey(gen("acme", 3))).getPlaintext().size());
    } finally {
      Rpc.admin(
          kit.system(),
          stack.core().grpcAddress().getPort(),
          a ->
              a.reviveTenant(
                  ReviveTenantRequest.newBuilder()
                      .setTenantId("globex")
                      .setRequestedBy("it")
                      .build()));
    }
  }
}
