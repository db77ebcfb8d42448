package org.openkcm.gateway.vault;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.openkcm.gateway.store.SqlDatabase;
import org.openkcm.gateway.store.SqlDatabase.Dialect;

/**
 * Vault on a JDBC database (HikariCP, on a blocking executor): a PostgreSQL server, or an embedded
 * H2 file under the data dir (the demo's). One schema per tenant, so offboarding a tenant drops its
 * schema; destroying a key sets its envelope to NULL and keeps the row as a tombstone.
 */
public final class JdbcKeyVault implements KeyVault {

  private final SqlDatabase db;
  private final Executor blocking;
  private final Clock clock;
  private final Set<String> ready = ConcurrentHashMap.newKeySet();

  public JdbcKeyVault(SqlDatabase db, Executor blocking, Clock clock) {
    this.db = db;
    this.blocking = blocking;
    this.clock = clock;
  }

  @Override
  public String kind() {
    return db.kind();
  }

  /**
   * The tenant's schema: readable prefix plus a hash, so that distinct tenant ids never collide.
   */
  public static String schema(String tenantId) {
    try {
      byte[] h =
          MessageDigest.getInstance("SHA-256").digest(tenantId.getBytes(StandardCharsets.UTF_8));
      String readable = tenantId.replaceAll("[^a-z0-9_]", "_");
      return "okv_"
          + readable.substring(0, Math.min(40, readable.length()))
          + "_"
          + HexFormat.of().formatHex(h, 0, 5);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private <T> CompletionStage<T> withTenant(String tenantId, Work<T> work) {
    return CompletableFuture.supplyAsync(
        () -> {
          String schema = schema(tenantId);
          try (Connection c = db.pool().getConnection()) {
            if (!ready.contains(schema)) {
              Dialect d = db.dialect();
              SqlDatabase.Ddl create =
                  tx -> {
                    try (Statement st = tx.createStatement()) {
                      st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
                      st.execute(
                          "CREATE TABLE IF NOT EXISTS "
                              + schema
                              + (".keys (id %1$s PRIMARY KEY, service %1$s NOT NULL,"
                                      + " envelope %2$s, context_names %3$s, context_values %3$s,"
                                      + " subject %1$s NOT NULL, created %4$s NOT NULL,"
                                      + " destroyed_at %4$s)")
                                  .formatted(d.text, d.bytes, d.textArray, d.timestamp));
                      st.execute(
                          "CREATE INDEX IF NOT EXISTS keys_subject ON "
                              + schema
                              + ".keys (subject)"
                              + d.partialIndex("destroyed_at IS NULL"));
                    }
                  };
              // the gateways of a region share the database: one creates the schema at a time
              db.createOnce(c, schema, create);
              ready.add(schema);
            }
            return work.run(c);
          } catch (SQLException e) {
            throw new IllegalStateException(
                "vault (" + db.kind() + ") failed for tenant " + tenantId + ": " + e.getMessage(),
                e);
          }
        },
        blocking);
  }

  @Override
  public CompletionStage<Void> store(String tenantId, StoredKey k) {
    return withTenant(
        tenantId,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO "
                      + schema(tenantId)
                      + ".keys (id, service, envelope, context_names, context_values, subject, created) VALUES (?,?,?,?,?,?,?)")) {
            String[] names = k.context().keySet().toArray(String[]::new);
            String[] values = new String[names.length];
            for (int i = 0; i < names.length; i++) {
              values[i] = k.context().get(names[i]);
            }
            ps.setString(1, k.keyId());
            ps.setString(2, k.serviceId());
            ps.setBytes(3, k.envelope());
            ps.setArray(4, c.createArrayOf("text", names));
            ps.setArray(5, c.createArrayOf("text", values));
            ps.setString(6, k.subject());
            ps.setTimestamp(7, Timestamp.from(k.created()));
            ps.executeUpdate();
            return null;
          }
        });
  }

  @Override
  public CompletionStage<Lookup> lookup(String tenantId, String keyId) {
    return withTenant(
        tenantId,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT service, envelope, context_names, context_values, subject,"
                      + " created, destroyed_at FROM "
                      + schema(tenantId)
                      + ".keys WHERE id = ?")) {
            ps.setString(1, keyId);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                return new Absent();
              }
              Timestamp destroyed = rs.getTimestamp("destroyed_at");
              if (destroyed != null) {
                return new Destroyed(destroyed.toInstant());
              }
              Map<String, String> ctx = new HashMap<>();
              String[] names = strings(rs.getArray("context_names"));
              String[] values = strings(rs.getArray("context_values"));
              for (int i = 0; i < names.length; i++) {
                ctx.put(names[i], values[i]);
              }
              return new Found(
                  new StoredKey(
                      keyId,
                      rs.getString("service"),
                      rs.getBytes("envelope"),
                      ctx,
                      rs.getString("subject"),
                      rs.getTimestamp("created").toInstant()));
            }
          }
        });
  }

  /** PostgreSQL answers a String[], H2 an Object[] of strings. */
  private static String[] strings(Array a) throws SQLException {
    if (a == null) {
      return new String[0];
    }
    Object[] raw = (Object[]) a.getArray();
    String[] out = new String[raw.length];
    for (int i = 0; i < raw.length; i++) {
      out[i] = (String) raw[i];
    }
    return out;
  }

  @Override
  public CompletionStage<Boolean> destroy(String tenantId, String keyId) {
    return tombstone(tenantId, "id = ?", keyId).thenApply(n -> n == 1);
  }

  @Override
  public CompletionStage<Integer> destroyBySubject(
      String tenantId, String serviceId, String subject) {
    return tombstone(tenantId, "subject = ? AND service = ?", subject, serviceId);
  }

  /** Drops envelope and context of the live keys {@code where} selects, keeping a tombstone. */
  private CompletionStage<Integer> tombstone(String tenantId, String where, String... params) {
    return withTenant(
        tenantId,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE "
                      + schema(tenantId)
                      + ".keys SET envelope = NULL, context_names = NULL, context_values = NULL,"
                      + " destroyed_at = ? WHERE "
                      + where
                      + " AND destroyed_at IS NULL")) {
            ps.setTimestamp(1, Timestamp.from(clock.instant()));
            for (int k = 0; k < params.length; k++) {
              ps.setString(k + 2, params[k]);
            }
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public CompletionStage<Void> dropTenant(String tenantId) {
    return CompletableFuture.supplyAsync(
        () -> {
          try (Connection c = db.pool().getConnection();
              Statement st = c.createStatement()) {
            st.execute("DROP SCHEMA IF EXISTS " + schema(tenantId) + " CASCADE");
            ready.remove(schema(tenantId));
            return null;
          } catch (SQLException e) {
            throw new IllegalStateException(
                "vault ("
                    + db.kind()
                    + ") could not drop tenant "
                    + tenantId
                    + ": "
                    + e.getMessage(),
                e);
          }
        },
        blocking);
  }

  @Override
  public void close() {
    db.close();
  }
}
