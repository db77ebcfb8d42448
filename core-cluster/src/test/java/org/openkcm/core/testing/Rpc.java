package org.openkcm.core.testing;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.openkcm.node.net.FreePorts;
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

  /** A free loopback port below the kernel's ephemeral range ({@link FreePorts}). */
  public static int freePort() throws IOException {
    return FreePorts.pick();
  }
}
