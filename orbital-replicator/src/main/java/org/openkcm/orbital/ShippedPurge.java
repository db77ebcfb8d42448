package org.openkcm.orbital;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.openkcm.core.persistence.JournalTags;
import org.openkcm.core.tenant.LifecycleProtocol;
import org.openkcm.node.audit.AuditLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journal purge behind destroying events (retirement, L2 rotation, L2 rewrap, offboarding) —
 * written here or applied from another region — once every peer region has acknowledged them and
 * every event of this region's before them. With peers, a tenant does not delete its older events
 * itself after such an event (the outbox reads the journal, and a deleted row is never shipped):
 * this does, every {@code openkcm.orbital.purge-interval}, for each destroying event at or below
 * the offset every peer's outbox has acknowledged — the events before it and the snapshots before
 * it, in one transaction, and only when the snapshot taken at it exists (recovery starts there). A
 * region that is down keeps the older events here until it is back and has the destroying event.
 * Plain SQL on the journal's tables (pekko-persistence-jdbc's own delete marks the destroying row
 * deleted, which hides it from the outbox): PostgreSQL and H2 alike.
 */
final class ShippedPurge {

  private static final Logger log = LoggerFactory.getLogger(ShippedPurge.class);

  /** The journal manifests of the events after which a tenant's older events go. */
  static final List<String> DESTROYING =
      List.of(
          LifecycleProtocol.L3VersionsRetired.class.getName(),
          LifecycleProtocol.L2Rotated.class.getName(),
          LifecycleProtocol.L2Rewrapped.class.getName(),
          LifecycleProtocol.TenantOffboarded.class.getName());

  /** A destroying event of a tenant: its persistence id and sequence number. */
  record Destroying(String persistenceId, long sequenceNr) {}

  /** Sweeps done, per region of this JVM (operators' counter and tests' probe). */
  private static final java.util.Map<String, java.util.concurrent.atomic.AtomicLong> SWEEPS =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final OrbitalSettings settings;
  private final Supplier<JournalSession> sessions;

  ShippedPurge(OrbitalSettings settings, Supplier<JournalSession> sessions) {
    this.settings = settings;
    this.sessions = sessions;
  }

  /** Runs {@link #once} every {@code purge-interval} on the blocking dispatcher. */
  Cancellable start(ActorSystem<?> system) {
    scala.concurrent.ExecutionContextExecutor blocking =
        system.dispatchers().lookup(DispatcherSelector.blocking());
    return system
        .scheduler()
        .scheduleWithFixedDelay(
            settings.purgeInterval(),
            settings.purgeInterval(),
            () -> {
              try {
                once();
              } catch (RuntimeException e) {
                log.warn(
                    "Orbital: journal purge of shipped destroying events failed: {}", e.toString());
              }
            },
            blocking);
  }

  /** How many sweeps the purge of region {@code region} in this JVM has completed. */
  static long sweeps(String region) {
    java.util.concurrent.atomic.AtomicLong n = SWEEPS.get(region);
    return n == null ? 0 : n.get();
  }

  /** Purges before every destroying event all peers have acknowledged; how many were purged. */
  int once() {
    try {
      return sweep();
    } finally {
      SWEEPS
          .computeIfAbsent(settings.region(), r -> new java.util.concurrent.atomic.AtomicLong())
          .incrementAndGet();
    }
  }

  private int sweep() {
    try (JournalSession session = sessions.get()) {
      return session.withConnection(
          c -> {
            try {
              Optional<Long> acknowledged = acknowledgedByAll(c);
              if (acknowledged.isEmpty()) {
                return 0;
              }
              int purged = 0;
              for (Destroying d : due(c, acknowledged.get())) {
                if (purge(c, d)) {
                  purged++;
                }
              }
              session.commit();
              return purged;
            } catch (SQLException e) {
              throw new IllegalStateException(e.getMessage(), e);
            }
          });
    } catch (Exception e) {
      throw new IllegalStateException("journal purge: " + e.getMessage(), e);
    }
  }

  /**
   * The lowest journal offset every peer's outbox has acknowledged (0: one has acknowledged none).
   */
  private Optional<Long> acknowledgedByAll(Connection c) throws SQLException {
    long lowest = Long.MAX_VALUE;
    for (OrbitalSettings.Peer peer : settings.peers()) {
      try (PreparedStatement st =
          c.prepareStatement(
              "SELECT \"current_offset\" FROM \"pekko_projection_offset_store\""
                  + " WHERE \"projection_name\" = ?")) {
        st.setString(1, "orbital-to-" + peer.name());
        ResultSet rs = st.executeQuery();
        // none stored: that peer has acknowledged nothing yet
        lowest = Math.min(lowest, rs.next() ? Long.parseLong(rs.getString(1)) : 0);
      }
    }
    return lowest == Long.MAX_VALUE ? Optional.empty() : Optional.of(lowest);
  }

