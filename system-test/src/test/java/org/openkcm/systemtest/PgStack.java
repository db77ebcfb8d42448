package org.openkcm.systemtest;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.openkcm.core.CoreNode;
import org.openkcm.core.testing.PostgresSchema;
import org.openkcm.core.testing.Rpc;
import org.openkcm.gateway.GatewayNode;
import org.openkcm.node.config.NodeConfig;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;

/**
 * One Core whose journal is a throw-away schema of the real PostgreSQL, one gateway pointed at it,
 * and a client actor system with a data-key client; the Core can be stopped and started again on
 * the same port. With {@code openkcm.tls.enabled = true} (and {@code openkcm.tls.dir}) in the
 * Core's settings every link is mutual TLS on the development CA of that directory: the gateway
 * too, admin calls as {@code admin/cli}, data-key calls as {@code app/<tenant>/<service>} ({@link
 * #app(String, String)}; {@link #app} is {@code app/acme/payments}).
 */
final class PgStack implements AutoCloseable {

  final PostgresSchema db;
  final Config coreConfig;
  final GatewayNode gateway;
  final ActorTestKit client;
  final DataKeyServiceClient app;
  private final Optional<MutualTls> adminTls;
  private final Map<String, DataKeyServiceClient> apps = new ConcurrentHashMap<>();
  private CoreNode core;

  private PgStack(
      PostgresSchema db,
      Config coreConfig,
      CoreNode core,
      GatewayNode gateway,
      ActorTestKit client,
      Optional<MutualTls> adminTls) {
    this.db = db;
    this.coreConfig = coreConfig;
    this.core = core;
    this.gateway = gateway;
    this.client = client;
    this.adminTls = adminTls;
    this.app = app("acme", "payments");
  }

  /** A data-key client of the gateway, as application {@code tenant}/{@code service} under mTLS. */
  DataKeyServiceClient app(String tenant, String service) {
    return apps.computeIfAbsent(
        adminTls.isEmpty() ? "" : tenant + "/" + service,
        id -> {
          GrpcClientSettings at =
              GrpcClientSettings.connectToServiceAt(
                      "127.0.0.1", gateway.grpcAddress().getPort(), client.system())
                  .withDeadline(Rpc.CALL);
          if (adminTls.isEmpty()) {
            return DataKeyServiceClient.create(at.withTls(false), client.system());
          }
          Path pki = Path.of(coreConfig.getString("openkcm.tls.dir"));
          String domain = coreConfig.getString("openkcm.tls.trust-domain");
          String base = "app-" + tenant + "-" + service;
          DevCa.loadOrCreate(pki, domain)
              .ensure(
                  pki,
                  base,
                  new SpiffeId(domain, List.of("app", tenant, service)),
                  Duration.ofDays(1));
          MutualTls tls = MutualTls.load(MutualTls.Settings.forDir(pki, base));
          return DataKeyServiceClient.create(
              NodeTls.client(at, Optional.of(tls), Set.of("gateway")), client.system());
        });
  }

  /** A certificate of this stack's development CA for {@code spiffe://<domain>/<path...>}. */
  MutualTls identity(String... path) {
    Path pki = Path.of(coreConfig.getString("openkcm.tls.dir"));
    String domain = coreConfig.getString("openkcm.tls.trust-domain");
    String base = "it-" + String.join("-", path);
    DevCa.loadOrCreate(pki, domain)
        .ensure(pki, base, new SpiffeId(domain, List.of(path)), Duration.ofDays(1));
    return MutualTls.load(MutualTls.Settings.forDir(pki, base));
  }

  /** A call to the Orbital endpoint at {@code port} as {@code as} (mTLS). */
  <T> T orbital(
      int port,
      MutualTls as,
      Function<org.openkcm.protocol.orbital.v1.OrbitalServiceClient, CompletionStage<T>> call) {
    var orbital =
        org.openkcm.protocol.orbital.v1.OrbitalServiceClient.create(
            NodeTls.client(
                GrpcClientSettings.connectToServiceAt("127.0.0.1", port, client.system())
                    .withDeadline(Rpc.CALL),
                Optional.of(as),
                Set.of("core")),
            client.system());
    try {
      return Rpc.await(call.apply(orbital));
    } finally {
      orbital.close();
    }
  }

