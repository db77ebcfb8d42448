package org.openkcm.gateway;

import com.typesafe.config.Config;
import io.grpc.ServerServiceDefinition;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBuilder;
import org.openkcm.gateway.batch.Coalescer;
import org.openkcm.gateway.cache.DekCache;
import org.openkcm.gateway.corelink.CoreLink;
import org.openkcm.gateway.corelink.KeyCalls;
import org.openkcm.gateway.datakey.DataKeyServiceImpl;
import org.openkcm.gateway.pool.DekPool;
import org.openkcm.gateway.store.SqlDatabase;
import org.openkcm.gateway.tenantwatch.TenantStates;
import org.openkcm.gateway.tenantwatch.TenantWatch;
import org.openkcm.gateway.transport.DataKeyServers;
import org.openkcm.gateway.vault.InMemoryKeyVault;
import org.openkcm.gateway.vault.JdbcKeyVault;
import org.openkcm.gateway.vault.KeyVault;
import org.openkcm.gateway.vault.RedisKeyVault;
import org.openkcm.node.authz.Authorizer;
import org.openkcm.node.grpc.NettyGrpcServer;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapResult;
import org.openkcm.protocol.crypto.KeyRandom;
import org.openkcm.protocol.gateway.v1.DataKeyServiceHandlerFactory;
import org.openkcm.protocol.gateway.v1.KeyVaultService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: its actor system, its link to the Core and the application-facing gRPC
 * endpoint.
 */
public final class GatewayNode implements AutoCloseable {

  public static final String SYSTEM_NAME = "openkcm-gateway";
  private static final Logger log = LoggerFactory.getLogger(GatewayNode.class);

  private final ActorSystem<Void> system;
  private final Listener listener;
  private final Wiring wiring;
  private final Optional<org.openkcm.kmip.server.KmipListener> kmip;

  /** What a running gateway is made of (tests look at the cache and the tenant states). */
  public record Wiring(
      GatewaySettings settings,
      CoreLink core,
      Optional<DekCache> cache,
      Optional<DekPool> pool,
      Coalescer<String, UnwrapItem, UnwrapResult> unwraps,
      Coalescer<DataKeyServiceImpl.WrapLane, CoreLink.ToWrap, CoreLink.WrappedKey> wraps,
      TenantStates tenants,
      KeyVault vault,
      org.openkcm.kmip.server.ObjectStore kmipObjects,
      Optional<MutualTls> tls,
      Optional<Authorizer> authz) {}

  /** Who may connect to the gateway's listener (what each may do is decided per call). */
  public static final Set<String> CALLER_KINDS = Set.of("app", "admin");

  private GatewayNode(
      ActorSystem<Void> system,
      Listener listener,
      Wiring wiring,
      Optional<org.openkcm.kmip.server.KmipListener> kmip) {
    this.system = system;
    this.listener = listener;
    this.wiring = wiring;
    this.kmip = kmip;
  }

  /** Starts a gateway from {@code config} (section {@code openkcm.gateway}). Blocks until bound. */
  public static GatewayNode start(Config config) {
    return start(config, e -> true);
  }

