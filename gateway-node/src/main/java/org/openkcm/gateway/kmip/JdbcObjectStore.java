package org.openkcm.gateway.kmip;

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
import org.openkcm.gateway.store.SqlDatabase;
import org.openkcm.gateway.store.SqlDatabase.Dialect;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.server.ManagedObject;
import org.openkcm.kmip.server.ObjectCodec;
import org.openkcm.kmip.server.ObjectStore;
import org.openkcm.kmip.server.Owner;

/**
 * KMIP objects in a JDBC database (PostgreSQL, or the embedded H2 file of the demo): one row per
 * object (owner, id, creation time, the object as TTLV), in schema {@code schema}. Rows hold only
 * the protected material, never a key in the clear; a destroyed object's row keeps its attributes
 * and loses its material.
 */
public final class JdbcObjectStore implements ObjectStore, AutoCloseable {

  private static final Pattern SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private final SqlDatabase db;
  private final String table;
  private final String upsert;

  /** Takes {@code db} over (closes it when closed); creates schema and table when missing. */
  public JdbcObjectStore(SqlDatabase db, String schema) {
    if (!SCHEMA.matcher(schema).matches()) {
      db.close();
      throw new IllegalArgumentException(
          "openkcm.gateway.kmip.schema must be a lower-case SQL name, was " + schema);
    }
    this.db = db;
    this.table = schema + ".objects";
    this.upsert =
        db.dialect()
            .upsert(
                table,
                List.of("tenant", "service", "uid", "created", "doc"),
                List.of("tenant", "service", "uid"),
                "doc");
    Dialect d = db.dialect();
    try (Connection conn = db.pool().getConnection()) {
      // gateways started together create the table at once: one at a time
      db.createOnce(
          conn,
          schema,
          tx -> {
            try (Statement st = tx.createStatement()) {
              st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
              st.execute(
                  "CREATE TABLE IF NOT EXISTS "
                      + table
                      + (" (tenant %1$s NOT NULL, service %1$s NOT NULL, uid %1$s NOT NULL,"
                              + " created %3$s NOT NULL, doc %2$s NOT NULL,"
                              + " PRIMARY KEY (tenant, service, uid))")
                          .formatted(d.text, d.bytes, d.timestamp));
            }
          });
    } catch (SQLException e) {
      db.close();
      throw new IllegalStateException("KMIP object store: " + e.getMessage(), e);
    }
  }

  @Override
  public void put(ManagedObject o) {
    run(
        upsert,
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
    try (Connection c = db.pool().getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      return work.run(ps);
    } catch (SQLException e) {
      throw new KmipException(
          ResultReason.GENERAL_FAILURE, "the KMIP object store failed: " + e.getSQLState());
    }
  }

  @Override
  public void close() {
    db.close();
  }
}
