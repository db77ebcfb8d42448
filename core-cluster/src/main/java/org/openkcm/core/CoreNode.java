package org.openkcm.core;

import com.typesafe.config.Config;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.openkcm.core.api.CoreApi;
import org.openkcm.core.cluster.ClusterTransport;
import org.openkcm.core.keystore.AwsKmsKeystore;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.keystore.L1Keystore;
import org.openkcm.core.keystore.L1Keystores;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.keystore.Pkcs11Keystore;
import org.openkcm.core.killswitch.KillSwitches;
import org.openkcm.core.persistence.JournalProbe;
import org.openkcm.core.persistence.JournalSchema;
import org.openkcm.core.seal.SealService;
import org.openkcm.core.tenant.LocalTenants;
import org.openkcm.core.tenant.TenantDependencies;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.core.tenant.TenantEvents;
import org.openkcm.core.tenant.TenantSettings;
import org.openkcm.node.authz.Authorizer;
import org.openkcm.node.config.ProfileGuard;
import org.openkcm.node.health.Management;
import org.openkcm.node.health.NodeHealth;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.protocol.crypto.KeyRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Core node: its actor system (cluster member), tenant sharding and gRPC endpoint. {@link
 * #start} boots one from configuration; {@link #init} wires an existing system (tests choose the
 * keystore).
 */
public final class CoreNode implements AutoCloseable {

  public static final String SYSTEM_NAME = "openkcm-core";
  private static final Logger log = LoggerFactory.getLogger(CoreNode.class);

  private final ActorSystem<Void> system;

  /** Who may open a connection to the Core's listener (what each may do is decided per call). */
  public static final Set<String> CALLER_KINDS = org.openkcm.core.api.CoreApi.CALLER_KINDS;

  private final ServerBinding binding;
  private final Optional<DevFileKeystore> devKeystore;

  private CoreNode(
      ActorSystem<Void> system, ServerBinding binding, Optional<DevFileKeystore> devKeystore) {
    this.system = system;
    this.binding = binding;
    this.devKeystore = devKeystore;
  }

  /**
   * Starts a Core node from {@code config}, with the keystore drivers it enables. Blocks until
   * bound.
   */
  public static CoreNode start(Config config) {
    ProfileGuard.check(config, "core");
    ActorSystem<Void> system =
        ActorSystem.create(Behaviors.empty(), SYSTEM_NAME, ClusterTransport.apply(config));
    try {
      Optional<DevFileKeystore> dev = Optional.empty();
      List<L1Keystore> drivers = new ArrayList<>();
      Config ks = config.getConfig("openkcm.core.keystore");
      if (ks.getBoolean("devfile.enabled")) {
        DevFileKeystore d =
            new DevFileKeystore(
                Path.of(ks.getString("devfile.directory")),
                ks.getBoolean("devfile.auto-create-keys"),
                blockingExecutor(system));
        drivers.add(d);
        dev = Optional.of(d);
      }
      if (ks.getBoolean("aws-kms.enabled")) {
        drivers.add(
            new AwsKmsKeystore(
                AwsKmsKeystore.Settings.fromConfig(ks.getConfig("aws-kms")),
                blockingExecutor(system)));
      }
      if (ks.getBoolean("pkcs11.enabled")) {
        drivers.add(
            new Pkcs11Keystore(
                Pkcs11Keystore.Settings.fromConfig(ks.getConfig("pkcs11")),
                blockingExecutor(system)));
      }
      if (drivers.isEmpty()) {
        throw new IllegalArgumentException(
            "no L1 keystore driver is enabled (openkcm.core.keystore.*.enabled)");
      }
      ServerBinding binding =
          init(system, new L1Keystores(drivers)).toCompletableFuture().get(60, TimeUnit.SECONDS);
      return new CoreNode(system, binding, dev);
    } catch (Exception e) {
      system.terminate();
      throw new IllegalStateException("Core node failed to start: " + rootMessage(e), e);
    }
  }

