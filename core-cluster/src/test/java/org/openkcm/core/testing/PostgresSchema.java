package org.openkcm.core.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A throw-away schema on the machine's real PostgreSQL (127.0.0.1:5432, database test, trust auth;
 * override with OPENKCM_IT_PG_URL / OPENKCM_IT_PG_USER). Dropped on close.
 */
public final class PostgresSchema implements AutoCloseable {

  public static final String BASE_URL =
      System.getenv().getOrDefault("OPENKCM_IT_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
  public static final String USER = System.getenv().getOrDefault("OPENKCM_IT_PG_USER", "postgres");

  final String schema;

  public PostgresSchema() {
    byte[] r = new byte[6];
    new SecureRandom().nextBytes(r);
    this.schema = "openkcm_it_" + HexFormat.of().formatHex(r);
  }

  public String url() {
    return BASE_URL + "?currentSchema=" + schema;
  }

  /** Journal settings that point the Core at this schema (the Core creates the tables itself). */
  public Config journalConfig() {
    return ConfigFactory.parseMap(
        Map.of(
            "pekko-persistence-jdbc.shared-databases.openkcm.profile",
                "slick.jdbc.PostgresProfile$",
            "pekko-persistence-jdbc.shared-databases.openkcm.db.url", url(),
            "pekko-persistence-jdbc.shared-databases.openkcm.db.user", USER,
            "pekko-persistence-jdbc.shared-databases.openkcm.db.password", "",
            "pekko-persistence-jdbc.shared-databases.openkcm.db.driver", "org.postgresql.Driver",
            "pekko.projection.jdbc.dialect", "postgres-dialect"));
  }

  /** One stored event: how to deserialize it, and its bytes. */
  public record StoredEvent(long sequenceNr, int serId, String manifest, byte[] payload) {}

  /** Every stored event of the persistence ids starting with {@code prefix}, in order. */
  public List<StoredEvent> events(String prefix) throws SQLException {
    try (Connection c = DriverManager.getConnection(url(), USER, "");
        java.sql.PreparedStatement st =
            c.prepareStatement(
                "SELECT sequence_number, event_ser_id, event_ser_manifest, event_payload FROM "
                    + schema
                    + ".event_journal WHERE persistence_id LIKE ? ORDER BY ordering")) {
      st.setString(1, prefix + "%");
      ResultSet rs = st.executeQuery();
      List<StoredEvent> out = new ArrayList<>();
      while (rs.next()) {
        out.add(new StoredEvent(rs.getLong(1), rs.getInt(2), rs.getString(3), rs.getBytes(4)));
      }
      return out;
    }
  }

  /** The payloads of every stored snapshot of the persistence ids starting with {@code prefix}. */
  public List<byte[]> snapshotPayloads(String prefix) throws SQLException {
    try (Connection c = DriverManager.getConnection(url(), USER, "");
        java.sql.PreparedStatement st =
            c.prepareStatement(
                "SELECT snapshot_payload FROM "
                    + schema
                    + ".snapshot WHERE persistence_id LIKE ? ORDER BY sequence_number")) {
      st.setString(1, prefix + "%");
      ResultSet rs = st.executeQuery();
      List<byte[]> out = new ArrayList<>();
      while (rs.next()) {
        out.add(rs.getBytes(1));
      }
      return out;
    }
  }

  /**
   * The persisted event payloads of the entities whose persistence id starts with {@code prefix},
   * in order.
   */
  public List<byte[]> eventPayloads(String prefix) throws SQLException {
    try (Connection c = DriverManager.getConnection(url(), USER, "");
        java.sql.PreparedStatement st =
            c.prepareStatement(
                "SELECT event_payload FROM "
                    + schema
                    + ".event_journal WHERE persistence_id LIKE ? ORDER BY ordering")) {
      st.setString(1, prefix + "%");
      ResultSet rs = st.executeQuery();
      List<byte[]> out = new ArrayList<>();
      while (rs.next()) {
        out.add(rs.getBytes(1));
      }
      return out;
    }
  }

  @Override
  public void close() throws SQLException {
    try (Connection c = DriverManager.getConnection(BASE_URL, USER, "");
        Statement st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }
  }
}
