package org.openkcm.orbital;

import com.typesafe.config.Config;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.projection.jdbc.javadsl.JdbcProjection;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.core.seal.NodeMasterKey;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.orbital.v1.OrbitalServiceClient;
import org.openkcm.protocol.orbital.v1.OrbitalServicePowerApiHandlerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This region's Orbital replicator, running in a Core node's actor system: the endpoint where peers
 * deliver their events ({@link Inbox}) and one {@link Outbox} per peer. With mTLS on, peers connect
 * and are accepted as {@code core/} identities of the trust domain.
 */
public final class Orbital implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Orbital.class);

  /** Who may open a connection: peers' Cores, and operators (status only; checked per call). */
  private static final Set<String> CALLER_KINDS = Set.of("core", "admin");

  private final ServerBinding binding;
  private final List<org.apache.pekko.actor.Cancellable> heartbeats;

  private Orbital(ServerBinding binding, List<org.apache.pekko.actor.Cancellable> heartbeats) {
    this.binding = binding;
    this.heartbeats = heartbeats;
  }

  /** Starts Orbital on {@code system} (a started Core node) when it is enabled; empty otherwise. */
  public static Optional<Orbital> init(ActorSystem<?> system) {
    Config config = system.settings().config();
    OrbitalSettings settings = OrbitalSettings.from(config);
    if (!settings.enabled()) {
      return Optional.empty();
    }
    Optional<MutualTls> tls = NodeTls.load(config, "core", config.getString("openkcm.tls.name"));
    tls.ifPresent(t -> requireRegionIdentity(t.identity(), settings.region()));
    Config db = config.getConfig("pekko-persistence-jdbc.shared-databases.openkcm.db");
    Supplier<JournalSession> sessions = () -> new JournalSession(db);
    JdbcProjection.createTablesIfNotExists(sessions, system).toCompletableFuture().join();

    Traffic traffic = new Traffic();
    java.util.List<String> peers =
        settings.peers().stream().map(OrbitalSettings.Peer::name).toList();
    org.openkcm.node.metrics.NodeMetrics metrics = org.openkcm.node.metrics.NodeMetrics.get(system);
    metrics.gauge(
        "openkcm_replication_lag_p99_seconds",
        "99th percentile of the delay of the last 1000 events applied from each peer region",
        "peer",
        () -> {
          java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
          peers.forEach(p -> m.put(p, traffic.in(p).quantile(0.99) / 1000.0));
          return m;
        });
    metrics.gauge(
        "openkcm_replication_refused_events",
        "Events from the peer region refused here since this node started (never persisted: not from"
            + " the tenant's home, a conflicting onboarding, a reused version, a jump; alert on any"
            + " increase)",
        "peer",
        () -> {
          java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
          peers.forEach(p -> m.put(p, (double) traffic.in(p).refused()));
          return m;
        });
    metrics.gauge(
        "openkcm_replication_unrecoverable_gaps",
        "Gaps in the peer region's events that a catch-up could not fill since this node started (the"
            + " missing events were purged there behind a destroying event; alert on any increase)",
        "peer",
        () -> {
          java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
          peers.forEach(p -> m.put(p, (double) traffic.in(p).unrecoverableGaps()));
          return m;
        });
    metrics.gauge(
        "openkcm_replication_connected",
        "1 while the last shipment to the peer region arrived, else 0",
        "peer",
        () -> {
          java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
          peers.forEach(p -> m.put(p, traffic.out(p).connected() ? 1.0 : 0.0));
          return m;
        });
    StatusQuery status =
        new StatusQuery(
            settings,
            sessions,
            traffic,
            system
                .dispatchers()
                .lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking()));
    java.util.Map<String, Supplier<OrbitalServiceClient>> clients = new java.util.HashMap<>();
    for (OrbitalSettings.Peer peer : settings.peers()) {
      clients.put(
          peer.name(),
          () ->
              OrbitalServiceClient.create(
                  // only that region's Cores: another Core answering there gets nothing
                  NodeTls.clientOf(
                      GrpcClientSettings.connectToServiceAt(peer.host(), peer.port(), system)
                          .withDeadline(settings.callTimeout()),
                      tls,
                      peer.identity()),
                  system));
    }
    MasterKey master = NodeMasterKey.get(system).master();
    Inbox inbox =
        new Inbox(
            system,
            settings,
            traffic,
            status,
            new History(system, new Shipment(system, master), settings.replayPage()),
            // within half the sender's deadline: the delivery then still answers in time
            new CatchUp(
                settings.region(),
                java.util.Map.copyOf(clients),
                traffic,
                settings.callTimeout().dividedBy(2)));
    var server = Http.get(system).newServerAt(settings.host(), settings.port());
    if (tls.isPresent()) {
      var ctx = tls.get().sslContext(CALLER_KINDS);
      server = server.enableHttps(ConnectionContext.httpsServer(() -> tls.get().serverEngine(ctx)));
    }
    CompletionStage<ServerBinding> bound =
        server.bind(
            org.openkcm.core.api.PeerIdentity.stamp(
                OrbitalServicePowerApiHandlerFactory.create(inbox, system)));
    ServerBinding binding = bound.toCompletableFuture().join();

    List<org.apache.pekko.actor.Cancellable> heartbeats = new ArrayList<>();
    for (OrbitalSettings.Peer peer : settings.peers()) {
      Supplier<OrbitalServiceClient> to = clients.get(peer.name());
      Outbox.start(system, settings, peer, to, sessions, master, traffic);
      heartbeats.add(heartbeat(system, settings, to));
    }
    if (!settings.peers().isEmpty()) {
      heartbeats.add(new ShippedPurge(settings, sessions).start(system));
    }
    log.info(
        "Orbital: region {} listening on {} ({}), shipping to {}",
        settings.region(),
        binding.localAddress(),
        tls.isPresent() ? "mTLS" : "PLAINTEXT",
        settings.peers().stream().map(p -> p.name() + "@" + p.host() + ":" + p.port()).toList());
    return Optional.of(new Orbital(binding, heartbeats));
  }

  /**
   * How many times the journal purge of shipped destroying events has swept in region {@code
   * region} in this JVM (a probe for tests and operators).
   */
  public static long purgeSweeps(String region) {
    return ShippedPurge.sweeps(region);
  }

  /**
   * With Orbital on, this region's Cores carry an identity naming the region ({@code
   * spiffe://<domain>/core/<region>} or below it): the peers tell regions apart by it.
   */
  static void requireRegionIdentity(SpiffeId own, String region) {
    SpiffeId expected = new SpiffeId(own.trustDomain(), List.of("core", region));
    if (!own.isWithin(expected)) {
      throw new IllegalStateException(
          "Orbital: this Core presents "
              + own.uri()
              + ", but with openkcm.orbital.enabled its identity must name its region: "
              + expected.uri()
              + " or "
              + expected.uri()
              + "/<node> (issue the Core certificates of region "
              + region
              + " so; openkcm.tls.name)");
    }
  }

  /**
   * Every {@code heartbeat-interval}, an empty delivery to the peer: it hears from this region even
   * when nothing is written here (strict mode counts on it). A fresh connection each time, so a
   * healed path is used at once.
   */
  private static org.apache.pekko.actor.Cancellable heartbeat(
      ActorSystem<?> system, OrbitalSettings settings, Supplier<OrbitalServiceClient> clients) {
    return system
        .scheduler()
        .scheduleAtFixedRate(
            settings.heartbeatInterval(),
            settings.heartbeatInterval(),
            () -> {
              OrbitalServiceClient client = clients.get();
              client
                  .apply(
                      org.openkcm.protocol.orbital.v1.ApplyRequest.newBuilder()
                          .setOriginRegion(settings.region())
                          .build())
                  .whenComplete((r, failure) -> client.close());
            },
            system.executionContext());
  }

  public java.net.InetSocketAddress address() {
    return binding.localAddress();
  }

  @Override
  public void close() {
    heartbeats.forEach(org.apache.pekko.actor.Cancellable::cancel);
    binding.unbind();
  }
}
