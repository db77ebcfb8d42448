package org.openkcm.node.health;

import java.net.URI;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts Pekko Management on a node when {@code openkcm.management.enabled}: {@code /alive} and
 * {@code /ready} (Kubernetes probes), and on the Core the read-only cluster routes. Settings in
 * {@code config/management.conf}.
 */
public final class Management {

  private static final Logger log = LoggerFactory.getLogger(Management.class);

  private Management() {}

  /** The management listener's base URI, or empty when management is off. */
  public static CompletionStage<Optional<URI>> start(ActorSystem<?> system) {
    if (!system.settings().config().getBoolean("openkcm.management.enabled")) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    return PekkoManagement.get(system)
        .start()
        .thenApply(
            uri -> {
              String u = uri.toString();
              URI base = URI.create(u.endsWith("/") ? u : u + "/");
              NodeHealth.get(system).managementAt(base);
              log.info("management: {}alive and {}ready", base, base);
              return Optional.of(base);
            });
  }
}
