package org.openkcm.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.cluster.ArteryTls;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.testing.Bytes;
import org.openkcm.core.testing.PostgresSchema;
import org.openkcm.core.testing.Rpc;
import org.openkcm.core.testing.Shards;
import org.openkcm.node.config.NodeConfig;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapKeysResponse;
import org.openkcm.protocol.core.v1.WrapItem;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapKeysResponse;
import scala.Option;

/**
 * Three Core nodes whose cluster transport is Artery over mutual TLS ({@link ArteryTls}), each
 * reached by the others through a recording TCP proxy: the cluster forms and serves across nodes;
 * the recorded cluster traffic of a wrap/unwrap burst holds none of the data keys' bytes; a node
 * with a certificate of another CA, with a gateway, app or admin identity, with the Core identity
 * of another region (core/us/..., under Orbital) or of none, or with no certificate never becomes a
 * member; a raw TCP client gets nothing but a TLS alert.
 */
class ClusterTransportTlsIT {

  private static final String DOMAIN = "openkcm.local";
  private static final int NODES = 3;
  private static final int TENANTS = 6;

  private static PostgresSchema db;
  private static Path dataDir;
  private static Path pki;
  private static final int[] bindPorts = new int[NODES];
  private static final int[] proxyPorts = new int[NODES];
  private static final RecordingProxy[] proxies = new RecordingProxy[NODES];
  private static final CoreNode[] nodes = new CoreNode[NODES];
  private static ActorTestKit kit;
  private static MutualTls gatewayTls;
  private static MutualTls adminTls;

