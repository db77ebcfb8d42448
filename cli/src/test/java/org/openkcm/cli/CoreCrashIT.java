package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openkcm.core.CoreNode;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.testing.PostgresSchema;
import org.openkcm.core.testing.Rpc;
import org.openkcm.core.testing.Shards;
import org.openkcm.gateway.GatewayNode;
import org.openkcm.node.config.NodeConfig;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * A Core node that crashes: the third node runs in its own JVM ({@code ./openkcm core}) and is
 * killed with SIGKILL; the split-brain resolver downs it and its tenants come back on the two
 * survivors.
 */
class CoreCrashIT {

  private static final Duration CALL = Duration.ofSeconds(20);
  private static final int TENANTS = 9;

  private PostgresSchema db;
  private Path dataDir;
  private final int[] artery = new int[3];
  private final int[] grpc = new int[3];
  private final CoreNode[] nodes = new CoreNode[2];
  private Process third;
  private GatewayNode gateway;
  private ActorTestKit client;
  private DataKeyServiceClient app;

  @AfterEach
  void stop() throws Exception {
    if (third != null) {
      third.destroyForcibly();
    }
    if (app != null) {
      app.close();
    }
    if (gateway != null) {
      gateway.close();
    }
    for (int i = 1; i >= 0; i--) {
      if (nodes[i] != null) {
        nodes[i].close();
      }
    }
    if (client != null) {
      client.shutdownTestKit();
    }
    db.close();
  }

  private Map<String, Object> settings(int i) {
    Map<String, Object> m = new HashMap<>();
    m.put("openkcm.data-dir", dataDir.toString());
    m.put("openkcm.core.grpc.port", grpc[i]);
    m.put("openkcm.core.keystore.devfile.auto-create-keys", false);
    m.put("openkcm.core.seal.auto.l1-reference", "devfile:shared-root");
    m.put("pekko.remote.artery.canonical.port", artery[i]);
    m.put("pekko.cluster.split-brain-resolver.stable-after", "2s");
    m.put("pekko-persistence-jdbc.shared-databases.openkcm.profile", "slick.jdbc.PostgresProfile$");
    m.put("pekko-persistence-jdbc.shared-databases.openkcm.db.url", db.url());
    m.put("pekko-persistence-jdbc.shared-databases.openkcm.db.user", PostgresSchema.USER);
    m.put("pekko-persistence-jdbc.shared-databases.openkcm.db.password", "");
    m.put("pekko-persistence-jdbc.shared-databases.openkcm.db.driver", "org.postgresql.Driver");
    return m;
  }

  private static String seed(int port) {
    return "pekko://openkcm-core@127.0.0.1:" + port;
  }

  /**
   * With unary key calls and with the streaming link: a stream to the dead node (or a new one,
   * which fails at once) must make the gateway fail over, not wait out its request timeout (10 s)
   * on every call routed there — which once took 31 s and more (docs/BENCHMARKS.md).
   */
  @ParameterizedTest(name = "streaming = {0}")
  @ValueSource(booleans = {false, true})
  void tenantsOfACrashedNodeComeBackOnTheSurvivors(boolean streaming) throws Exception {
    db = new PostgresSchema();
    dataDir = Files.createTempDirectory("openkcm-crash");
    new DevFileKeystore(dataDir.resolve("dev-l1"), false, Runnable::run).createKey("shared-root");
    for (int i = 0; i < 3; i++) {
      artery[i] = Rpc.freePort();
      grpc[i] = Rpc.freePort();
    }
    for (int i = 0; i < 2; i++) {
      Config c =
          ConfigFactory.parseMap(settings(i))
              .withFallback(
                  ConfigFactory.parseMap(
                      Map.of("pekko.cluster.seed-nodes", List.of(seed(artery[0])))));
      nodes[i] = CoreNode.start(NodeConfig.load("core", "test", c));
    }
    third = startThirdNode();
    client =
        ActorTestKit.create(
            "crash-client", ConfigFactory.parseString("pekko.actor.provider = local"));
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(60),
            Duration.ofMillis(250),
            () -> {
              assertEquals(3, upMembers());
              assertEquals(3, Shards.regions(nodes[0]), "every node's shard region registered");
              return null;
            });
    gateway =
        GatewayNode.start(
            NodeConfig.load(
                "gateway",
                "test",
                ConfigFactory.parseMap(
                    Map.of(
                        "openkcm.gateway.core.streaming",
                        streaming,
                        "openkcm.gateway.core.endpoints",
                        List.of(
                            "127.0.0.1:" + grpc[0],
                            "127.0.0.1:" + grpc[1],
                            "127.0.0.1:" + grpc[2])))));
    app =
        DataKeyServiceClient.create(
            GrpcClientSettings.connectToServiceAt(
                    "127.0.0.1", gateway.grpcAddress().getPort(), client.system())
                .withTls(false)
                .withDeadline(CALL),
            client.system());

