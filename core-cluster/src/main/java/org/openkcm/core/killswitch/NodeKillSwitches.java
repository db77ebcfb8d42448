package org.openkcm.core.killswitch;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The kill-switch feature of the Core node running in an actor system, for the node's features
 * outside it (the Orbital replicator applies other regions' kill-switch changes here). Set once by
 * {@link KillSwitches#init}.
 */
public final class NodeKillSwitches implements Extension {

  private static final ExtensionId<NodeKillSwitches> ID =
      new ExtensionId<>() {
        @Override
        public NodeKillSwitches createExtension(ActorSystem<?> system) {
          return new NodeKillSwitches();
        }
      };

  private volatile KillSwitches switches;

  private NodeKillSwitches() {}

  public static NodeKillSwitches get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  void set(KillSwitches s) {
    this.switches = s;
  }

  /** This node's kill-switches; fails before the feature started. */
  public KillSwitches switches() {
    if (switches == null) {
      throw new IllegalStateException("the kill-switch feature has not started on this node");
    }
    return switches;
  }
}
