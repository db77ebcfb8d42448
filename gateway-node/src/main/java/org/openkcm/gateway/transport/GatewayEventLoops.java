package org.openkcm.gateway.transport;

import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.openkcm.node.grpc.NettyEventLoops;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's own Netty event loops ({@code openkcm.gateway.grpc.event-loop-threads} > 0), shared
 * by its application listener and its links to the Core, one set per actor system; stopped when the
 * system terminates. Empty with 0: grpc-java's group shared by the whole JVM.
 */
public final class GatewayEventLoops implements Extension {

  private static final Logger log = LoggerFactory.getLogger(GatewayEventLoops.class);

  private static final ExtensionId<GatewayEventLoops> ID =
      new ExtensionId<>() {
        @Override
        public GatewayEventLoops createExtension(ActorSystem<?> system) {
          return new GatewayEventLoops(system);
        }
      };

  private final Optional<NettyEventLoops> loops;

  private GatewayEventLoops(ActorSystem<?> system) {
    int threads = system.settings().config().getInt("openkcm.gateway.grpc.event-loop-threads");
    if (threads < 0) {
      throw new IllegalArgumentException(
          "openkcm.gateway.grpc.event-loop-threads must be 0 (grpc-java's shared group) or more,"
              + " was "
              + threads);
    }
    loops =
        threads == 0
            ? Optional.empty()
            : Optional.of(NettyEventLoops.create("openkcm-gateway-io", threads));
    loops.ifPresent(
        l -> {
          log.info("gRPC listener and Core link on the gateway's own event loops: {}", l);
          system.getWhenTerminated().thenRun(l::close);
        });
  }

  public static Optional<NettyEventLoops> of(ActorSystem<?> system) {
    return ID.apply(system).loops;
  }
}
