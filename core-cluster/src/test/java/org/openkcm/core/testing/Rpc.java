package org.openkcm.core.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.error.GrpcErrors;

/**
 * The end-to-end tests' gRPC plumbing: bounded waits, one-shot admin calls, free loopback ports.
 */
public final class Rpc {

  public static final Duration CALL = Duration.ofSeconds(20);

  private Rpc() {}

  /** Waits (bounded) for a call; a failure becomes the OpenKcmException with its reason. */
  public static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(CALL.toSeconds() + 5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (Exception e) {
      throw GrpcErrors.fromGrpc(e);
    }
  }

  /** One AdminService call to the Core at 127.0.0.1:{@code port}. */
  public static <T> T admin(
      ActorSystem<?> system, int port, Function<AdminServiceClient, CompletionStage<T>> call) {
    AdminServiceClient admin =
        AdminServiceClient.create(
            GrpcClientSettings.connectToServiceAt("127.0.0.1", port, system)
                .withTls(false)
                .withDeadline(CALL),
            system);
    try {
      return await(call.apply(admin));
    } finally {
      admin.close();
    }
  }

  public static int freePort() throws IOException {
    // below the kernel's ephemeral range: a port handed out here and bound later by a node cannot
    // be taken meanwhile as the local port of an outgoing connection (which once failed OrbitalIT
    // with "Address already in use")
    int below = ephemeralStart();
    java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
    for (int i = 0; i < 200 && below > 12_000; i++) {
      int port = r.nextInt(10_000, below);
      if (PICKED.add(port)) {
        try (ServerSocket s = new ServerSocket()) {
          s.setReuseAddress(true);
          s.bind(new java.net.InetSocketAddress("127.0.0.1", port));
          return port;
        } catch (IOException taken) {
          // in use: try another
        }
      }
    }
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    }
  }

  /** Ports this JVM handed out (never twice). */
  private static final java.util.Set<Integer> PICKED =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** The first port of the kernel's ephemeral range (Linux), 32768 when unknown. */
  private static int ephemeralStart() {
    try {
      // readAllLines, not readString: procfs reports a size of 0 and readString returned one byte
      String range =
          java.nio.file.Files.readAllLines(
                  java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
              .get(0)
              .strip();
      return Integer.parseInt(range.split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 32768;
    }
  }
}