  /**
   * The gRPC services plus the governance surface over the same authorized admin service: the
   * REST/JSON API under /v1/ on the same listener, and the web console on its own loopback listener
   * (REST mints its sign-in URLs).
   */
  private static org.apache.pekko.japi.function.Function<
          org.apache.pekko.http.javadsl.model.HttpRequest,
          CompletionStage<org.apache.pekko.http.javadsl.model.HttpResponse>>
      governance(ActorSystem<?> system, CoreApi.Handlers handlers) {
    Config console = system.settings().config().getConfig("openkcm.console");
    org.openkcm.core.console.ConsoleSessions sessions =
        new org.openkcm.core.console.ConsoleSessions(
            Clock.systemUTC(),
            console.getDuration("token-ttl"),
            console.getDuration("session-ttl"));
    CompletionStage<Optional<String>> consoleUrl =
        org.openkcm.core.console.Console.start(system, handlers.admin(), sessions);
    return new org.openkcm.core.rest.AdminRest(system, handlers.admin(), sessions, consoleUrl)
        .before(handlers.grpc());
  }

  /**
   * Wires tenants and the gRPC endpoint into {@code system}; completes when the endpoint is bound.
   */
  public static CompletionStage<ServerBinding> init(ActorSystem<?> system, L1Keystore drivers) {
    Config config = system.settings().config();
    L1Keystore keystore =
        new org.openkcm.core.keystore.MeteredKeystore(
            drivers, org.openkcm.node.metrics.NodeMetrics.get(system));
    NodeHealth health = NodeHealth.get(system);
    // on Pekko's blocking-IO dispatcher, not the keystore's: a slow database never queues L1 calls
    health.require(
        "journal",
        new JournalProbe(config, system.dispatchers().lookup(DispatcherSelector.blocking())));
    Management.start(system)
        .whenComplete(
            (uri, e) -> {
              if (e != null) {
                log.error("management did not start (no /alive, /ready): {}", rootMessage(e));
              }
              formCluster(system, config);
            });
    Duration askTimeout = config.getDuration("openkcm.core.tenant.ask-timeout");
    String region = config.getString("openkcm.core.region");
    Optional<MutualTls> tls = NodeTls.load(config, "core", config.getString("openkcm.tls.name"));
    Optional<Authorizer> authz = Authorizer.forNode(config, tls);
    org.openkcm.core.audit.AuditTrails.start(system, tls);
    java.util.concurrent.atomic.AtomicReference<org.openkcm.protocol.core.v1.CoreKeyServicePowerApi>
        keyService = new java.util.concurrent.atomic.AtomicReference<>();
    return JournalSchema.ensure(system, blockingExecutor(system))
        .thenCompose(
            done -> {
              KillSwitches killSwitches =
                  KillSwitches.init(
                      system,
                      region,
                      askTimeout,
                      config.getDuration("openkcm.core.kill-switch.refresh-interval"),
                      why ->
                          LocalTenants.tellAll(system, new TenantEntity.WipeKeys(why), askTimeout));
              SealService seal =
                  SealService.init(
                      system,
                      keystore,
                      askTimeout,
                      () ->
                          LocalTenants.tellAll(
                              system, new TenantEntity.WipeKeys("node sealed"), askTimeout));
              org.openkcm.node.metrics.NodeMetrics.get(system)
                  .gauge(
                      "openkcm_sealed",
                      "1 while this node is sealed (no tenant key can be opened), else 0",
                      () -> seal.master().isUnsealed() ? 0 : 1);
              health.require(
                  "kill-switch",
                  () ->
                      CompletableFuture.completedFuture(
                          killSwitches.watcher().loaded().isDone()
                                  && !killSwitches.watcher().loaded().isCompletedExceptionally()
                              ? Optional.<String>empty()
                              : Optional.of("this node has not loaded the kill-switch state")));
              health.require(
                  "seal",
                  () ->
                      seal.status()
                          .thenApply(
                              st ->
                                  !st.sealed()
                                      ? Optional.<String>empty()
                                      : Optional.of(
                                          st.initialised()
                                              ? "the node is sealed (enter unseal shares)"
                                              : "the seal is not initialised")));
              ActorRef<Topic.Command<TenantEvents.StatusChanged>> tenantEvents =
                  TenantEvents.topic(system);
              TenantEntity.init(
                  system,
                  new TenantDependencies(
                      keystore,
                      KeyRandom.create("core"),
                      Clock.systemUTC(),
                      TenantSettings.fromConfig(config),
                      killSwitches.watcher(),
                      seal.master(),
                      change -> tenantEvents.tell(Topic.publish(change))));
              CoreApi.Handlers handlers =
                  CoreApi.handler(
                      system, askTimeout, region, killSwitches, seal, tenantEvents, authz, tls);
              var handler = governance(system, handlers);
              keyService.set(handlers.keys());
              // Serve nothing before this node knows whether a kill-switch is in force; auto-unseal
              // before serving.
              return killSwitches
                  .watcher()
                  .loaded()
                  .thenCompose(v -> unsealAtStart(config, seal))
                  .thenApply(v -> handler);
            })
        .thenCompose(
            handler ->
                CoreApi.bind(
                    system,
                    config.getString("openkcm.core.grpc.host"),
                    config.getInt("openkcm.core.grpc.port"),
                    tls,
                    handler))
        .thenApply(
            binding -> {
              org.openkcm.core.api.CoreKeyListener.start(system, keyService.get(), tls);
              health.serving();
              return binding;
            });
  }

