package org.openkcm.core.seal;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The master key of the Core node running in an actor system, for the node's own features outside
 * the tenant entities (the Orbital replicator re-seals what crosses regions). Set once by {@link
 * SealService#init}; never logged, never serialized.
 */
public final class NodeMasterKey implements Extension {

  private static final ExtensionId<NodeMasterKey> ID =
      new ExtensionId<>() {
        @Override
        public NodeMasterKey createExtension(ActorSystem<?> system) {
          return new NodeMasterKey();
        }
      };

  private volatile MasterKey master;

  private NodeMasterKey() {}

  public static NodeMasterKey get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  void set(MasterKey key) {
    this.master = key;
  }

  /** This node's master key (sealed until the node is unsealed); fails before the seal started. */
  public MasterKey master() {
    if (master == null) {
      throw new IllegalStateException("the seal feature has not started on this node");
    }
    return master;
  }
}
