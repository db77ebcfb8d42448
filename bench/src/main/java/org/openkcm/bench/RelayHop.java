package org.openkcm.bench;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.openkcm.bench.echo.v1.EchoMessage;
import org.openkcm.bench.echo.v1.RelayService;
import org.openkcm.gateway.corelink.CoreStream;
import org.openkcm.node.grpc.NettyGrpcClient;
import org.openkcm.node.grpc.NettyGrpcServer;
import org.openkcm.node.grpc.UnaryService;

/**
 * The second hop of the two-hop baseline ({@code Relay}, see echo.proto): a trivial echo served as
 * the Core's key listener serves its streams (grpc-java Netty, service code on the event loop, each
 * request answered as it comes), reached over the gateway's own Core stream link. No work at its
 * end.
 */
final class RelayHop implements AutoCloseable {

  private final NettyGrpcServer server;
  private final NettyGrpcClient channel;
  private final CoreStream<EchoMessage, EchoMessage> link;

  RelayHop() {
    this.server =
        NettyGrpcServer.start(
            "127.0.0.1",
            0,
            new NettyGrpcServer.Limits(1024, 4 << 20, Duration.ofSeconds(1)),
            Runnable::run,
            Optional.empty(),
            Set.of(),
            List.of(
                UnaryService.named(RelayService.name)
                    .callStream(
                        "EchoStream",
                        EchoMessage.getDefaultInstance(),
                        EchoMessage.getDefaultInstance(),
                        CompletableFuture::completedFuture)
                    .build()));
    this.channel =
        NettyGrpcClient.connect(
            "127.0.0.1",
            server.address().getPort(),
            Optional.empty(),
            Set.of(),
            Duration.ofSeconds(30),
            true);
    this.link =
        new CoreStream<>(
            "bench echo " + server.address(),
            channel,
            NettyGrpcClient.bidiMethod(
                RelayService.name,
                "EchoStream",
                EchoMessage.getDefaultInstance(),
                EchoMessage.getDefaultInstance()),
            EchoMessage::getCallId,
            1024,
            Duration.ofSeconds(5));
  }

  /** {@code message} echoed over the second hop. */
  CompletionStage<EchoMessage> relay(EchoMessage message) {
    return link.call(id -> message.toBuilder().setCallId(id).build());
  }

  @Override
  public void close() {
    link.close();
    channel.close();
    server.close();
  }
}