  @BeforeAll
  static void startCluster() throws Exception {
    db = new PostgresSchema();
    dataDir = Files.createTempDirectory("openkcm-artery-tls");
    pki = dataDir.resolve("pki");
    new DevFileKeystore(dataDir.resolve("dev-l1"), false, Runnable::run).createKey("shared-root");
    DevCa ca = DevCa.loadOrCreate(pki, DOMAIN);
    for (int i = 0; i < NODES; i++) {
      bindPorts[i] = Rpc.freePort();
      proxyPorts[i] = Rpc.freePort();
      proxies[i] = new RecordingProxy(proxyPorts[i], bindPorts[i]);
    }
    for (int i = 0; i < NODES; i++) {
      ca.issue(
          SpiffeId.parse("spiffe://" + DOMAIN + "/core/eu/core-" + i),
          Duration.ofDays(1),
          pki.resolve("eu-core-" + i + ".crt"),
          pki.resolve("eu-core-" + i + ".key"));
      nodes[i] = CoreNode.start(nodeConfig(i));
    }
    kit =
        ActorTestKit.create(
            "artery-tls-client", ConfigFactory.parseString("pekko.actor.provider = local"));
    gatewayTls = clientIdentity(ca, "gw-it", "spiffe://" + DOMAIN + "/gateway/gw-it");
    adminTls = clientIdentity(ca, "admin-it", "spiffe://" + DOMAIN + "/admin/admin-it");
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(60),
            Duration.ofMillis(200),
            () -> {
              assertEquals(NODES, upMembers(nodes[0]).size());
              assertEquals(NODES, Shards.regions(nodes[0]), "every node's shard region registered");
              return null;
            });
    for (int t = 0; t < TENANTS; t++) {
      String tenant = "tenant-" + t;
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
    }
  }

  private static Config nodeConfig(int i) {
    Map<String, Object> m = new HashMap<>();
    m.put("openkcm.data-dir", dataDir.toString());
    m.put("openkcm.tls.enabled", true);
    m.put("openkcm.tls.name", "core-" + i);
    // a multi-region deployment: the region's Cores carry core/eu/<node>; other regions' Cores
    // share
    // the trust domain (Orbital) but are no members of this cluster
    m.put("openkcm.core.region", "eu");
    m.put("openkcm.orbital.enabled", true);
    m.put("openkcm.tls.cert-file", pki.resolve("eu-core-" + i + ".crt").toString());
    m.put("openkcm.tls.key-file", pki.resolve("eu-core-" + i + ".key").toString());
    m.put("openkcm.authz.assignments.admins.admin-it", List.of("operator"));
    List<String> tenants = new ArrayList<>();
    for (int t = 0; t < TENANTS; t++) {
      tenants.add("tenant-" + t);
    }
    m.put("openkcm.authz.assignments.gateways.gw-it", tenants);
    m.put("openkcm.core.keystore.devfile.auto-create-keys", false);
    m.put("openkcm.core.seal.auto.l1-reference", "devfile:shared-root");
    // the other nodes reach this one through its recording proxy; it listens on the port behind it
    m.put("pekko.remote.artery.canonical.port", proxyPorts[i]);
    m.put("pekko.remote.artery.bind.hostname", "127.0.0.1");
    m.put("pekko.remote.artery.bind.port", bindPorts[i]);
    m.put("pekko.cluster.seed-nodes", List.of("pekko://openkcm-core@127.0.0.1:" + proxyPorts[0]));
    return NodeConfig.load(
        "core", "test", ConfigFactory.parseMap(m).withFallback(db.journalConfig()));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    for (int i = NODES - 1; i >= 0; i--) {
      if (nodes[i] != null) {
        nodes[i].close();
      }
    }
    for (RecordingProxy p : proxies) {
      if (p != null) {
        p.close();
      }
    }
    if (kit != null) {
      kit.shutdownTestKit();
    }
    db.close();
  }

  @Test
  void clusterServesAcrossNodesAndItsTrafficCarriesNoDataKey() throws Exception {
    Set<String> hosts = new HashSet<>();
    for (int t = 0; t < TENANTS; t++) {
      String tenant = "tenant-" + t;
      hosts.add(
          admin(a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId(tenant).build()))
              .getNode());
    }
    String self = nodes[0].system().address().toString();
    assertTrue(
        hosts.stream().anyMatch(h -> !h.equals(self)),
        "some tenants live on another node than the one called: " + hosts);
    long recordedBefore = totalRecorded();
    List<byte[]> deks = new ArrayList<>();
    SecureRandom random = new SecureRandom();
    CoreKeyServiceClient core =
        CoreKeyServiceClient.create(settings(nodes[0], gatewayTls), kit.system());
    try {
      for (int round = 0; round < 5; round++) {
        for (int t = 0; t < TENANTS; t++) {
          WrapKeysRequest.Builder wrap =
              WrapKeysRequest.newBuilder().setTenantId("tenant-" + t).setServiceId("payments");
          List<byte[]> batch = new ArrayList<>();
          for (int k = 0; k < 8; k++) {
            byte[] dek = new byte[32];
            random.nextBytes(dek);
            batch.add(dek);
            wrap.addItems(
                WrapItem.newBuilder()
                    .setPlaintext(ByteString.copyFrom(dek))
                    .putContext("row", round + "-" + k));
          }
          WrapKeysResponse wrapped = Rpc.await(core.wrapKeys(wrap.build()));
          UnwrapKeysRequest.Builder unwrap =
              UnwrapKeysRequest.newBuilder().setTenantId("tenant-" + t);
          for (int k = 0; k < batch.size(); k++) {
            unwrap.addItems(
                UnwrapItem.newBuilder()
                    .setEnvelope(wrapped.getEnvelopes(k))
                    .putContext("row", round + "-" + k));
          }
          UnwrapKeysResponse opened = Rpc.await(core.unwrapKeys(unwrap.build()));
          for (int k = 0; k < batch.size(); k++) {
            assertArrayEquals(
                batch.get(k), opened.getResults(k).getPlaintext().toByteArray(), "round trip");
          }
          deks.addAll(batch);
        }
      }
    } finally {
      core.close();
    }
    byte[] traffic = recorded();
    assertTrue(
        totalRecorded() - recordedBefore > 10_000,
        "the burst crossed the cluster transport ("
            + (totalRecorded() - recordedBefore)
            + " bytes recorded)");
    for (byte[] dek : deks) {
      assertEquals(
          -1,
          Bytes.indexOf(traffic, java.util.Arrays.copyOfRange(dek, 0, 12)),
          "a data key's bytes crossed the cluster transport in the clear");
      assertEquals(
          -1,
          Bytes.indexOf(traffic, java.util.Arrays.copyOfRange(dek, 20, 32)),
          "a data key's bytes crossed the cluster transport in the clear");
    }
    assertEquals(0x16, traffic[0] & 0xff, "the first bytes on the wire open a TLS handshake");
  }

  @Test
  void nodeWithCertificateOfAnotherCaNeverJoins() throws Exception {
    Path foreign = dataDir.resolve("foreign-ca");
    DevCa other = DevCa.loadOrCreate(foreign, DOMAIN);
    other.issue(
        SpiffeId.parse("spiffe://" + DOMAIN + "/core/rogue-ca"),
        Duration.ofDays(1),
        foreign.resolve("rogue.crt"),
        foreign.resolve("rogue.key"));
    assertNeverJoins(
        Optional.of(
            new MutualTls.Settings(
                foreign.resolve("rogue.crt"),
                foreign.resolve("rogue.key"),
                foreign.resolve(DevCa.CA_CERT),
                DOMAIN,
                List.of("TLSv1.3"),
                Duration.ofSeconds(1))));
  }

  @Test
  void nodesWithGatewayAppOrAdminIdentityNeverJoin() throws Exception {
    assertNeverJoinAs("gateway/rogue-gw", "app/acme/payments", "admin/rogue-admin");
  }

  @Test
  void coresOfAnotherRegionOrOfNoRegionNeverJoin() throws Exception {
    assertNeverJoinAs("core/us/core-0", "core/eu-2", "core/core");
  }

  @Test
  void nodeWithoutCertificateNeverJoins() throws Exception {
    assertNeverJoins(Optional.empty());
  }

  @Test
  void rawTcpClientGetsNothingButATlsAlert() throws Exception {
    long before = ArteryTls.inboundHandshakes(proxyPorts[0]);
    byte[] answer;
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), bindPorts[0])) {
      s.setSoTimeout(10_000);
      // an Artery TCP connection header followed by junk, as a peer without TLS would send it
      s.getOutputStream()
          .write(
              "AKKA\u0000\u0001garbage that is no TLS record"
                  .getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      try {
        for (int n; (n = in.read(buf)) > 0 && got.size() < 65536; ) {
          got.write(buf, 0, n);
        }
      } catch (SocketTimeoutException | java.net.SocketException e) {
        // the node may reset instead of closing; either way nothing but an alert came back
      }
      answer = got.toByteArray();
    }
    assertTrue(
        ArteryTls.inboundHandshakes(proxyPorts[0]) > before, "the bytes reached the TLS listener");
    assertTrue(
        answer.length == 0 || (answer[0] & 0xff) == 0x15,
        "only a TLS alert (content type 21) or nothing, got "
            + answer.length
            + " bytes: "
            + java.util.HexFormat.of().formatHex(answer, 0, Math.min(16, answer.length)));
    assertEquals(NODES, upMembers(nodes[0]).size(), "the cluster is unharmed");
  }

  /** Would-be members with certificates of our CA for each of {@code ids}, none let in. */
  private static void assertNeverJoinAs(String... ids) throws Exception {
    DevCa ca = DevCa.loadOrCreate(pki, DOMAIN);
    for (String id : List.of(ids)) {
      String base = "rogue-" + id.replace('/', '-');
      ca.issue(
          SpiffeId.parse("spiffe://" + DOMAIN + "/" + id),
          Duration.ofDays(1),
          pki.resolve(base + ".crt"),
          pki.resolve(base + ".key"));
      assertNeverJoins(
          Optional.of(
              new MutualTls.Settings(
                  pki.resolve(base + ".crt"),
                  pki.resolve(base + ".key"),
                  pki.resolve(DevCa.CA_CERT),
                  DOMAIN,
                  List.of("TLSv1.3"),
                  Duration.ofSeconds(1))));
    }
  }

  /**
   * Starts a would-be member presenting {@code identity} (none = no certificate); it must never be
   * let in.
   */
  private static void assertNeverJoins(Optional<MutualTls.Settings> identity) throws Exception {
    int port = Rpc.freePort();
    long before = ArteryTls.inboundHandshakes(proxyPorts[0]);
    Map<String, Object> m = new HashMap<>();
    m.put("pekko.actor.provider", "cluster");
    m.put("pekko.remote.artery.transport", "tls-tcp");
    m.put("pekko.remote.artery.ssl.ssl-engine-provider", RogueTls.class.getName());
    m.put("pekko.remote.artery.canonical.hostname", "127.0.0.1");
    m.put("pekko.remote.artery.canonical.port", port);
    m.put("pekko.remote.artery.advanced.outbound-restart-backoff", "200ms");
    m.put("pekko.cluster.seed-nodes", List.of("pekko://openkcm-core@127.0.0.1:" + proxyPorts[0]));
    m.put("pekko.cluster.roles", List.of("crypto", "governance"));
    m.put("pekko.coordinated-shutdown.exit-jvm", "off");
    identity.ifPresent(
        s -> {
          m.put("rogue.cert-file", s.certFile().toString());
          m.put("rogue.key-file", s.keyFile().toString());
          m.put("rogue.trust-bundle-file", s.trustBundleFile().toString());
        });
    ActorSystem<Void> rogue =
        ActorSystem.create(
            Behaviors.empty(),
            "openkcm-core",
            ConfigFactory.parseMap(m).withFallback(ConfigFactory.load()));
    try {
      // each failed handshake makes the would-be member connect again: three attempts, all refused
      kit.createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(45),
              Duration.ofMillis(100),
              () -> {
                assertTrue(
                    ArteryTls.inboundHandshakes(proxyPorts[0]) >= before + 3,
                    "the would-be member kept trying");
                return null;
              });
      Set<String> members = upMembers(nodes[0]);
      assertEquals(NODES, members.size(), "members: " + members);
      assertFalse(
          members.contains(rogue.address().toString()), "the would-be member is not a member");
      for (Member member : Cluster.get(nodes[0].system()).state().getMembers()) {
        assertNotEquals(rogue.address(), member.address());
      }
      assertNotEquals(
          MemberStatus.up(), Cluster.get(rogue).selfMember().status(), "it never saw itself up");
    } finally {
      rogue.terminate();
      rogue
          .getWhenTerminated()
          .toCompletableFuture()
          .get(30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  /**
   * The would-be member's transport: presents the configured certificate (or none) and trusts any
   * server, so only the Core's own refusal keeps it out.
   */
  public static final class RogueTls implements SSLEngineProvider {
    private final SSLContext context;

    public RogueTls(org.apache.pekko.actor.ActorSystem system) throws Exception {
      Config c = system.settings().config();
      context = SSLContext.getInstance("TLSv1.3");
      TrustManager[] trustAll = {
        new X509TrustManager() {
          @Override
          public void checkClientTrusted(
              java.security.cert.X509Certificate[] chain, String authType) {}

          @Override
          public void checkServerTrusted(
              java.security.cert.X509Certificate[] chain, String authType) {}

          @Override
          public java.security.cert.X509Certificate[] getAcceptedIssuers() {
            return new java.security.cert.X509Certificate[0];
          }
        }
      };
      if (c.hasPath("rogue.cert-file")) {
        MutualTls tls =
            MutualTls.load(
                new MutualTls.Settings(
                    Path.of(c.getString("rogue.cert-file")),
                    Path.of(c.getString("rogue.key-file")),
                    Path.of(c.getString("rogue.trust-bundle-file")),
                    DOMAIN,
                    List.of("TLSv1.3"),
                    Duration.ofSeconds(1)));
        context.init(
            new javax.net.ssl.KeyManager[] {tls.keyManager()}, trustAll, new SecureRandom());
      } else {
        context.init(null, trustAll, new SecureRandom());
      }
    }

    @Override
    public SSLEngine createServerSSLEngine(String hostname, int port) {
      SSLEngine e = context.createSSLEngine();
      e.setUseClientMode(false);
      return e;
    }

    @Override
    public SSLEngine createClientSSLEngine(String hostname, int port) {
      SSLEngine e = context.createSSLEngine(hostname, port);
      e.setUseClientMode(true);
      return e;
    }

    @Override
    public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
      return Option.empty();
    }

    @Override
    public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
      return Option.empty();
    }
  }

  // ---------------------------------------------------------------- plumbing

  private static Set<String> upMembers(CoreNode node) {
    Set<String> up = new HashSet<>();
    for (Member m : Cluster.get(node.system()).state().getMembers()) {
      if (m.status() == MemberStatus.up()) {
        up.add(m.address().toString());
      }
    }
    return up;
  }

  private static MutualTls clientIdentity(DevCa ca, String base, String id) {
    ca.issue(
        SpiffeId.parse(id),
        Instant.now().minusSeconds(60),
        Instant.now().plus(Duration.ofDays(1)),
        pki.resolve(base + ".crt"),
        pki.resolve(base + ".key"));
    return MutualTls.load(MutualTls.Settings.forDir(pki, base));
  }

  private static GrpcClientSettings settings(CoreNode node, MutualTls tls) {
    return NodeTls.client(
        GrpcClientSettings.connectToServiceAt(
                "127.0.0.1", node.grpcAddress().getPort(), kit.system())
            .withDeadline(Rpc.CALL),
        Optional.of(tls),
        Set.of("core"));
  }

  private static <T> T admin(
      Function<AdminServiceClient, java.util.concurrent.CompletionStage<T>> call) {
    AdminServiceClient a = AdminServiceClient.create(settings(nodes[0], adminTls), kit.system());
    try {
      return Rpc.await(call.apply(a));
    } finally {
      a.close();
    }
  }

  private static byte[] recorded() {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (RecordingProxy p : proxies) {
      all.writeBytes(p.bytes());
    }
    return all.toByteArray();
  }

  private static long totalRecorded() {
    long n = 0;
    for (RecordingProxy p : proxies) {
      n += p.size();
    }
    return n;
  }

  /**
   * Forwards loopback TCP connections from one port to another and keeps every byte that passes,
   * both ways.
   */
  static final class RecordingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int target;
    private final ByteArrayOutputStream seen = new ByteArrayOutputStream();
    private final List<Socket> open = new ArrayList<>();
    private final Thread acceptor;

    RecordingProxy(int listen, int target) throws Exception {
      this.server = new ServerSocket(listen, 50, InetAddress.getLoopbackAddress());
      this.target = target;
      this.acceptor = new Thread(this::acceptLoop, "recording-proxy-" + listen);
      acceptor.setDaemon(true);
      acceptor.start();
    }

    private void acceptLoop() {
      while (!server.isClosed()) {
        try {
          Socket in = server.accept();
          Socket out = new Socket(InetAddress.getLoopbackAddress(), target);
          synchronized (open) {
            open.add(in);
            open.add(out);
          }
          pump(in, out);
          pump(out, in);
        } catch (Exception e) {
          return; // closed
        }
      }
    }

    private void pump(Socket from, Socket to) {
      Thread t =
          new Thread(
              () -> {
                byte[] buf = new byte[16384];
                try (InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream()) {
                  for (int n; (n = in.read(buf)) > 0; ) {
                    synchronized (seen) {
                      seen.write(buf, 0, n);
                    }
                    out.write(buf, 0, n);
                    out.flush();
                  }
                } catch (Exception e) {
                  // connection ended
                } finally {
                  closeQuietly(from);
                  closeQuietly(to);
                }
              },
              "recording-proxy-pump");
      t.setDaemon(true);
      t.start();
    }

    byte[] bytes() {
      synchronized (seen) {
        return seen.toByteArray();
      }
    }

    long size() {
      synchronized (seen) {
        return seen.size();
      }
    }

    @Override
    public void close() {
      closeQuietly(server);
      synchronized (open) {
        open.forEach(RecordingProxy::closeQuietly);
      }
    }

    private static void closeQuietly(AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        // closing anyway
      }
    }
  }
}
