package org.openkcm.core.audit;

import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.openkcm.node.audit.AuditTrailSettings;
import org.openkcm.node.tls.MutualTls;

/** Starts the persisted audit trail of a node ({@code openkcm.audit.trail}) until it stops. */
public final class AuditTrails {

  private AuditTrails() {}

  public static void start(ActorSystem<?> system, Optional<MutualTls> tls) {
    AuditTrailSettings.start(system, tls);
  }
}