  /**
   * Joins the cluster once management runs: through cluster bootstrap when {@code
   * openkcm.core.cluster.bootstrap} is on (Kubernetes), else seed nodes (Pekko joins them itself),
   * else a one-node cluster when join-self is on (demo, dev).
   */
  private static void formCluster(ActorSystem<?> system, Config config) {
    Cluster cluster = Cluster.get(system);
    if (config.getBoolean("openkcm.core.cluster.bootstrap")) {
      if (!config.getBoolean("openkcm.management.enabled")) {
        log.error("openkcm.core.cluster.bootstrap needs openkcm.management.enabled: not joining");
        return;
      }
      ClusterBootstrap.get(system).start();
      log.info(
          "cluster bootstrap: finding contact points through {}",
          config.getString(
              "pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method"));
    } else if (config.getBoolean("openkcm.core.cluster.join-self")
        && config.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    }
  }

  private static CompletionStage<Void> unsealAtStart(Config config, SealService seal) {
    String mode = config.getString("openkcm.core.seal.mode");
    if (mode.equals("auto")) {
      L1Reference ref = L1Reference.parse(config.getString("openkcm.core.seal.auto.l1-reference"));
      return seal.autoUnseal(ref).thenAccept(st -> log.info("node auto-unsealed through {}", ref));
    }
    if (!mode.equals("shamir")) {
      throw new IllegalArgumentException(
          "openkcm.core.seal.mode must be auto or shamir, was " + mode);
    }
    return seal.status()
        .thenAccept(
            st ->
                log.warn(
                    st.initialised()
                        ? "node is SEALED: enter {} unseal shares (./openkcm admin unseal --share ...)"
                        : "seal not initialised: run ./openkcm admin init --shares N --threshold K (threshold {})",
                    st.threshold()));
  }

  static Executor blockingExecutor(ActorSystem<?> system) {
    return system
        .dispatchers()
        .lookup(DispatcherSelector.fromConfig("openkcm.core.keystore.dispatcher"));
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public InetSocketAddress grpcAddress() {
    return binding.localAddress();
  }

  /** The key listener (unary WrapKeys/UnwrapKeys/RewrapKeys on Netty), when enabled. */
  public Optional<InetSocketAddress> keyAddress() {
    return org.openkcm.core.api.CoreKeyListener.address(system);
  }

  /** The development keystore, when this node runs one (demo, tests). */
  public Optional<DevFileKeystore> devKeystore() {
    return devKeystore;
  }

  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("Core node did not terminate cleanly: {}", rootMessage(e));
    }
  }

  static String rootMessage(Throwable t) {
    Throwable cur = t;
    while (cur.getCause() != null && cur.getCause() != cur) {
      cur = cur.getCause();
    }
    return cur.getClass().getSimpleName() + ": " + cur.getMessage();
  }
}
