package org.openkcm.core.persistence;

import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.DeleteMessagesFailure;
import org.apache.pekko.persistence.DeleteMessagesSuccess;
import org.apache.pekko.persistence.DeleteSnapshotsFailure;
import org.apache.pekko.persistence.DeleteSnapshotsSuccess;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;

/**
 * Destroys what a persistent entity wrote before a point: its events up to {@code upTo} and its
 * snapshots before it, through the configured journal and snapshot-store plugins (the same protocol
 * their own entities use, so it works on PostgreSQL, H2 and the test kits alike). Run it only after
 * a snapshot at {@code upTo} was saved: recovery then starts from that snapshot.
 *
 * <p>The JDBC journal keeps the row at {@code upTo} itself (marked deleted) to remember the highest
 * sequence number; callers make sure the event there carries nothing they destroy.
 */
public final class JournalPurge {

  private JournalPurge() {}

  public static CompletionStage<Done> purge(
      ActorContext<?> context, String persistenceId, long upTo) {
    Persistence persistence = Persistence.get(Adapter.toClassic(context.getSystem()));
    CompletableFuture<Done> events = new CompletableFuture<>();
    CompletableFuture<Done> snapshots = new CompletableFuture<>();
    ActorRef<Object> replies =
        context.spawnAnonymous(
            Behaviors.receive(Object.class)
                .onMessage(
                    DeleteMessagesSuccess.class,
                    m -> complete(events, snapshots, () -> events.complete(Done.getInstance())))
                .onMessage(
                    DeleteMessagesFailure.class,
                    m -> complete(events, snapshots, () -> events.completeExceptionally(m.cause())))
                .onMessage(
                    DeleteSnapshotsSuccess.class,
                    m -> complete(events, snapshots, () -> snapshots.complete(Done.getInstance())))
                .onMessage(
                    DeleteSnapshotsFailure.class,
                    m ->
                        complete(
                            events, snapshots, () -> snapshots.completeExceptionally(m.cause())))
                .build());
    org.apache.pekko.actor.ActorRef classic = Adapter.toClassic(replies);
    persistence
        .journalFor("", ConfigFactory.empty())
        .tell(new JournalProtocol.DeleteMessagesTo(persistenceId, upTo, classic), classic);
    persistence
        .snapshotStoreFor("", ConfigFactory.empty())
        .tell(
            new SnapshotProtocol.DeleteSnapshots(
                persistenceId, SnapshotSelectionCriteria.create(upTo - 1, Long.MAX_VALUE)),
            classic);
    return events.thenCombine(snapshots, (a, b) -> Done.getInstance());
  }

  private static org.apache.pekko.actor.typed.Behavior<Object> complete(
      CompletableFuture<Done> events, CompletableFuture<Done> snapshots, Runnable done) {
    done.run();
    return events.isDone() && snapshots.isDone() ? Behaviors.stopped() : Behaviors.same();
  }
}
