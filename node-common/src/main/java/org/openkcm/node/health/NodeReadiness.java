package org.openkcm.node.health;

import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.javadsl.Adapter;

/**
 * Pekko Management's readiness check for both nodes ({@code
 * pekko.management.health-checks.readiness-checks}): ready when every {@link NodeHealth} condition
 * holds; otherwise the check fails with the unmet conditions, which {@code /ready} shows.
 */
public final class NodeReadiness implements Supplier<CompletionStage<Boolean>> {

  private final NodeHealth health;

  public NodeReadiness(org.apache.pekko.actor.ActorSystem system) {
    this.health = NodeHealth.get(Adapter.toTyped(system));
  }

  @Override
  public CompletionStage<Boolean> get() {
    return health
        .unmet()
        .thenApply(
            unmet -> {
              if (!unmet.isEmpty()) {
                throw new NotReady(String.join("; ", unmet));
              }
              return true;
            });
  }

  /** Why a node is not ready (carried to the probe's answer). */
  public static final class NotReady extends RuntimeException {
    public NotReady(String message) {
      super(message, null, false, false);
    }
  }
}