  /**
   * Destroying events with older events behind them whose purge loses nothing not yet shipped: one
   * written here once every peer acknowledged it ({@code offset}); another region's (tagged {@link
   * JournalTags#ORBITAL_DESTROYED}) once every event of this region's before it is acknowledged.
   */
  private static List<Destroying> due(Connection c, long offset) throws SQLException {
    String kinds = String.join(",", DESTROYING.stream().map(k -> "?").toList());
    try (PreparedStatement st =
        c.prepareStatement(
            "SELECT j.\"persistence_id\", j.\"sequence_number\" FROM \"event_journal\" j"
                + " WHERE j.\"deleted\" = FALSE"
                + " AND ((j.\"ordering\" <= ? AND j.\"event_ser_manifest\" IN ("
                + kinds
                + ")) OR EXISTS (SELECT 1 FROM \"event_tag\" d"
                + " WHERE d.\"event_id\" = j.\"ordering\" AND d.\"tag\" = ?))"
                // this region's own events before it, every one shipped
                + " AND NOT EXISTS (SELECT 1 FROM \"event_journal\" o JOIN \"event_tag\" t"
                + " ON t.\"event_id\" = o.\"ordering\""
                + " WHERE o.\"persistence_id\" = j.\"persistence_id\" AND t.\"tag\" = ?"
                + " AND o.\"ordering\" > ? AND o.\"sequence_number\" < j.\"sequence_number\")"
                + " AND EXISTS (SELECT 1 FROM \"event_journal\" e"
                + " WHERE e.\"persistence_id\" = j.\"persistence_id\""
                + " AND e.\"sequence_number\" < j.\"sequence_number\")"
                + " ORDER BY j.\"ordering\"")) {
      int i = 1;
      st.setLong(i++, offset);
      for (String kind : DESTROYING) {
        st.setString(i++, kind);
      }
      st.setString(i++, JournalTags.ORBITAL_DESTROYED);
      st.setString(i++, JournalTags.ORBITAL);
      st.setLong(i, offset);
      ResultSet rs = st.executeQuery();
      List<Destroying> out = new ArrayList<>();
      while (rs.next()) {
        out.add(new Destroying(rs.getString(1), rs.getLong(2)));
      }
      return out;
    }
  }

  /** The events and snapshots of {@code d}'s tenant before it, if its snapshot is there. */
  private static boolean purge(Connection c, Destroying d) throws SQLException {
    try (PreparedStatement snapshot =
        c.prepareStatement(
            "SELECT 1 FROM \"snapshot\" WHERE \"persistence_id\" = ? AND \"sequence_number\" >= ?")) {
      snapshot.setString(1, d.persistenceId());
      snapshot.setLong(2, d.sequenceNr());
      if (!snapshot.executeQuery().next()) {
        log.warn(
            "Orbital: {} has no snapshot at or after its destroying event {}; its older events stay"
                + " until one is written",
            d.persistenceId(),
            d.sequenceNr());
        return false;
      }
    }
    int events;
    try (PreparedStatement st =
        c.prepareStatement(
            "DELETE FROM \"event_journal\" WHERE \"persistence_id\" = ? AND \"sequence_number\" < ?")) {
      st.setString(1, d.persistenceId());
      st.setLong(2, d.sequenceNr());
      events = st.executeUpdate();
    }
    try (PreparedStatement st =
        c.prepareStatement(
            "DELETE FROM \"snapshot\" WHERE \"persistence_id\" = ? AND \"sequence_number\" < ?")) {
      st.setString(1, d.persistenceId());
      st.setLong(2, d.sequenceNr());
      st.executeUpdate();
    }
    String tenant = d.persistenceId().substring(d.persistenceId().indexOf('|') + 1);
    log.info(
        "tenant {}: every peer region has event {}; {} older events and older snapshots deleted",
        tenant,
        d.sequenceNr(),
        events);
    AuditLog.record(
        "tenant.purge",
        "tenant",
        tenant,
        "upTo",
        d.sequenceNr(),
        "outcome",
        "ok",
        "after",
        "peers");
    return true;
  }
}
