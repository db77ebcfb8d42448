package org.openkcm.node.grpc;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.openkcm.node.tls.MutualTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A gRPC listener on grpc-java's Netty server. Per connection it bounds the calls in flight and the
 * size of one request, so one client cannot take all of the server's memory or streams; a
 * connection that does not finish its TLS handshake within {@code handshakeTimeout} is closed (the
 * default of grpc-java is two minutes); clients may ping every {@code permitKeepAlive} even without
 * calls (our gateway pings its Core every 10 s; grpc-java's default permit of 5 minutes answered
 * that with {@code too_many_pings}), and a connection idle for {@code maxConnectionIdle} is closed
 * gracefully. grpc-java has no cap on connections: the process's file descriptors bound them.
 */
public final class NettyGrpcServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(NettyGrpcServer.class);

  /** Per-connection bounds. */
  public record Limits(
      int maxConcurrentCallsPerConnection,
      int maxInboundMessageBytes,
      Duration shutdownGrace,
      Duration handshakeTimeout,
      Duration permitKeepAlive,
      Duration maxConnectionIdle) {

    /** With the defaults: a 10 s handshake, pings every 5 s permitted, 15 min idle. */
    public Limits(
        int maxConcurrentCallsPerConnection, int maxInboundMessageBytes, Duration shutdownGrace) {
      this(
          maxConcurrentCallsPerConnection,
          maxInboundMessageBytes,
          shutdownGrace,
          Duration.ofSeconds(10),
          Duration.ofSeconds(5),
          Duration.ofMinutes(15));
    }

    public Limits withHandshakeTimeout(Duration timeout) {
      return new Limits(
          maxConcurrentCallsPerConnection,
          maxInboundMessageBytes,
          shutdownGrace,
          timeout,
          permitKeepAlive,
          maxConnectionIdle);
    }
  }

  private final Server server;
  private final Duration grace;

  private NettyGrpcServer(Server server, Duration grace) {
    this.server = server;
    this.grace = grace;
  }

  /**
   * Starts listening on {@code host:port} (0 = any free port); {@code executor} runs the service
   * code. With {@code tls}, clients must present a certificate of one of {@code callerKinds}; their
   * SPIFFE id is then in {@link PeerInterceptor#PEER} while a call is handled.
   */
  public static NettyGrpcServer start(
      String host,
      int port,
      Limits limits,
      Executor executor,
      Optional<MutualTls> tls,
      Set<String> callerKinds,
      List<ServerServiceDefinition> services) {
    NettyServerBuilder b =
        NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
            .executor(executor)
            .maxConcurrentCallsPerConnection(limits.maxConcurrentCallsPerConnection())
            .maxInboundMessageSize(limits.maxInboundMessageBytes())
            .handshakeTimeout(limits.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS)
            .permitKeepAliveTime(limits.permitKeepAlive().toMillis(), TimeUnit.MILLISECONDS)
            .permitKeepAliveWithoutCalls(true)
            .maxConnectionIdle(limits.maxConnectionIdle().toMillis(), TimeUnit.MILLISECONDS);
    if (tls.isPresent()) {
      MutualTls t = tls.get();
      try {
        b.sslContext(
            GrpcSslContexts.configure(SslContextBuilder.forServer(t.keyManager()), SslProvider.JDK)
                .trustManager(t.trustManager(callerKinds))
                .clientAuth(ClientAuth.REQUIRE)
                .protocols(t.settings().protocols())
                .build());
      } catch (SSLException e) {
        throw new IllegalStateException(
            "cannot set up TLS for " + host + ":" + port + ": " + e.getMessage(), e);
      }
    }
    services.forEach(s -> b.addService(ServerInterceptors.intercept(s, new PeerInterceptor())));
    try {
      return new NettyGrpcServer(b.build().start(), limits.shutdownGrace());
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
    }
  }

  public InetSocketAddress address() {
    return (InetSocketAddress) server.getListenSockets().get(0);
  }

  /** Stops taking calls, lets running ones finish for the shutdown grace, then cuts the rest. */
  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("gRPC calls still running after {}; cancelling them", grace);
        server.shutdownNow().awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
  }
}
