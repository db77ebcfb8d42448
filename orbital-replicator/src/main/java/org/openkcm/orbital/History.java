package org.openkcm.orbital;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.openkcm.core.tenant.LifecycleProtocol;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.protocol.orbital.v1.ReplayReply;

/**
 * A tenant's history in this region's journal as the peers see it: which of its events before a
 * given one crosses regions last (the {@code previous_sequence_nr} the receiver checks contiguity
 * by), and the crossing events of a range, for a peer that found a gap ({@code Replay}). Read from
 * the journal by persistence id, not through the outbox's tag query: an event the outbox missed is
 * found too.
 */
final class History {

  /**
   * The journal manifests of the events that never cross regions (nonce-budget reservations, seal
   * migration, copies of other regions' events). A pinned service's rotation does not cross either
   * but is not told apart here: a receiver that finds it named as previous asks, gets nothing for
   * it and moves on.
   */
  static final List<String> NEVER_CROSS =
      List.of(
          LifecycleProtocol.WrapBudgetReserved.class.getName(),
          TenantEntity.BlobsResealed.class.getName(),
          TenantEntity.Replicated.class.getName());

  // quoted: the journal's tables and columns are lower-case on PostgreSQL and H2 alike
  private static final String PREVIOUS =
      "SELECT max(\"sequence_number\") FROM \"event_journal\" WHERE \"persistence_id\" = ?"
          + " AND \"sequence_number\" < ? AND \"event_ser_manifest\" NOT IN (?, ?, ?)";

  private final ActorSystem<?> system;
  private final Shipment shipment;
  private final int page;

  History(ActorSystem<?> system, Shipment shipment, int page) {
    this.system = system;
    this.shipment = shipment;
    this.page = page;
  }

  static String persistenceId(String tenantId) {
    return TenantEntity.ENTITY_KEY.name() + "|" + tenantId;
  }

  /**
   * The sequence number of the last event of {@code persistenceId} before {@code seq} that may
   * cross regions (0 when none), on {@code c}.
   */
  static long previousCrossing(Connection c, String persistenceId, long seq) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(PREVIOUS)) {
      ps.setString(1, persistenceId);
      ps.setLong(2, seq);
      for (int i = 0; i < NEVER_CROSS.size(); i++) {
        ps.setString(3 + i, NEVER_CROSS.get(i));
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }

  /**
   * The events of {@code tenantId} written here after {@code after} and before {@code before} that
   * cross regions, in their portable form: of at most {@code replay-page} journal rows, {@code
   * more} when the range holds more (ask again after {@code scanned_up_to}); {@code truncated} when
   * some of the range was purged here. Each is sent without a previous number: the asker applies
   * them in order as the catch-up they are.
   */
  CompletionStage<ReplayReply> replay(String tenantId, long after, long before) {
    String pid = persistenceId(tenantId);
    JdbcReadJournal journal =
        PersistenceQuery.get(Adapter.toClassic(system))
            .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    return journal
        .currentEventsByPersistenceId(pid, after + 1, before - 1)
        .take(page)
        .runWith(Sink.seq(), system)
        .thenApply(
            envelopes -> {
              ReplayReply.Builder reply = ReplayReply.newBuilder();
              // a tenant's numbers are contiguous in the journal: one missing at the start of
              // the range was purged (a purge deletes a prefix of the history)
              long first = envelopes.isEmpty() ? before : envelopes.get(0).sequenceNr();
              reply.setTruncated(first > after + 1);
              long scanned = after;
              for (var env : envelopes) {
                scanned = env.sequenceNr();
                if (env.event() instanceof TenantEntity.Event e) {
                  shipment
                      .tenantEvent(tenantId, env.sequenceNr(), env.timestamp(), e, 0)
                      .ifPresent(reply::addEvents);
                }
              }
              return reply
                  .setScannedUpTo(scanned)
                  .setMore(envelopes.size() == page && scanned < before - 1)
                  .build();
            });
  }
}
