package org.openkcm.core.tenant;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.openkcm.core.killswitch.KillRecord;

/**
 * Tenant kills this node has accepted but not yet seen persisted. A kill is entered here before its
 * event is written and removed once the journal has it, so a journal failure (which stops the
 * entity) cannot bring the tenant back: the next incarnation of the entity on this node finds the
 * kill here, refuses everything, and writes it again. One per node, shared by its tenant entities.
 */
public final class PendingKills {

  /** A kill waiting for the journal, and who still waits for its answer. */
  record Pending(
      KillRecord kill,
      String correlationId,
      Optional<ActorRef<StatusReply<TenantSummary>>> replyTo) {}

  private final Map<String, Pending> pending = new ConcurrentHashMap<>();

  void put(String tenantId, Pending kill) {
    pending.put(tenantId, kill);
  }

  Optional<Pending> get(String tenantId) {
    return Optional.ofNullable(pending.get(tenantId));
  }

  /** The kill is persisted: forget it. */
  void persisted(String tenantId) {
    pending.remove(tenantId);
  }

  /**
   * The answer was given (an error, after a journal failure): nobody waits any more, the kill stays
   * pending.
   */
  void answered(String tenantId) {
    pending.computeIfPresent(
        tenantId, (t, p) -> new Pending(p.kill(), p.correlationId(), Optional.empty()));
  }

  /** Tenants whose kill is not yet persisted (operators' view). */
  public int size() {
    return pending.size();
  }
}
