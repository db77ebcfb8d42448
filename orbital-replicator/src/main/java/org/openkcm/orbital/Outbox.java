package org.openkcm.orbital;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
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
import org.openkcm.core.killswitch.KillSwitchEntity;
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
                () ->
                    new Ship(
                        system, settings.region(), peer.name(), clients, sessions, master, traffic),
                system)
            .withRestartBackoff(settings.minBackoff(), settings.maxBackoff(), 0.2);
    ClusterSingleton.get(system)
        .init(
            SingletonActor.of(ProjectionBehavior.create(projection), "orbital-to-" + peer.name()));
  }

  /**
   * Sends one event (portable form), naming the tenant's previous crossing event in this region's
   * journal (the receiver catches up when it never applied that one), and completes when the peer
   * has applied it. Each (re)start of the projection makes a new one, with a fresh connection to
   * the peer (a channel that failed while the peer was away would wait out its own reconnect
   * backoff) and one to the journal's database.
   */
  static final class Ship extends Handler<EventEnvelope<Object>> {
    private final String region;
    private final String peer;
    private final Traffic traffic;
    private final OrbitalServiceClient client;
    private final Shipment shipment;
    private final Supplier<JournalSession> sessions;
    private final Executor blocking;
    private JournalSession journal; // opened on first use, on the blocking dispatcher

    Ship(
        ActorSystem<?> system,
        String region,
        String peer,
        Supplier<OrbitalServiceClient> clients,
        Supplier<JournalSession> sessions,
        MasterKey master,
        Traffic traffic) {
      this.region = region;
      this.peer = peer;
      this.traffic = traffic;
      this.client = clients.get();
      this.shipment = new Shipment(system, master);
      this.sessions = sessions;
      this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    }

    @Override
    public CompletionStage<Done> stop() {
      closeJournal();
      return client.close();
    }

    private synchronized void closeJournal() {
      if (journal != null) {
        try {
          journal.close();
        } catch (java.sql.SQLException e) {
          // closing a connection that failed: nothing held
        }
        journal = null;
      }
    }

    @Override
    public CompletionStage<Done> process(EventEnvelope<Object> envelope) {
      CompletionStage<Optional<ReplicatedEvent>> shipped;
      if (envelope.event() instanceof KillSwitchEntity.Event change) {
        shipped =
            CompletableFuture.completedFuture(
                Optional.of(
                    shipment.killSwitch(envelope.sequenceNr(), envelope.timestamp(), change)));
      } else if (envelope.event() instanceof TenantEntity.Event tenantEvent) {
        String pid = envelope.persistenceId();
        String tenantId = pid.substring(pid.indexOf('|') + 1);
        shipped =
            CompletableFuture.supplyAsync(
                () ->
                    shipment.tenantEvent(
                        tenantId,
                        envelope.sequenceNr(),
                        envelope.timestamp(),
                        tenantEvent,
                        previous(pid, envelope.sequenceNr())),
                blocking); // a sealed node fails here: retried with backoff
      } else {
        return CompletableFuture.completedFuture(Done.getInstance());
      }
      return shipped
          .whenComplete(
              (event, failure) -> {
                if (failure != null) {
                  traffic.failed(peer, failure); // a sealed node, the journal unreachable
                }
              })
          .thenCompose(
              event -> {
                if (event.isEmpty()) {
                  return CompletableFuture.completedFuture(Done.getInstance());
                }
                ApplyRequest request =
                    ApplyRequest.newBuilder()
                        .setOriginRegion(region)
                        .addEvents(event.get())
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
              });
    }

    /**
     * The tenant's previous crossing event before {@code seq} here (one indexed query); a failed
     * connection is dropped and opened again at the next event.
     */
    private synchronized long previous(String persistenceId, long seq) {
      try {
        if (journal == null) {
          journal = sessions.get();
        }
        return journal.withConnection(
            c -> {
              long p = History.previousCrossing(c, persistenceId, seq);
              c.commit();
              return p;
            });
      } catch (Exception e) {
        closeJournal();
        throw new IllegalStateException(
            "Orbital: cannot read the journal for " + persistenceId + ": " + e.getMessage(), e);
      }
    }
  }
}
