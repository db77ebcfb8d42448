package org.openkcm.core.api;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.grpc.javadsl.SingleResponseRequestBuilder;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * Forwards a lifecycle write a replica region may not make to the tenant's home region's Core
 * (multi-region, {@code openkcm.orbital.peers[].core = "host:port"}). The call goes out with this
 * Core's certificate and names the operator this Core authenticated ({@link
 * PeerIdentity#ON_BEHALF}); the home region authorizes that operator itself.
 */
final class HomeForwarder {

  private final ActorSystem<?> system;
  private final Optional<MutualTls> tls;
  private final Duration deadline;
  private final Map<String, String> cores;
  private final org.openkcm.core.cluster.PeerRegions peers;
  private final Map<String, AdminServiceClient> clients = new ConcurrentHashMap<>();

  HomeForwarder(ActorSystem<?> system, Optional<MutualTls> tls, Duration deadline) {
    this.system = system;
    this.tls = tls;
    this.deadline = deadline;
    Config c = system.settings().config();
    Map<String, String> found = new java.util.HashMap<>();
    if (c.hasPath("openkcm.orbital.peers")) {
      for (Config peer : c.getConfigList("openkcm.orbital.peers")) {
        if (peer.hasPath("core")) {
          found.put(peer.getString("name"), peer.getString("core"));
        }
      }
    }
    this.cores = Map.copyOf(found);
    this.peers = org.openkcm.core.cluster.PeerRegions.from(c);
  }

  /** Whether a write for a tenant homed in {@code region} can be forwarded there. */
  boolean reaches(String region) {
    return cores.containsKey(region);
  }

  /** {@code call} on the home region's Core, on behalf of {@code operator} (empty: none known). */
  <T> CompletionStage<T> forward(
      String region,
      Optional<String> operator,
      BiFunction<AdminServiceClient, Optional<String>, CompletionStage<T>> call) {
    String at = cores.get(region);
    if (at == null) {
      return CompletableFuture.failedFuture(
          new OpenKcmException(
              ErrorReason.NOT_HOME_REGION, "no Core endpoint configured for region " + region));
    }
    AdminServiceClient client =
        clients.computeIfAbsent(
            region,
            r -> {
              int colon = at.lastIndexOf(':');
              return AdminServiceClient.create(
                  // only that region's Cores receive the operator's write
                  NodeTls.clientOf(
                      GrpcClientSettings.connectToServiceAt(
                              at.substring(0, colon),
                              Integer.parseInt(at.substring(colon + 1)),
                              system)
                          .withDeadline(deadline),
                      tls,
                      peers.identity(r).orElseThrow()),
                  system);
            });
    return call.apply(client, operator);
  }

  /** {@code builder} naming {@code operator} as the one who acts, when known. */
  static <Q, R> SingleResponseRequestBuilder<Q, R> onBehalf(
      SingleResponseRequestBuilder<Q, R> builder, Optional<String> operator) {
    return operator.isPresent()
        ? builder.addHeader(PeerIdentity.ON_BEHALF, operator.get())
        : builder;
  }
}
