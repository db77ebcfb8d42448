package org.openkcm.core.api;

import com.typesafe.config.Config;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.openkcm.node.grpc.NettyGrpcServer;
import org.openkcm.node.grpc.PeerInterceptor;
import org.openkcm.node.grpc.RpcMetricsInterceptor;
import org.openkcm.node.grpc.UnaryService;
import org.openkcm.node.health.NodeHealth;
import org.openkcm.node.metrics.NodeMetrics;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.core.v1.CoreKeyService;
import org.openkcm.protocol.core.v1.CoreKeyServicePowerApi;
import org.openkcm.protocol.core.v1.RewrapKeysRequest;
import org.openkcm.protocol.core.v1.RewrapKeysResponse;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapKeysResponse;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapKeysResponse;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Core's key listener ({@code openkcm.core.grpc.keys}): CoreKeyService's unary WrapKeys,
 * UnwrapKeys and RewrapKeys, and the WrapStream/UnwrapStream streams of such calls, on grpc-java's
 * Netty server — the transport the gateway serves applications with — beside the pekko-http
 * listener that keeps everything else (streams, admin, REST). Same mTLS, same authorization and
 * audit (the very {@link AuthorizedCoreKeyService}, with the caller's verified identity handed over
 * as the {@value PeerIdentity#HEADER} the pekko-http listener stamps), same metrics; while the node
 * shuts down it refuses new calls with CORE_UNAVAILABLE so gateways go to another node.
 */
public final class CoreKeyListener {

  private static final Logger log = LoggerFactory.getLogger(CoreKeyListener.class);

  private CoreKeyListener() {}

  /** Where a system's key listener is bound, once it is. */
  private static final class Bound implements org.apache.pekko.actor.typed.Extension {
    volatile InetSocketAddress address;
  }

  private static final org.apache.pekko.actor.typed.ExtensionId<Bound> BOUND =
      new org.apache.pekko.actor.typed.ExtensionId<>() {
        @Override
        public Bound createExtension(ActorSystem<?> system) {
          return new Bound();
        }
      };

  /** The key listener of {@code system}'s Core node, when it runs one. */
  public static Optional<InetSocketAddress> address(ActorSystem<?> system) {
    return Optional.ofNullable(BOUND.apply(system).address);
  }

  /** Starts the listener when enabled; its bound address. */
  public static Optional<InetSocketAddress> start(
      ActorSystem<?> system, CoreKeyServicePowerApi keys, Optional<MutualTls> tls) {
    Config k = system.settings().config().getConfig("openkcm.core.grpc.keys");
    if (!k.getBoolean("enabled")) {
      return Optional.empty();
    }
    NodeHealth health = NodeHealth.get(system);
    ServerServiceDefinition service =
        UnaryService.named(CoreKeyService.name)
            .method(
                "WrapKeys",
                WrapKeysRequest.getDefaultInstance(),
                WrapKeysResponse.getDefaultInstance(),
                r -> unlessStopping(health, () -> keys.wrapKeys(r, caller())))
            .method(
                "UnwrapKeys",
                UnwrapKeysRequest.getDefaultInstance(),
                UnwrapKeysResponse.getDefaultInstance(),
                r -> unlessStopping(health, () -> keys.unwrapKeys(r, caller())))
            .method(
                "RewrapKeys",
                RewrapKeysRequest.getDefaultInstance(),
                RewrapKeysResponse.getDefaultInstance(),
                r -> unlessStopping(health, () -> keys.rewrapKeys(r, caller())))
            // many calls over one HTTP/2 stream: no headers, stream set-up or interceptors per call
            .callStream(
                "WrapStream",
                WrapKeysRequest.getDefaultInstance(),
                WrapKeysResponse.getDefaultInstance(),
                r ->
                    CoreKeyServiceImpl.streamed(
                        r, unlessStopping(health, () -> keys.wrapKeys(r, caller()))))
            .callStream(
                "UnwrapStream",
                UnwrapKeysRequest.getDefaultInstance(),
                UnwrapKeysResponse.getDefaultInstance(),
                r ->
                    CoreKeyServiceImpl.streamed(
                        r, unlessStopping(health, () -> keys.unwrapKeys(r, caller()))))
            .build();
    NettyGrpcServer server =
        NettyGrpcServer.start(
            k.getString("host"),
            k.getInt("port"),
            new NettyGrpcServer.Limits(
                k.getInt("max-concurrent-calls-per-connection"),
                (int) Math.min(Integer.MAX_VALUE, k.getBytes("max-request-size")),
                Duration.ofSeconds(3)),
            Runnable::run,
            tls,
            CoreApi.CALLER_KINDS,
            List.of(
                ServerInterceptors.intercept(
                    service, new RpcMetricsInterceptor(NodeMetrics.get(system)))));
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseServiceUnbind(),
            "stop-core-key-listener",
            () ->
                CompletableFuture.supplyAsync(
                    () -> {
                      server.close();
                      return Done.getInstance();
                    }));
    system.getWhenTerminated().thenRun(server::close);
    log.info(
        "Core key listener (WrapKeys, UnwrapKeys, RewrapKeys, WrapStream, UnwrapStream on grpc-java Netty) on {} ({})",
        server.address(),
        tls.map(t -> "mTLS as " + t.identity()).orElse("PLAINTEXT"));
    BOUND.apply(system).address = server.address();
    return Optional.of(server.address());
  }

  private static <T> CompletionStage<T> unlessStopping(
      NodeHealth health, Supplier<CompletionStage<T>> call) {
    if (health.stopping()) {
      return CompletableFuture.failedFuture(
          new OpenKcmException(
              ErrorReason.CORE_UNAVAILABLE, "this Core node is shutting down; use another"));
    }
    return call.get();
  }

  /** The verified caller as the pekko-http listener hands it to the services. */
  private static Metadata caller() {
    SpiffeId peer = PeerInterceptor.PEER.get();
    MetadataBuilder b = new MetadataBuilder();
    if (peer != null) {
      b.addText(PeerIdentity.HEADER, peer.uri());
    }
    return b.build();
  }
}
