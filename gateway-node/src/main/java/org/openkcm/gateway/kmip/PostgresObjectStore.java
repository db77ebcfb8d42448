package org.openkcm.gateway.kmip;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.server.ManagedObject;
import org.openkcm.kmip.server.ObjectCodec;
import org.openkcm.kmip.server.ObjectStore;
import org.openkcm.kmip.server.Owner;

/**
 * KMIP objects in PostgreSQL: one row per object (owner, id, creation time, the object as TTLV), in
 * schema {@code schema}. Rows hold only the protected material, never a key in the clear; a
 * destroyed object's row keeps its attributes and loses its material.
 */
public final class PostgresObjectStore implements ObjectStore, AutoCloseable {

  private static final Pattern SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private final HikariDataSource pool;
  private final String table;

  public PostgresObjectStore(
      String url, String user, String password, int poolSize, String schema) {
    if (!SCHEMA.matcher(schema).matches()) {
      throw new IllegalArgumentException(
          "openkcm.gateway.kmip.postgres-schema must be a lower-case SQL name, was " + schema);
    }
    HikariConfig c = new HikariConfig();
    c.setJdbcUrl(url);
    c.setUsername(user);
    c.setPassword(password);
    c.setMaximumPoolSize(poolSize);
    c.setPoolName("openkcm-kmip");
    this.pool = new HikariDataSource(c);
    this.table = schema + ".objects";
    try (Connection conn = pool.getConnection();
        Statement st = conn.createStatement()) {
      st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
      st.execute(
          "CREATE TABLE IF NOT EXISTS "
              + table
              + " (tenant text NOT NULL, service text NOT NULL, uid text NOT NULL,"
              + " created timestamptz NOT NULL, doc bytea NOT NULL,"
              + " PRIMARY KEY (tenant, service, uid))");
    } catch (SQLException e) {
      pool.close();
      throw new IllegalStateException("KMIP object store: " + e.getMessage(), e);
    }
  }

  @Override
  public void put(ManagedObject o) {
    run(
        "INSERT INTO "
            + table
            + " (tenant, service, uid, created, doc) VALUES (?, ?, ?, ?, ?)"
            + " ON CONFLICT (tenant, service, uid) DO UPDATE SET doc = EXCLUDED.doc",
        ps -> {
          ps.setString(1, o.owner().tenant());
          ps.setString(2, o.owner().service());
          ps.setString(3, o.uid());
          ps.setTimestamp(4, Timestamp.from(o.created()));
          ps.setBytes(5, ObjectCodec.encode(o));
          ps.executeUpdate();
          return null;
        });
  }

  @Override
  public Optional<ManagedObject> get(Owner owner, String uid) {
    return run(
        "SELECT doc FROM " + table + " WHERE tenant = ? AND service = ? AND uid = ?",
        ps -> {
          ps.setString(1, owner.tenant());
          ps.setString(2, owner.service());
          ps.setString(3, uid);
          try (ResultSet rs = ps.executeQuery()) {
            return rs.next()
                ? Optional.of(ObjectCodec.decode(rs.getBytes(1)))
                : Optional.<ManagedObject>empty();
          }
        });
  }

  @Override
  public List<ManagedObject> list(Owner owner) {
    return run(
        "SELECT doc FROM " + table + " WHERE tenant = ? AND service = ? ORDER BY created DESC, uid",
        ps -> {
          ps.setString(1, owner.tenant());
          ps.setString(2, owner.service());
          List<ManagedObject> out = new ArrayList<>();
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              out.add(ObjectCodec.decode(rs.getBytes(1)));
            }
          }
          return out;
        });
  }

  @Override
  public void dropTenant(String tenant) {
    run(
        "DELETE FROM " + table + " WHERE tenant = ?",
        ps -> {
          ps.setString(1, tenant);
          return ps.executeUpdate();
        });
  }

  private interface Work<T> {
    T run(PreparedStatement ps) throws SQLException;
  }

  private <T> T run(String sql, Work<T> work) {
    try (Connection c = pool.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      return work.run(ps);
    } catch (SQLException e) {
      throw new KmipException(
          ResultReason.GENERAL_FAILURE, "the KMIP object store failed: " + e.getSQLState());
    }
  }

  @Override
  public void close() {
    pool.close();
  }
}
