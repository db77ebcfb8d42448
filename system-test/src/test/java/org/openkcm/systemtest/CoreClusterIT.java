package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import com.google.protobuf.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
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
import org.openkcm.protocol.admin.v1.KillSwitchRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapResult;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * A real three-node Core cluster (three actor systems on loopback Artery ports, journal on the real
 * PostgreSQL) behind a gateway that knows all three: sharding across nodes, a node leaving
 * mid-load, tenant and global kill-switch, and a full restart.
 */
class CoreClusterIT {

  private static final Duration CALL = Duration.ofSeconds(20);
  private static final int TENANTS = 8;

  private PostgresSchema db;
  private Path dataDir;
  private final int[] arteryPorts = new int[3];
  private final int[] grpcPorts = new int[3];
  private final int[] keyPorts = new int[3];
  private final CoreNode[] nodes = new CoreNode[3];
  private GatewayNode gateway;
  private GatewayNode gateway2;
  private ActorTestKit client;
  private DataKeyServiceClient app;
  private DataKeyServiceClient app2;

  record Issued(String tenant, String row, byte[] plaintext, ByteString envelope) {}

  @BeforeEach
  void startCluster() throws Exception {
    db = new PostgresSchema();
    dataDir = Files.createTempDirectory("openkcm-cluster");
    // One development L1 for every tenant, created before any node runs (all nodes share the key
    // file).
    new DevFileKeystore(dataDir.resolve("dev-l1"), false, Runnable::run).createKey("shared-root");
    for (int i = 0; i < 3; i++) {
      arteryPorts[i] = Rpc.freePort();
      grpcPorts[i] = Rpc.freePort();
      keyPorts[i] = Rpc.freePort();
    }
    for (int i = 0; i < 3; i++) {
      nodes[i] = CoreNode.start(nodeConfig(i));
    }
    client =
        ActorTestKit.create(
            "cluster-client", ConfigFactory.parseString("pekko.actor.provider = local"));
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(200),
            () -> {
              assertEquals(3, upMembers(nodes[0]));
              assertEquals(
                  3,
                  Shards.regions(nodes[0]),
                  "every node's shard region registered with the coordinator");
              return null;
            });
    List<String> endpoints = new ArrayList<>();
    for (int p : grpcPorts) {
      endpoints.add("127.0.0.1:" + p);
    }
    List<String> keyEndpoints = new ArrayList<>();
    for (int p : keyPorts) {
      keyEndpoints.add("127.0.0.1:" + p);
    }
    Config gatewayConfig =
        ConfigFactory.parseMap(
            Map.of(
                "openkcm.gateway.core.endpoints",
                endpoints,
                "openkcm.gateway.core.key-endpoints",
                keyEndpoints,
                "openkcm.gateway.cache.enabled",
                true,
                "openkcm.gateway.cache.ttl",
                "10m"));
    gateway = GatewayNode.start(NodeConfig.load("gateway", "test", gatewayConfig));
    gateway2 = GatewayNode.start(NodeConfig.load("gateway", "test", gatewayConfig));
    app =
        DataKeyServiceClient.create(
            GrpcClientSettings.connectToServiceAt(
                    "127.0.0.1", gateway.grpcAddress().getPort(), client.system())
                .withTls(false)
                .withDeadline(CALL),
            client.system());
    app2 =
        DataKeyServiceClient.create(
            GrpcClientSettings.connectToServiceAt(
                    "127.0.0.1", gateway2.grpcAddress().getPort(), client.system())
                .withTls(false)
                .withDeadline(CALL),
            client.system());
    for (int t = 0; t < TENANTS; t++) {
      String tenant = "tenant-" + t;
      admin(
          0,
          a ->
              a.createTenant(
                  CreateTenantRequest.newBuilder()
                      .setTenantId(tenant)
                      .setL1Reference("devfile:shared-root")
                      .build()));
      admin(
          0,
          a ->
              a.createService(
                  CreateServiceRequest.newBuilder()
                      .setTenantId(tenant)
                      .setServiceId("payments")
                      .build()));
    }
  }

  private Config nodeConfig(int i) {
    Map<String, Object> m = new HashMap<>();
    m.put("openkcm.data-dir", dataDir.toString());
    m.put("openkcm.core.grpc.port", grpcPorts[i]);
    m.put("openkcm.core.grpc.keys.port", keyPorts[i]);
    m.put("openkcm.core.keystore.devfile.auto-create-keys", false);
    m.put("openkcm.core.seal.auto.l1-reference", "devfile:shared-root");
    m.put("pekko.remote.artery.canonical.port", arteryPorts[i]);
    m.put("pekko.cluster.seed-nodes", List.of("pekko://openkcm-core@127.0.0.1:" + arteryPorts[0]));
    return NodeConfig.load(
        "core", "test", ConfigFactory.parseMap(m).withFallback(db.journalConfig()));
  }

  @AfterEach
  void stopCluster() throws Exception {
    if (app != null) {
      app.close();
    }
    if (app2 != null) {
      app2.close();
    }
    if (gateway != null) {
      gateway.close();
    }
    if (gateway2 != null) {
      gateway2.close();
    }
    for (int i = 2; i >= 0; i--) {
      if (nodes[i] != null) {
        nodes[i].close();
      }
    }
    if (client != null) {
      client.shutdownTestKit();
    }
    db.close();
  }

  @Test
  void tenantsSpreadOverNodesAndANodeLeavingMidLoadLosesNoEnvelope() throws Exception {
    Map<String, Integer> hostOf = hosts();
    Set<Integer> used = new HashSet<>(hostOf.values());
    assertTrue(used.size() >= 2, "tenants spread over several crypto nodes: " + hostOf);
    int victim =
        used.contains(2) ? 2 : 1; // never the oldest node (it hosts the coordinator and singleton)

    ConcurrentLinkedQueue<Issued> issued = new ConcurrentLinkedQueue<>();
    AtomicInteger failedDuringLoad = new AtomicInteger();
    AtomicBoolean running = new AtomicBoolean(true);
    var executor = Executors.newFixedThreadPool(4);
    List<CompletableFuture<Void>> loaders = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      int worker = w;
      loaders.add(
          CompletableFuture.runAsync(
              () -> {
                for (int n = 0; running.get() && n < 100_000; n++) {
                  String tenant = "tenant-" + ((worker + n) % TENANTS);
                  String row = worker + "-" + n;
                  try {
                    GenerateDataKeyResponse r = generate(tenant, row);
                    issued.add(
                        new Issued(tenant, row, r.getPlaintext().toByteArray(), r.getEnvelope()));
                  } catch (OpenKcmException e) {
                    failedDuringLoad.incrementAndGet();
                  }
                }
              },
              executor));
    }
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(100),
            () -> {
              assertTrue(issued.size() >= 40);
              return null;
            });
    int beforeLeave = issued.size();
    nodes[victim].close();
    nodes[victim] = null;
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(60),
            Duration.ofMillis(200),
            () -> {
              assertTrue(issued.size() >= beforeLeave + 40, "load continues after the node left");
              return null;
            });
    running.set(false);
    CompletableFuture.allOf(loaders.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    executor.shutdown();
    System.out.println(
        "CoreClusterIT: "
            + issued.size()
            + " data keys issued, "
            + failedDuringLoad.get()
            + " requests failed while node "
            + victim
            + " left (hosted "
            + Collections.frequency(hostOf.values(), victim)
            + " of "
            + TENANTS
            + " tenants)");

    assertEquals(0, failedDuringLoad.get(), "no request failed while a node left gracefully");
    List<Issued> all = new ArrayList<>(issued);
    for (Issued i : all) {
      assertArrayEquals(
          i.plaintext(), decrypt(i.tenant(), i.envelope(), i.row()), "envelope of " + i.tenant());
    }
    Set<Integer> after = new HashSet<>(hosts().values());
    assertTrue(!after.contains(victim), "no tenant lives on the node that left: " + after);
  }

  /**
   * A rolling restart of every Core node and then every gateway while four callers keep asking for
   * data keys: the Core nodes leave gracefully (shards hand off) and come back on the same ports;
   * each gateway first leaves the callers' rotation (as a Service drops a pod whose readiness
   * failed), then drains on shutdown (in-flight calls finish), and a new one joins once ready. A
   * caller may retry a call once on the other gateway when one refused it without running it
   * (UNAVAILABLE, as gRPC's transparent retry does); no request fails back to a caller, and every
   * envelope issued opens afterwards.
   */
  @Test
  void aRollingRestartOfEveryCoreNodeAndGatewayUnderLoadLosesNoRequest() throws Exception {
    DataKeyServiceClient[] clients = {app, app2};
    boolean[] routable = {true, true};
    ConcurrentLinkedQueue<Issued> issued = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    AtomicInteger retried = new AtomicInteger();
    AtomicBoolean running = new AtomicBoolean(true);
    var executor = Executors.newFixedThreadPool(4);
    List<CompletableFuture<Void>> loaders = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      int worker = w;
      loaders.add(
          CompletableFuture.runAsync(
              () -> {
                for (int n = 0; running.get() && n < 100_000; n++) {
                  String tenant = "tenant-" + ((worker + n) % TENANTS);
                  String row = "rr-" + worker + "-" + n;
                  int slot = (worker + n) % 2;
                  for (int attempt = 0; ; attempt++) {
                    int s;
                    DataKeyServiceClient c;
                    synchronized (routable) {
                      s = routable[slot] ? slot : 1 - slot;
                      c = clients[s];
                    }
                    try {
                      GenerateDataKeyResponse r = generateVia(c, tenant, row);
                      issued.add(
                          new Issued(tenant, row, r.getPlaintext().toByteArray(), r.getEnvelope()));
                      break;
                    } catch (RuntimeException e) {
                      if (attempt == 0 && unprocessed(e)) {
                        retried.incrementAndGet();
                        slot = 1 - s;
                        continue;
                      }
                      failures.add(tenant + "/" + row + " via gateway " + s + ": " + e);
                      break;
                    }
                  }
                }
              },
              executor));
    }
    progress(issued, 40);

    // every Core node, newest first: leave gracefully, come back on the same ports
    for (int i = 2; i >= 0; i--) {
      nodes[i].close();
      nodes[i] = null;
      progress(issued, 20);
      nodes[i] = CoreNode.start(restartConfig(i));
      int restarted = i;
      client
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(60),
              Duration.ofMillis(200),
              () -> {
                assertEquals(3, upMembers(nodes[restarted]), "node " + restarted + " is back");
                return null;
              });
      progress(issued, 20);
    }

    // every gateway: out of rotation, drained by its shutdown, replaced once the new one is ready
    Config gatewayConfig = gateway.system().settings().config();
    for (int slot = 0; slot < 2; slot++) {
      synchronized (routable) {
        routable[slot] = false;
      }
      GatewayNode old = slot == 0 ? gateway : gateway2;
      old.close();
      GatewayNode fresh =
          GatewayNode.start(
              NodeConfig.load(
                  "gateway",
                  "test",
                  ConfigFactory.parseMap(
                      Map.of(
                          "openkcm.gateway.core.endpoints",
                          gatewayConfig.getStringList("openkcm.gateway.core.endpoints"),
                          "openkcm.gateway.cache.enabled",
                          true))));
      client
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(30),
              Duration.ofMillis(100),
              () -> {
                assertEquals(
                    List.of(),
                    org.openkcm.node.health.NodeHealth.get(fresh.system())
                        .unmet()
                        .toCompletableFuture()
                        .get(),
                    "the new gateway is ready");
                return null;
              });
      DataKeyServiceClient freshClient =
          DataKeyServiceClient.create(
              GrpcClientSettings.connectToServiceAt(
                      "127.0.0.1", fresh.grpcAddress().getPort(), client.system())
                  .withTls(false)
                  .withDeadline(CALL),
              client.system());
      synchronized (routable) {
        clients[slot].close();
        clients[slot] = freshClient;
        routable[slot] = true;
      }
      if (slot == 0) {
        gateway = fresh;
        app = freshClient;
      } else {
        gateway2 = fresh;
        app2 = freshClient;
      }
      progress(issued, 20);
    }
    running.set(false);
    CompletableFuture.allOf(loaders.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    executor.shutdown();
    System.out.println(
        "CoreClusterIT rolling restart: "
            + issued.size()
            + " data keys issued, "
            + retried.get()
            + " calls retried once on the other gateway, "
            + failures.size()
            + " failed");
    assertEquals(List.of(), new ArrayList<>(failures), "no request failed back to a caller");
    for (Issued i : new ArrayList<>(issued)) {
      assertArrayEquals(
          i.plaintext(), decrypt(i.tenant(), i.envelope(), i.row()), "envelope of " + i.tenant());
    }
  }

  /** A refusal that says the call never ran: safe to send again elsewhere. */
  private static boolean unprocessed(RuntimeException e) {
    // a gateway that stopped accepting answers plain UNAVAILABLE, which the client reads as this
    return e instanceof OpenKcmException k && k.reason() == ErrorReason.CORE_UNAVAILABLE;
  }

  private void progress(ConcurrentLinkedQueue<Issued> issued, int more) {
    int from = issued.size();
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(60),
            Duration.ofMillis(100),
            () -> {
              assertTrue(issued.size() >= from + more, "load continues: " + issued.size());
              return null;
            });
  }

  private static GenerateDataKeyResponse generateVia(
      DataKeyServiceClient c, String tenant, String row) {
    return await(
        c.generateDataKey(
            GenerateDataKeyRequest.newBuilder()
                .setTenantId(tenant)
                .setServiceId("payments")
                .putContext("row", row)
                .build()));
  }

  /** As {@link #nodeConfig}, every node a seed: a restarted first seed joins the others. */
  private Config restartConfig(int i) {
    List<String> seeds = new ArrayList<>();
    for (int p : arteryPorts) {
      seeds.add("pekko://openkcm-core@127.0.0.1:" + p);
    }
    return ConfigFactory.parseMap(Map.of("pekko.cluster.seed-nodes", seeds))
        .withFallback(nodeConfig(i));
  }

  @Test
  void tenantKillRefusesOnEveryNodeAndGlobalKillSurvivesAFullRestart() throws Exception {
    Map<String, Issued> oneEach = new HashMap<>();
    for (int t = 0; t < TENANTS; t++) {
      GenerateDataKeyResponse r = generate("tenant-" + t, "r");
      oneEach.put(
          "tenant-" + t,
          new Issued("tenant-" + t, "r", r.getPlaintext().toByteArray(), r.getEnvelope()));
    }
    // tenant kill, pulled through a node other than the one hosting the tenant when possible
    int host = hosts().get("tenant-1");
    int via = (host + 1) % 3;
    TenantInfo killed =
        this.<TenantInfo>admin(
            via,
            a ->
                a.killTenant(
                    KillTenantRequest.newBuilder()
                        .setTenantId("tenant-1")
                        .setReason("suspected breach")
                        .setRequestedBy("it-test")
                        .build()));
    assertEquals("killed", killed.getStatus());
    for (int n = 0; n < 3; n++) {
      assertEquals(
          ErrorReason.TENANT_KILLED,
          unwrapVia(n, oneEach.get("tenant-1")).reason(),
          "via node " + n);
    }
    assertEquals(
        ErrorReason.TENANT_KILLED,
        assertThrows(
                OpenKcmException.class,
                () -> decrypt("tenant-1", oneEach.get("tenant-1").envelope(), "r"))
            .reason());
    assertArrayEquals(
        oneEach.get("tenant-2").plaintext(),
        decrypt("tenant-2", oneEach.get("tenant-2").envelope(), "r"),
        "other tenants unaffected");

    // global kill: time from the command to the last Core node and the last gateway refusing,
    // repeated
    List<Long> millis = new ArrayList<>();
    List<Long> gatewayMillis = new ArrayList<>();
    Issued probeKey = oneEach.get("tenant-5");
    for (int run = 0; run < 5; run++) {
      // warm both gateways' caches: the next decrypt of probeKey would be answered locally
      client
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(10),
              Duration.ofMillis(20),
              () -> {
                for (DataKeyServiceClient g : List.of(app, app2)) {
                  assertArrayEquals(probeKey.plaintext(), decryptVia(g, probeKey));
                }
                assertTrue(
                    gateway.wiring().cache().orElseThrow().size() > 0
                        && gateway2.wiring().cache().orElseThrow().size() > 0);
                return null;
              });
      long start = System.nanoTime();
      String drill = "drill " + run;
      admin(
          0,
          a ->
              a.engageKillSwitch(
                  KillSwitchRequest.newBuilder()
                      .setScope("global")
                      .setReason(drill)
                      .setRequestedBy("it-test")
                      .build()));
      client
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(10),
              Duration.ofMillis(2),
              () -> {
                for (DataKeyServiceClient g : List.of(app, app2)) {
                  assertEquals(
                      ErrorReason.TENANT_KILLED,
                      assertThrows(OpenKcmException.class, () -> decryptVia(g, probeKey)).reason());
                }
                return null;
              });
      gatewayMillis.add((System.nanoTime() - start) / 1_000_000);
      client
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(10),
              Duration.ofMillis(5),
              () -> {
                for (int t = 2; t < TENANTS; t++) {
                  assertEquals(
                      ErrorReason.TENANT_KILLED,
                      unwrapVia(t % 3, oneEach.get("tenant-" + t)).reason());
                }
                return null;
              });
      millis.add((System.nanoTime() - start) / 1_000_000);
      if (run < 4) {
        admin(
            0,
            a ->
                a.releaseKillSwitch(
                    KillSwitchRequest.newBuilder()
                        .setScope("global")
                        .setRequestedBy("it")
                        .build()));
        client
            .createTestProbe()
            .awaitAssert(
                Duration.ofSeconds(10),
                Duration.ofMillis(20),
                () -> {
                  assertTrue(unwrapOk(0, oneEach.get("tenant-3")));
                  return null;
                });
      }
    }
    Collections.sort(millis);
    Collections.sort(gatewayMillis);
    System.out.println(
        "CoreClusterIT: global kill until both gateways refused a cached key, ms over 5 runs: "
            + gatewayMillis
            + " (median "
            + gatewayMillis.get(2)
            + ", max "
            + gatewayMillis.get(4)
            + ")");
    System.out.println(
        "CoreClusterIT: global kill until every tenant refused on 3 Core nodes (checked after the"
            + " gateways), ms over 5 runs: "
            + millis
            + " (median "
            + millis.get(2)
            + ", max "
            + millis.get(4)
            + ")");

    // full restart of all three nodes: the global kill is still in force
    for (int i = 2; i >= 0; i--) {
      nodes[i].close();
      nodes[i] = null;
    }
    for (int i = 0; i < 3; i++) {
      nodes[i] = CoreNode.start(nodeConfig(i));
    }
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(200),
            () -> {
              assertEquals(
                  ErrorReason.TENANT_KILLED,
                  assertThrows(
                          OpenKcmException.class,
                          () -> decrypt("tenant-4", oneEach.get("tenant-4").envelope(), "r"))
                      .reason());
              return null;
            });
    admin(
        0,
        a ->
            a.releaseKillSwitch(
                KillSwitchRequest.newBuilder().setScope("global").setRequestedBy("it").build()));
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(200),
            () -> {
              assertArrayEquals(
                  oneEach.get("tenant-4").plaintext(),
                  decrypt("tenant-4", oneEach.get("tenant-4").envelope(), "r"));
              return null;
            });
    // the tenant kill outlived the restart and the global release
    assertEquals(
        ErrorReason.TENANT_KILLED,
        assertThrows(
                OpenKcmException.class,
                () -> decrypt("tenant-1", oneEach.get("tenant-1").envelope(), "r"))
            .reason());
  }

  // ------------------------------------------------------------------ helpers

  private static long upMembers(CoreNode node) {
    var members = Cluster.get(node.system()).state().getMembers();
    long up = 0;
    for (var m : members) {
      if (m.status() == MemberStatus.up()) {
        up++;
      }
    }
    return up;
  }

  /**
   * How many tenant shard regions the shard coordinator knows (new shards go only to known
   * regions).
   */
  /** Which node (index) hosts each tenant now. */
  private Map<String, Integer> hosts() {
    Map<String, Integer> out = new HashMap<>();
    for (int t = 0; t < TENANTS; t++) {
      String tenant = "tenant-" + t;
      TenantInfo info =
          this.<TenantInfo>admin(
              0, a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId(tenant).build()));
      for (int i = 0; i < 3; i++) {
        if (info.getNode().endsWith(":" + arteryPorts[i])) {
          out.put(tenant, i);
        }
      }
    }
    return out;
  }

  private int firstLiveNode() {
    for (int i = 0; i < 3; i++) {
      if (nodes[i] != null) {
        return i;
      }
    }
    throw new IllegalStateException("no node");
  }

  private <T> T admin(
      int node, java.util.function.Function<AdminServiceClient, CompletionStage<T>> call) {
    return Rpc.admin(
        client.system(), grpcPorts[nodes[node] != null ? node : firstLiveNode()], call);
  }

  /** The failure of unwrapping {@code i} directly through node {@code n}'s CoreKeyService. */
  private OpenKcmException unwrapVia(int n, Issued i) {
    return assertThrows(
        OpenKcmException.class,
        () -> {
          if (unwrapOk(n, i)) {
            throw new AssertionError("unwrap through node " + n + " still works");
          }
        });
  }

  private boolean unwrapOk(int n, Issued i) {
    int node = nodes[n] != null ? n : firstLiveNode();
    CoreKeyServiceClient core =
        CoreKeyServiceClient.create(
            GrpcClientSettings.connectToServiceAt("127.0.0.1", grpcPorts[node], client.system())
                .withTls(false)
                .withDeadline(CALL),
            client.system());
    try {
      UnwrapResult r =
          await(
                  core.unwrapKeys(
                      UnwrapKeysRequest.newBuilder()
                          .setTenantId(i.tenant())
                          .addItems(
                              UnwrapItem.newBuilder()
                                  .setEnvelope(i.envelope())
                                  .putContext("row", i.row()))
                          .build()))
              .getResults(0);
      return r.hasPlaintext();
    } finally {
      core.close();
    }
  }

  private GenerateDataKeyResponse generate(String tenant, String row) {
    return await(
        app.generateDataKey(
            GenerateDataKeyRequest.newBuilder()
                .setTenantId(tenant)
                .setServiceId("payments")
                .putContext("row", row)
                .build()));
  }

  private byte[] decryptVia(DataKeyServiceClient g, Issued i) {
    return await(
            g.decrypt(
                DecryptRequest.newBuilder()
                    .setTenantId(i.tenant())
                    .setEnvelope(i.envelope())
                    .putContext("row", i.row())
                    .build()))
        .getPlaintext()
        .toByteArray();
  }

  private byte[] decrypt(String tenant, ByteString envelope, String row) {
    return await(
            app.decrypt(
                DecryptRequest.newBuilder()
                    .setTenantId(tenant)
                    .setEnvelope(envelope)
                    .putContext("row", row)
                    .build()))
        .getPlaintext()
        .toByteArray();
  }
}