    List<String> onThird = new ArrayList<>();
    Map<String, GenerateDataKeyResponse> keys = new HashMap<>();
    for (int t = 0; t < TENANTS; t++) {
      String tenant = "crash-" + t;
      admin(
          a ->
              a.createTenant(
                  CreateTenantRequest.newBuilder()
                      .setTenantId(tenant)
                      .setL1Reference("devfile:shared-root")
                      .build()));
      admin(
          a ->
              a.createService(
                  CreateServiceRequest.newBuilder()
                      .setTenantId(tenant)
                      .setServiceId("payments")
                      .build()));
      keys.put(
          tenant,
          await(
              app.generateDataKey(
                  GenerateDataKeyRequest.newBuilder()
                      .setTenantId(tenant)
                      .setServiceId("payments")
                      .build())));
      TenantInfo info =
          admin(a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId(tenant).build()));
      if (info.getNode().endsWith(":" + artery[2])) {
        onThird.add(tenant);
      }
    }
    assertFalse(onThird.isEmpty(), "some tenants live on the node that will crash");

    long crashedAt = System.nanoTime();
    third.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: no leave, no handoff
    client
        .createTestProbe()
        .awaitAssert(
            // the split-brain resolver downs the node in ~10 s; one request timeout more is the
            // most a failover may cost
            Duration.ofSeconds(30),
            Duration.ofMillis(250),
            () -> {
              for (Map.Entry<String, GenerateDataKeyResponse> k : keys.entrySet()) {
                assertArrayEquals(
                    k.getValue().getPlaintext().toByteArray(),
                    await(
                            app.decrypt(
                                DecryptRequest.newBuilder()
                                    .setTenantId(k.getKey())
                                    .setEnvelope(k.getValue().getEnvelope())
                                    .build()))
                        .getPlaintext()
                        .toByteArray(),
                    k.getKey());
              }
              return null;
            });
    long recoveredMs = (System.nanoTime() - crashedAt) / 1_000_000;
    assertEquals(2, upMembers(), "the crashed node was downed");
    for (String tenant : onThird) {
      assertTrue(
          !admin(a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId(tenant).build()))
              .getNode()
              .endsWith(":" + artery[2]));
    }
    System.out.println(
        "CoreCrashIT (streaming = "
            + streaming
            + "): "
            + onThird.size()
            + " of "
            + TENANTS
            + " tenants lived on the crashed node;"
            + " every envelope opened again "
            + recoveredMs
            + " ms after SIGKILL (split-brain resolver stable-after 2s)");
  }

  private Process startThirdNode() throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    settings(2).forEach((k, v) -> cmd.add("-D" + k + "=" + v));
    cmd.add("-Dpekko.cluster.seed-nodes.0=" + seed(artery[0]));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("org.openkcm.cli.Cli");
    cmd.add("core");
    cmd.add("--profile");
    cmd.add("test");
    Path log = Path.of("target", "core-crash-node3.log");
    Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
    CompletableFuture<String> ready =
        CompletableFuture.supplyAsync(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  if (line.startsWith("{\"core\"")) {
                    return line;
                  }
                }
                throw new IllegalStateException(
                    "third node exited before it was ready; see " + log.toAbsolutePath());
              } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
              }
            });
    ready.get(90, TimeUnit.SECONDS);
    return p;
  }

  private long upMembers() {
    long up = 0;
    for (var m : Cluster.get(nodes[0].system()).state().getMembers()) {
      if (m.status() == MemberStatus.up()) {
        up++;
      }
    }
    return up;
  }

  private <T> T admin(java.util.function.Function<AdminServiceClient, CompletionStage<T>> call) {
    return Rpc.admin(client.system(), grpc[0], call);
  }
}
