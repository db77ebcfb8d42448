package org.openkcm.orbital;

import com.google.protobuf.ByteString;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.javadsl.AtLeastOnceProjection;
import org.apache.pekko.projection.javadsl.Handler;
import org.apache.pekko.projection.javadsl.SourceProvider;
import org.apache.pekko.projection.jdbc.javadsl.JdbcProjection;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.core.tenant.TenantReplication;
import org.openkcm.protocol.orbital.v1.ApplyRequest;
import org.openkcm.protocol.orbital.v1.OrbitalServiceClient;
import org.openkcm.protocol.orbital.v1.ReplicatedEvent;

/**
 * Ships the tenant events written in this region to one peer: a Pekko Projection over the journal
 * (events tagged {@link TenantReplication#TAG}), at least once, its offset stored in the journal's
 * database after the peer acknowledged; the peer applies each event once. One per peer, as a
 * cluster singleton; a failure restarts it with backoff from the stored offset.
 */
final class Outbox {

  private Outbox() {}

  static void start(
      ActorSystem<?> system,
      OrbitalSettings settings,
      OrbitalSettings.Peer peer,
      Supplier<OrbitalServiceClient> clients,
      Supplier<JournalSession> sessions,
      MasterKey master,
      Traffic traffic) {
    SourceProvider<Offset, EventEnvelope<Object>> source =
        EventSourcedProvider.eventsByTag(system, "jdbc-read-journal", TenantReplication.TAG);
    AtLeastOnceProjection<Offset, EventEnvelope<Object>> projection =
        JdbcProjection.atLeastOnceAsync(
                ProjectionId.of("orbital-to-" + peer.name(), TenantReplication.TAG),
                source,
                sessions,
                () -> new Ship(system, settings.region(), peer.name(), clients, master, traffic),
                system)
            .withRestartBackoff(settings.minBackoff(), settings.maxBackoff(), 0.2);
    ClusterSingleton.get(system)
        .init(
            SingletonActor.of(ProjectionBehavior.create(projection), "orbital-to-" + peer.name()));
  }

  /**
   * Sends one event (portable form) and completes when the peer has applied it. Each (re)start of
   * the projection makes a new one, with a fresh connection to the peer (a channel that failed
   * while the peer was away would wait out its own reconnect backoff).
   */
  static final class Ship extends Handler<EventEnvelope<Object>> {
    private final String region;
    private final String peer;
    private final Traffic traffic;
    private final OrbitalServiceClient client;
    private final MasterKey master;
    private final Serialization serialization;

    Ship(
        ActorSystem<?> system,
        String region,
        String peer,
        Supplier<OrbitalServiceClient> clients,
        MasterKey master,
        Traffic traffic) {
      this.region = region;
      this.peer = peer;
      this.traffic = traffic;
      this.client = clients.get();
      this.master = master;
      this.serialization = SerializationExtension.get(Adapter.toClassic(system));
    }

    @Override
    public CompletionStage<Done> stop() {
      return client.close();
    }

    @Override
    public CompletionStage<Done> process(EventEnvelope<Object> envelope) {
      Object event;
      String tenantId;
      if (envelope.event() instanceof org.openkcm.core.killswitch.KillSwitchEntity.Event change) {
        event = change; // the region/global kill-switch: no blob, no tenant
        tenantId = "";
      } else if (envelope.event() instanceof TenantEntity.Event tenantEvent) {
        tenantId = envelope.persistenceId().substring(envelope.persistenceId().indexOf('|') + 1);
        Optional<TenantEntity.Event> portable;
        try {
          portable = TenantReplication.portable(tenantId, tenantEvent, master);
        } catch (RuntimeException e) {
          return CompletableFuture.failedFuture(e); // sealed node: retried with backoff
        }
        if (portable.isEmpty()) {
          return CompletableFuture.completedFuture(Done.getInstance());
        }
        event = portable.get();
      } else {
        return CompletableFuture.completedFuture(Done.getInstance());
      }
      Serializer serializer = serialization.findSerializerFor(event);
      byte[] payload = serialization.serialize(event).get();
      ApplyRequest request =
          ApplyRequest.newBuilder()
              .setOriginRegion(region)
              .addEvents(
                  ReplicatedEvent.newBuilder()
                      .setTenantId(tenantId)
                      .setSequenceNr(envelope.sequenceNr())
                      .setTimestampMillis(envelope.timestamp())
                      .setSerializerId(serializer.identifier())
                      .setManifest(Serializers.manifestFor(serializer, event))
                      .setPayload(ByteString.copyFrom(payload)))
              .build();
      return client
          .apply(request)
          .handle(
              (r, failure) -> {
                if (failure != null) {
                  traffic.failed(peer, failure);
                  throw new java.util.concurrent.CompletionException(failure);
                }
                traffic.shipped(peer);
                return Done.getInstance();
              });
    }
  }
}
