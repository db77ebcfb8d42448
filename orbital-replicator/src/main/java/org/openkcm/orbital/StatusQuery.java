package org.openkcm.orbital;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.openkcm.core.tenant.TenantReplication;
import org.openkcm.protocol.orbital.v1.PeerStatus;
import org.openkcm.protocol.orbital.v1.StatusReply;

/**
 * This region's replication status per peer: the offset the peer acknowledged last (Pekko
 * Projection's offset store), how many tagged events of the journal lie past it and how old the
 * oldest is, and what {@link Traffic} saw.
 */
final class StatusQuery {

  private final OrbitalSettings settings;
  private final Supplier<JournalSession> sessions;
  private final Traffic traffic;
  private final Executor blocking;

  StatusQuery(
      OrbitalSettings settings,
      Supplier<JournalSession> sessions,
      Traffic traffic,
      Executor blocking) {
    this.settings = settings;
    this.sessions = sessions;
    this.traffic = traffic;
    this.blocking = blocking;
  }

  CompletionStage<StatusReply> reply() {
    return CompletableFuture.supplyAsync(this::read, blocking);
  }

  private StatusReply read() {
    StatusReply.Builder reply = StatusReply.newBuilder().setRegion(settings.region());
    for (OrbitalSettings.Peer peer : settings.peers()) {
      PeerStatus.Builder p = PeerStatus.newBuilder().setPeer(peer.name());
      Traffic.Out out = traffic.out(peer.name());
      p.setConnected(out.connected()).setLastError(out.lastError());
      try (JournalSession session = sessions.get()) {
        session.withConnection(
            c -> {
              long offset = acknowledged(c, "orbital-to-" + peer.name());
              p.setLastAcknowledgedOffset(offset);
              behind(c, offset, p);
              return null;
            });
      } catch (Exception e) {
        p.setLastError("status unavailable: " + e.getMessage());
      }
      Traffic.In in = traffic.in(peer.name());
      p.setAppliedFromPeer(in.count()).setLagP50Ms(in.quantile(0.5)).setLagP99Ms(in.quantile(0.99));
      p.setRefusedFromPeer(in.refused())
          .setLastRefusal(in.lastRefusal())
          .addAllRecentRefusals(in.recentRefusals())
          .setGapsFromPeer(in.gaps())
          .setCaughtUpFromPeer(in.caughtUp())
          .setUnrecoverableGapsFromPeer(in.unrecoverableGaps());
      in.last().ifPresent(t -> p.setLastAppliedAt(t.toString()));
      reply.addPeers(p);
    }
    return reply.build();
  }

  private static long acknowledged(Connection c, String projection) throws SQLException {
    try (PreparedStatement st =
        c.prepareStatement(
            "SELECT \"current_offset\" FROM \"pekko_projection_offset_store\""
                + " WHERE \"projection_name\" = ?")) {
      st.setString(1, projection);
      ResultSet rs = st.executeQuery();
      return rs.next() ? Long.parseLong(rs.getString(1)) : 0;
    }
  }

  private static void behind(Connection c, long offset, PeerStatus.Builder p) throws SQLException {
    try (PreparedStatement st =
        c.prepareStatement(
            "SELECT count(*), min(j.\"write_timestamp\") FROM \"event_tag\" t JOIN"
                + " \"event_journal\" j ON j.\"ordering\" = t.\"event_id\""
                + " WHERE t.\"tag\" = ? AND t.\"event_id\" > ?")) {
      st.setString(1, TenantReplication.TAG);
      st.setLong(2, offset);
      ResultSet rs = st.executeQuery();
      if (rs.next()) {
        long count = rs.getLong(1);
        long oldest = rs.getLong(2);
        p.setEventsBehind(count);
        p.setSecondsBehind(
            count == 0 ? 0 : Math.max(0, (System.currentTimeMillis() - oldest) / 1000.0));
      }
    }
  }
}
