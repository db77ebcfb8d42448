package org.openkcm.orbital;

import com.google.protobuf.ByteString;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.openkcm.core.killswitch.KillSwitchEntity;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.core.tenant.TenantReplication;
import org.openkcm.protocol.orbital.v1.ReplicatedEvent;

/**
 * One event of this region's journal in the form it crosses to a peer: without this region's
 * master-key seal on its blobs ({@link TenantReplication#portable}), in the Core's event
 * serialization. The outbox ships these; a replay for a peer's catch-up returns them.
 */
final class Shipment {

  private final Serialization serialization;
  private final MasterKey master;

  Shipment(ActorSystem<?> system, MasterKey master) {
    this.serialization = SerializationExtension.get(Adapter.toClassic(system));
    this.master = master;
  }

  /**
   * Tenant {@code tenantId}'s event number {@code seq}, written at {@code timestamp}, following its
   * crossing event {@code previous}; empty when it does not cross. Fails on a sealed node.
   */
  Optional<ReplicatedEvent> tenantEvent(
      String tenantId, long seq, long timestamp, TenantEntity.Event event, long previous) {
    return TenantReplication.portable(tenantId, event, master)
        .map(p -> build(tenantId, seq, timestamp, p, previous));
  }

  /** A region/global kill-switch change: no blob, no tenant. */
  ReplicatedEvent killSwitch(long seq, long timestamp, KillSwitchEntity.Event change) {
    return build("", seq, timestamp, change, 0);
  }

  private ReplicatedEvent build(
      String tenantId, long seq, long timestamp, Object event, long previous) {
    Serializer serializer = serialization.findSerializerFor(event);
    byte[] payload = serialization.serialize(event).get();
    return ReplicatedEvent.newBuilder()
        .setTenantId(tenantId)
        .setSequenceNr(seq)
        .setPreviousSequenceNr(previous)
        .setTimestampMillis(timestamp)
        .setSerializerId(serializer.identifier())
        .setManifest(Serializers.manifestFor(serializer, event))
        .setPayload(ByteString.copyFrom(payload))
        .build();
  }
}