  /**
   * As {@link #start(Config)}, applying only the watch events {@code delivered} accepts (tests lose
   * some).
   */
  public static GatewayNode start(
      Config config,
      java.util.function.Predicate<org.openkcm.protocol.core.v1.TenantEvent> delivered) {
    org.openkcm.node.config.ProfileGuard.check(config, "gateway");
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), SYSTEM_NAME, config);
    try {
      org.openkcm.node.health.Management.start(system)
          .exceptionally(
              e -> {
                log.error("management did not start (no /alive, /ready): {}", e.getMessage());
                return Optional.empty();
              });
      Wiring wiring = wire(system, delivered);
      Listener listener = bind(system, wiring).toCompletableFuture().get(30, TimeUnit.SECONDS);
      org.openkcm.node.health.NodeHealth.get(system).serving();
      return new GatewayNode(
          system,
          listener,
          wiring,
          org.openkcm.gateway.kmip.KmipEndpoint.start(system, wiring, dataKeys(wiring)));
    } catch (Exception e) {
      system.terminate();
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      throw new IllegalStateException("gateway failed to start: " + root.getMessage(), e);
    }
  }

  /**
   * The Core link, the optional DEK cache and the tenant-event watch of {@code system}'s gateway.
   */
  public static Wiring wire(ActorSystem<?> system) {
    return wire(system, e -> true);
  }

  /**
   * As {@link #wire(ActorSystem)}, applying only the watch events {@code delivered} accepts (tests
   * lose some).
   */
  public static Wiring wire(
      ActorSystem<?> system,
      java.util.function.Predicate<org.openkcm.protocol.core.v1.TenantEvent> delivered) {
    GatewaySettings c =
        GatewaySettings.from(system.settings().config().getConfig("openkcm.gateway"));
    Optional<MutualTls> tls = NodeTls.load(system.settings().config(), "gateway", c.name());
    org.openkcm.node.audit.AuditTrailSettings.start(system, tls);
    CoreLink core =
        new CoreLink(
            system,
            c.core().endpoints(),
            c.core().keyEndpoints(),
            e ->
                c.core().client().equals("pekko")
                    ? KeyCalls.pekko(
                        system,
                        e,
                        c.core().requestTimeout(),
                        settings -> NodeTls.client(settings, tls, Set.of("core")))
                    : KeyCalls.netty(e, c.core().requestTimeout(), tls, Set.of("core")),
            e ->
                org.openkcm.node.grpc.NettyGrpcClient.connect(
                    e.host(), e.port(), tls, Set.of("core"), c.core().requestTimeout(), true),
            c.core().requestTimeout(),
            settings -> NodeTls.client(settings, tls, Set.of("core")),
            c.core().streaming());
    Optional<DekCache> cache =
        c.cache().map(k -> new DekCache(k.ttl(), k.maxEntries(), Clock.systemUTC()));
    TenantStates tenants = new TenantStates(c.watch().lease());
    Optional<DekPool> pool =
        c.pool().map(p -> new DekPool(p, core, tenants, KeyRandom.create("gateway")));
    GatewayProbes.register(system, tenants, pool, cache);
    // a coalesced call never carries more keys than one application call may (the Core's own
    // limit is set at least as high)
    int coalesced = Math.min(c.batching().maxBatch(), c.maxBatch());
    Coalescer<String, UnwrapItem, UnwrapResult> unwraps =
        new Coalescer<>(core::unwrap, coalesced, c.batching().maxInFlightPerTenant());
    Coalescer<DataKeyServiceImpl.WrapLane, CoreLink.ToWrap, CoreLink.WrappedKey> wraps =
        new Coalescer<>(
            (lane, items, cid) -> core.wrapEach(lane.tenantId(), lane.serviceId(), items, cid),
            coalesced,
            c.batching().maxInFlightPerTenant());
    java.util.function.Consumer<String> flush =
        tenant -> {
          cache.ifPresent(k -> k.flush(tenant));
          pool.ifPresent(k -> k.flush(tenant));
        };
    KeyVault vault = vault(system, c.vault());
    org.openkcm.kmip.server.ObjectStore kmipObjects =
        org.openkcm.gateway.kmip.KmipEndpoint.store(system);
    java.util.function.Consumer<String> offboarded =
        tenant -> {
          try {
            kmipObjects.dropTenant(tenant);
            log.warn("tenant {} offboarded: its KMIP objects dropped", tenant);
          } catch (RuntimeException e) {
            log.error(
                "tenant {} offboarded, but dropping its KMIP objects failed: {}",
                tenant,
                e.toString());
          }
          vault
              .dropTenant(tenant)
              .whenComplete(
                  (done, failure) -> {
                    if (failure == null) {
                      log.warn(
                          "tenant {} offboarded: its {} vault keys dropped", tenant, vault.kind());
                    } else {
                      log.error(
                          "tenant {} offboarded, but dropping its {} vault keys failed: {}",
                          tenant,
                          vault.kind(),
                          failure.toString());
                    }
                  });
        };
    core.signals(
        new CoreLink.TenantSignals() {
          @Override
          public void blocked(String tenantId, org.openkcm.protocol.error.OpenKcmException why) {
            tenants.blocked(tenantId);
            flush.accept(tenantId);
            log.info(
                "tenant {}: the Core answered {}; local state dropped", tenantId, why.reason());
          }

          @Override
          public void offboarded(String tenantId) {
            offboarded.accept(tenantId);
          }

          @Override
          public void answered(String tenantId, long sequence) {
            if (!tenants.answered(tenantId, sequence)) {
              flush.accept(tenantId);
              log.info(
                  "tenant {}: the Core is at event {}, past what the watch delivered; re-syncing",
                  tenantId,
                  sequence);
            }
          }
        });
    if (c.watch().enabled()) {
      TenantWatch.start(
          system,
          core.streamingClients(),
          c.name(),
          tenants,
          flush,
          offboarded,
          c.watch().minBackoff(),
          c.watch().maxBackoff(),
          delivered);
    }
    Optional<Authorizer> authz = Authorizer.forNode(system.settings().config(), tls);
    if (authz.isPresent() && !c.grpc().server().equals("netty")) {
      throw new IllegalArgumentException(
          "openkcm.gateway.grpc.server = "
              + c.grpc().server()
              + " cannot hand caller identities to the authorization policies; with mTLS on use netty");
    }
    return new Wiring(
        c, core, cache, pool, unwraps, wraps, tenants, vault, kmipObjects, tls, authz);
  }

  private static KeyVault vault(ActorSystem<?> system, Config v) {
    String backend = v.getString("backend");
    KeyVault vault =
        switch (backend) {
          case "memory" -> new InMemoryKeyVault(Clock.systemUTC());
          case "redis" ->
              new RedisKeyVault(
                  v.getString("redis.uri"),
                  v.getString("redis.key-prefix"),
                  Clock.systemUTC(),
                  v.getInt("redis.wait-replicas"),
                  v.getDuration("redis.wait-timeout"));
          case "postgres", "embedded" ->
              new JdbcKeyVault(
                  SqlDatabase.open(v.getConfig(backend), "openkcm-vault"),
                  system.dispatchers().lookup(DispatcherSelector.blocking()),
                  Clock.systemUTC());
          default ->
              throw new IllegalArgumentException(
                  "openkcm.gateway.vault.backend must be memory, embedded, redis or postgres, was "
                      + backend);
        };
    system.getWhenTerminated().thenRun(vault::close);
    log.info("L4 vault backend: {}", vault.kind());
    return vault;
  }

  /** The bound application-facing listener: its address and how to stop it. */
  public record Listener(InetSocketAddress address, String transport) {}

  /**
   * Binds the data-key API of {@code wiring} on the transport {@code openkcm.gateway.grpc.server}
   * names (grpc-java Netty or pekko-http); completes when bound. The listener stops with the actor
   * system.
   */
  public static CompletionStage<Listener> bind(ActorSystem<?> system, Wiring wiring) {
    GatewaySettings c = wiring.settings();
    DataKeyServiceImpl service = dataKeys(wiring);
    KeyVaultService vaultService =
        new org.openkcm.gateway.vault.KeyVaultServiceImpl(
            wiring.vault(), service, KeyRandom.create("gateway"));
    String transport = c.grpc().server();
    CompletionStage<Listener> bound =
        switch (transport) {
          case "netty" ->
              CompletableFuture.completedFuture(
                  bindNetty(
                      system,
                      c.grpc(),
                      wiring.tls(),
                      List.of(
                          DataKeyServers.definition(
                              service,
                              wiring.authz(),
                              system.settings().config().getBoolean("openkcm.audit.gateway-calls")),
                          DataKeyServers.vaultDefinition(
                              vaultService,
                              wiring.authz(),
                              system
                                  .settings()
                                  .config()
                                  .getBoolean("openkcm.audit.gateway-calls")))));
          case "pekko" ->
              pekkoServer(system, c.grpc(), wiring.tls())
                  .bind(
                      org.apache.pekko.grpc.javadsl.ServiceHandler.concatOrNotFound(
                          DataKeyServiceHandlerFactory.create(service, system),
                          org.openkcm.protocol.gateway.v1.KeyVaultServiceHandlerFactory.create(
                              vaultService, system)))
                  .thenApply(
                      binding -> {
                        binding.addToCoordinatedShutdown(c.grpc().drainTimeout(), system);
                        return new Listener(binding.localAddress(), "pekko-http");
                      });
          default ->
              throw new IllegalArgumentException(
                  "openkcm.gateway.grpc.server must be netty or pekko, was " + transport);
        };
    return bound.thenApply(
        l -> {
          log.info(
              "gateway DataKeyService listening on {} ({}, {}; Core nodes {})",
              l.address(),
              l.transport(),
              wiring
                  .tls()
                  .map(
                      t ->
                          "mTLS "
                              + t.settings().protocols()
                              + " as "
                              + t.identity()
                              + ", accepting "
                              + CALLER_KINDS)
                  .orElse("PLAINTEXT"),
              c.core().endpoints());
          return l;
        });
  }

  /** The data-key service over {@code wiring}'s Core link, cache, pool and tenant states. */
  private static DataKeyServiceImpl dataKeys(Wiring wiring) {
    GatewaySettings c = wiring.settings();
    return new DataKeyServiceImpl(
        new DataKeyServiceImpl.Parts(
            wiring.core(),
            KeyRandom.create("gateway"),
            c.defaultKeyLength(),
            c.maxBatch(),
            wiring.cache(),
            wiring.pool(),
            wiring.unwraps(),
            wiring.wraps(),
            wiring.tenants()));
  }

  private static ServerBuilder pekkoServer(
      ActorSystem<?> system, GatewaySettings.Grpc grpc, Optional<MutualTls> tls) {
    ServerBuilder server = Http.get(system).newServerAt(grpc.host(), grpc.port());
    if (tls.isEmpty()) {
      return server;
    }
    SSLContext ctx = tls.get().sslContext(CALLER_KINDS);
    return server.enableHttps(ConnectionContext.httpsServer(() -> tls.get().serverEngine(ctx)));
  }

  /**
   * Serves {@code services} on grpc-java's Netty server at grpc.host:grpc.port until {@code system}
   * stops.
   */
  public static Listener bindNetty(
      ActorSystem<?> system,
      GatewaySettings.Grpc grpc,
      Optional<MutualTls> tls,
      List<ServerServiceDefinition> services) {
    NettyGrpcServer server =
        NettyGrpcServer.start(
            grpc.host(),
            grpc.port(),
            new NettyGrpcServer.Limits(
                grpc.maxConcurrentCallsPerConnection(), grpc.maxRequestSize(), grpc.drainTimeout()),
            grpc.executor().equals("direct") ? Runnable::run : system.executionContext(),
            tls,
            CALLER_KINDS,
            services.stream()
                .map(
                    d ->
                        io.grpc.ServerInterceptors.intercept(
                            d,
                            new org.openkcm.node.grpc.RpcMetricsInterceptor(
                                org.openkcm.node.metrics.NodeMetrics.get(system))))
                .toList());
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseServiceUnbind(),
            "stop-grpc-" + server.address(),
            () ->
                CompletableFuture.supplyAsync(
                    () -> {
                      server.close();
                      return Done.getInstance();
                    }));
    system.getWhenTerminated().thenRun(server::close);
    return new Listener(server.address(), "grpc-java netty");
  }

  public Wiring wiring() {
    return wiring;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public InetSocketAddress grpcAddress() {
    return listener.address();
  }

  /** KMIP requests answered so far (0 when KMIP is off). */
  public int kmipServed() {
    return kmip.map(org.openkcm.kmip.server.KmipListener::served).orElse(0);
  }

  /** Where KMIP listens, when it is on (it needs mTLS). */
  public Optional<InetSocketAddress> kmipAddress() {
    return kmip.map(org.openkcm.kmip.server.KmipListener::address);
  }

  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("gateway did not terminate cleanly: {}", e.toString());
    }
  }
}
