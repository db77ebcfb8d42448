package org.openkcm.core.tenant;

import java.time.Instant;
import org.openkcm.core.serialization.CborSerializable;
import org.openkcm.protocol.event.TenantEventKind;

/** Publishes tenant status changes cluster-wide (to every node's gateway watch streams). */
public interface TenantEvents {

  TenantEvents NONE = change -> {};

  String TOPIC = "openkcm-tenant-events";

  /**
   * @param kind killed | revived | l1-revoked | l1-restored | l1-link-requested | l1-linked |
   *     l1-link-failed
   */
  record StatusChanged(
      String tenantId, TenantEventKind kind, String reason, Instant at, long sequence)
      implements CborSerializable {}

  void publish(StatusChanged change);

  /**
   * The cluster topic of tenant status changes on {@code system} (gateway watches subscribe to it).
   */
  static org.apache.pekko.actor.typed.ActorRef<
          org.apache.pekko.actor.typed.pubsub.Topic.Command<StatusChanged>>
      topic(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    return system.systemActorOf(
        org.apache.pekko.actor.typed.pubsub.Topic.create(StatusChanged.class, TOPIC),
        "tenant-events-topic",
        org.apache.pekko.actor.typed.Props.empty());
  }
}