  static PgStack start(
      String name, Map<String, Object> coreSettings, Map<String, Object> gatewaySettings)
      throws Exception {
    return start(name, coreSettings, gatewaySettings, e -> true);
  }

  /** As above, the gateway applying only the watch events {@code delivered} accepts. */
  static PgStack start(
      String name,
      Map<String, Object> coreSettings,
      Map<String, Object> gatewaySettings,
      java.util.function.Predicate<org.openkcm.protocol.core.v1.TenantEvent> delivered)
      throws Exception {
    PostgresSchema db = new PostgresSchema();
    try {
      Map<String, Object> c = new HashMap<>(coreSettings);
      c.putIfAbsent("openkcm.data-dir", Files.createTempDirectory("openkcm-" + name).toString());
      boolean portChosenHere = !c.containsKey("openkcm.core.grpc.port");
      Config coreConfig;
      CoreNode core;
      for (int attempt = 1; ; attempt++) {
        if (portChosenHere) {
          // a fixed port (restarts reuse it), picked free; another socket of this JVM may take it
          // before the Core binds it: then pick another
          c.put("openkcm.core.grpc.port", Rpc.freePort());
        }
        coreConfig =
            NodeConfig.load(
                "core", "test", ConfigFactory.parseMap(c).withFallback(db.journalConfig()));
        try {
          core = CoreNode.start(coreConfig);
          break;
        } catch (IllegalStateException e) {
          if (!portChosenHere
              || attempt >= 3
              || String.valueOf(e.getMessage()).indexOf("Address already in use") < 0) {
            throw e;
          }
        }
      }
      Map<String, Object> g = new HashMap<>(gatewaySettings);
      g.put("openkcm.gateway.core.port", core.grpcAddress().getPort());
      if (Boolean.TRUE.equals(c.get("openkcm.tls.enabled"))) {
        g.put("openkcm.tls.enabled", true);
        g.put("openkcm.tls.dir", c.get("openkcm.tls.dir"));
      }
      GatewayNode gateway =
          GatewayNode.start(
              NodeConfig.load("gateway", "test", ConfigFactory.parseMap(g)), delivered);
      ActorTestKit client =
          ActorTestKit.create(
              name + "-client", ConfigFactory.parseString("pekko.actor.provider = local"));
      return new PgStack(
          db, coreConfig, core, gateway, client, NodeTls.loadDevClient(coreConfig, "cli"));
    } catch (Exception | AssertionError e) {
      db.close();
      throw e;
    }
  }

  GatewayNode gateway() {
    return gateway;
  }

  CoreNode core() {
    return core;
  }

  int corePort() {
    return coreConfig.getInt("openkcm.core.grpc.port");
  }

  void stopCore() {
    core.close();
    core = null;
  }

  void startCore() {
    core =
        CoreNode.start(
            coreConfig.withValue(
                "openkcm.core.grpc.port", ConfigValueFactory.fromAnyRef(corePort())));
  }

  <T> T admin(Function<AdminServiceClient, CompletionStage<T>> call) {
    if (adminTls.isEmpty()) {
      return Rpc.admin(client.system(), corePort(), call);
    }
    AdminServiceClient admin =
        AdminServiceClient.create(
            NodeTls.client(
                GrpcClientSettings.connectToServiceAt("127.0.0.1", corePort(), client.system())
                    .withDeadline(Rpc.CALL),
                adminTls,
                Set.of("core")),
            client.system());
    try {
      return Rpc.await(call.apply(admin));
    } finally {
      admin.close();
    }
  }

  @Override
  public void close() throws Exception {
    try {
      apps.values().forEach(DataKeyServiceClient::close);
      client.shutdownTestKit();
      gateway.close();
      if (core != null) {
        core.close();
      }
    } finally {
      db.close();
    }
  }
}
