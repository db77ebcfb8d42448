package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.core.testing.Rpc;
import org.openkcm.node.health.NodeHealth;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.InitSealRequest;
import org.openkcm.protocol.admin.v1.UnsealRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;

/**
 * Kubernetes' probes over real HTTP on Pekko Management: a sealed Core is alive but not ready (and
 * says why), becomes ready when unsealed; a gateway is ready while the Core's tenant-event stream
 * is connected and alive but not ready while the Core is down.
 */
class HealthProbesIT {

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private PgStack stack;

  @AfterEach
  void stop() throws Exception {
    if (stack != null) {
      stack.close();
    }
  }

  record Probe(int status, String body) {}

  private static Probe probe(ActorSystem<?> node, String path) throws Exception {
    URI base =
        NodeHealth.get(node).management().orElseThrow(() -> new AssertionError("no management"));
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString());
    return new Probe(r.statusCode(), r.body());
  }

  private void eventually(ActorSystem<?> node, String path, int status, String bodyPart) {
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(200),
            () -> {
              Probe p = probe(node, path);
              assertEquals(status, p.status(), path + ": " + p.body());
              assertTrue(p.body().contains(bodyPart), path + ": " + p.body());
              return null;
            });
  }

  @Test
  void aSealedCoreIsAliveButNotReadyAndAGatewayFollowsItsCoreLink() throws Exception {
    stack = PgStack.start("health", Map.of("openkcm.core.seal.mode", "shamir"), Map.of());
    ActorSystem<?> gateway = stack.gateway().system();

    eventually(stack.core().system(), "alive", 200, "");
    eventually(stack.core().system(), "ready", 500, "seal: the seal is not initialised");
    eventually(gateway, "ready", 200, "");

    List<String> shares =
        stack
            .admin(
                a ->
                    a.initSeal(
                        InitSealRequest.newBuilder()
                            .setShares(3)
                            .setThreshold(2)
                            .setRequestedBy("it")
                            .build()))
            .getSharesList();
    eventually(stack.core().system(), "ready", 200, "");

    // the Core goes away: the gateway stays alive, stops being ready, and says why
    stack.stopCore();
    eventually(
        gateway, "ready", 500, "tenant-watch: the Core's tenant-event stream is not connected");
    eventually(gateway, "alive", 200, "");

    // it comes back sealed: alive, not ready until K shares unseal it
    stack.startCore();
    eventually(stack.core().system(), "alive", 200, "");
    eventually(
        stack.core().system(), "ready", 500, "seal: the node is sealed (enter unseal shares)");
    for (String share : shares.subList(0, 2)) {
      stack.admin(
          a ->
              a.unseal(
                  UnsealRequest.newBuilder()
                      .setShare(share)
                      .setRequestedBy("op-" + share.hashCode())
                      .build()));
    }
    eventually(stack.core().system(), "ready", 200, "");
    eventually(gateway, "ready", 200, "");

    // metrics: every RPC timed into the 0.1-10 ms buckets, L1 calls per driver, nothing of the
    // tenant
    stack.admin(
        a ->
            a.createTenant(
                CreateTenantRequest.newBuilder()
                    .setTenantId("acme-metrics")
                    .setL1Reference("devfile:acme-metrics-root")
                    .build()));
    stack.admin(
        a ->
            a.createService(
                CreateServiceRequest.newBuilder()
                    .setTenantId("acme-metrics")
                    .setServiceId("payments")
                    .build()));
    for (int i = 0; i < 3; i++) {
      Rpc.await(
          stack.app.generateDataKey(
              GenerateDataKeyRequest.newBuilder()
                  .setTenantId("acme-metrics")
                  .setServiceId("payments")
                  .build()));
    }
    String gw = probe(gateway, "metrics").body();
    Files.writeString(Path.of("target", "gateway-metrics.txt"), gw);
    assertTrue(
        gw.contains(
            "openkcm_rpc_duration_seconds_count{method=\"GenerateDataKey\",outcome=\"OK\"} 3"),
        "three GenerateDataKey calls counted");
    for (String le : List.of("1.0E-4", "2.5E-4", "5.0E-4", "0.001", "0.0025", "0.005", "0.01")) {
      assertTrue(
          gw.contains(
              "openkcm_rpc_duration_seconds_bucket{method=\"GenerateDataKey\",outcome=\"OK\",le=\""
                  + le
                  + "\"}"),
          "bucket " + le);
    }
    assertTrue(
        gw.lines().anyMatch(l -> l.matches("openkcm_pool_refills_total [1-9].*")),
        "the pool's refills counted");
    // a made-up method on the Core's listener is answered 404 and counted as "other", not as a
    // label
    HttpResponse<String> madeUp =
        HTTP.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:"
                            + stack.corePort()
                            + "/openkcm.core.v1.CoreKeyService/MadeUpMethodXyz"))
                .version(HttpClient.Version.HTTP_1_1)
                .header("content-type", "application/grpc")
                .POST(HttpRequest.BodyPublishers.ofString("x"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, madeUp.statusCode(), "a gRPC answer (its status in grpc-status)");
    String core = probe(stack.core().system(), "metrics").body();
    Files.writeString(Path.of("target", "core-metrics.txt"), core);
    assertTrue(core.contains("openkcm_sealed 0"), "unsealed");
    double budget =
        core.lines()
            .filter(l -> l.startsWith("openkcm_nonce_budget_max_used_ratio "))
            .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf(' ') + 1)))
            .findFirst()
            .orElseThrow();
    assertTrue(
        budget > 0 && budget < 1e-3, "the pool's wraps used a sliver of the budget: " + budget);
    assertFalse(
        core.contains("openkcm_nonce_budget_used_ratio{"), "no per-tenant series by default");
    assertTrue(
        core.contains(
            "openkcm_l1_call_duration_seconds_count{driver=\"devfile\",operation=\"wrap\",outcome=\"ok\"}"),
        "the L2's wrap under L1 counted per driver");
    assertTrue(
        core.contains(
            "openkcm_rpc_duration_seconds_count{method=\"CreateTenant\",outcome=\"OK\"} 1"),
        "admin RPCs timed on the Core");
    for (String text : List.of(gw, core)) {
      assertFalse(text.contains("acme"), "no tenant id in any label");
    }
    assertFalse(core.contains("MadeUpMethodXyz"), "a caller cannot mint labels");
    assertTrue(
        core.contains("openkcm_rpc_duration_seconds_count{method=\"other\""), "counted as other");
  }
}
