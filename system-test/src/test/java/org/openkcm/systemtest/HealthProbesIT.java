package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.node.health.NodeHealth;
import org.openkcm.protocol.admin.v1.InitSealRequest;
import org.openkcm.protocol.admin.v1.UnsealRequest;

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
  }
}
