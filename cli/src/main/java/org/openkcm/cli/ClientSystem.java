package org.openkcm.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.KeyVaultServiceClient;

/** A small local actor system for the CLI's gRPC clients; closed when the command ends. */
public final class ClientSystem implements AutoCloseable {

  private static final Config CONFIG =
      ConfigFactory.parseString(
              """
      pekko.actor.provider = local
      pekko.loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
      pekko.logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
      pekko.loglevel = WARNING
      pekko.stdout-loglevel = OFF
      pekko.coordinated-shutdown.exit-jvm = off
      """)
          .withFallback(ConfigFactory.defaultReference())
          .resolve();

  private final ActorSystem<Void> system =
      ActorSystem.create(Behaviors.empty(), "openkcm-cli", CONFIG);

  public ActorSystem<Void> system() {
    return system;
  }

  GrpcClientSettings settings(Target target, Duration deadline, String serverKind) {
    return NodeTls.client(
        GrpcClientSettings.connectToServiceAt(target.at().host(), target.at().port(), system)
            .withDeadline(deadline)
            .withConnectionAttempts(3),
        target.tls(),
        Set.of(serverKind));
  }

  DataKeyServiceClient gateway(Target target, Duration deadline) {
    return DataKeyServiceClient.create(settings(target, deadline, "gateway"), system);
  }

  KeyVaultServiceClient vault(Target target, Duration deadline) {
    return KeyVaultServiceClient.create(settings(target, deadline, "gateway"), system);
  }

  AdminServiceClient admin(Target target, Duration deadline) {
    return AdminServiceClient.create(settings(target, deadline, "core"), system);
  }

  org.openkcm.protocol.orbital.v1.OrbitalServiceClient orbital(Target target, Duration deadline) {
    return org.openkcm.protocol.orbital.v1.OrbitalServiceClient.create(
        settings(target, deadline, "core"), system);
  }

  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // the JVM is about to exit anyway
    }
  }
}
