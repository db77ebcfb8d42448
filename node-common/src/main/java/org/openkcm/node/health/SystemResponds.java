package org.openkcm.node.health;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Liveness for both nodes: the actor system still runs work on its default dispatcher. A node that
 * is sealed, or has lost its Core link, is alive (not ready); one whose dispatcher is stuck is not.
 */
public final class SystemResponds implements Supplier<CompletionStage<Boolean>> {

  private final org.apache.pekko.actor.ActorSystem system;

  public SystemResponds(org.apache.pekko.actor.ActorSystem system) {
    this.system = system;
  }

  @Override
  public CompletionStage<Boolean> get() {
    return CompletableFuture.supplyAsync(
        () -> !system.whenTerminated().isCompleted(), system.dispatcher());
  }
}
