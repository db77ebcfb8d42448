package org.openkcm.gateway.store;

import com.typesafe.config.Config;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.openkcm.node.sql.SerializedDdl;

/**
 * A JDBC database the gateway keeps things in (the L4 vault, KMIP objects): a PostgreSQL server, or
 * an embedded H2 file under the node's data directory (no server; the demo's choice, so that a
 * restart on the same data dir keeps every key). The two differ only in a few words of DDL and in
 * how a row is replaced; {@link Dialect} holds those words.
 */
public record SqlDatabase(Dialect dialect, HikariDataSource pool) implements AutoCloseable {

  /** The SQL words that differ between the databases the gateway supports. */
  public enum Dialect {
    POSTGRES("TEXT", "BYTEA", "TIMESTAMPTZ", "TEXT[]"),
    H2("VARCHAR", "VARBINARY", "TIMESTAMP WITH TIME ZONE", "VARCHAR ARRAY");

    public final String text;
    public final String bytes;
    public final String timestamp;
    public final String textArray;

    Dialect(String text, String bytes, String timestamp, String textArray) {
      this.text = text;
      this.bytes = bytes;
      this.timestamp = timestamp;
      this.textArray = textArray;
    }

    /** The dialect a JDBC URL speaks; only PostgreSQL and H2 URLs are accepted. */
    public static Dialect of(String jdbcUrl) {
      if (jdbcUrl.startsWith("jdbc:postgresql:")) {
        return POSTGRES;
      }
      if (jdbcUrl.startsWith("jdbc:h2:")) {
        return H2;
      }
      throw new IllegalArgumentException(
          "a gateway store's url must be a jdbc:postgresql: or jdbc:h2: URL, was "
              + jdbcUrl.replaceAll("password=[^&;]*", "password=***"));
    }

    /** " WHERE condition" where partial indexes exist (PostgreSQL), nothing otherwise. */
    public String partialIndex(String condition) {
      return this == POSTGRES ? " WHERE " + condition : "";
    }

    /**
     * Inserts a row or, when its key exists, replaces {@code replaced} columns: {@code ON CONFLICT}
     * on PostgreSQL, {@code MERGE ... KEY} on H2.
     */
    public String upsert(String table, List<String> columns, List<String> key, String replaced) {
      String cols = String.join(", ", columns);
      String marks = String.join(", ", columns.stream().map(c -> "?").toList());
      return switch (this) {
        case POSTGRES ->
            "INSERT INTO "
                + table
                + " ("
                + cols
                + ") VALUES ("
                + marks
                + ") ON CONFLICT ("
                + String.join(", ", key)
                + ") DO UPDATE SET "
                + replaced
                + " = EXCLUDED."
                + replaced;
        case H2 ->
            "MERGE INTO "
                + table
                + " ("
                + cols
                + ") KEY ("
                + String.join(", ", key)
                + ") VALUES ("
                + marks
                + ")";
      };
    }
  }

  /** Opens a pool on {@code url} (PostgreSQL or H2; an H2 file is created on first use). */
  public static SqlDatabase open(
      String url, String user, String password, int poolSize, String poolName) {
    Dialect dialect = Dialect.of(url);
    HikariConfig c = new HikariConfig();
    c.setJdbcUrl(url);
    c.setUsername(user);
    c.setPassword(password);
    c.setMaximumPoolSize(poolSize);
    c.setPoolName(poolName);
    return new SqlDatabase(dialect, new HikariDataSource(c));
  }

  /**
   * Opens a pool from a block with {@code url}, {@code user}, {@code password}, {@code pool-size}.
   */
  public static SqlDatabase open(Config c, String poolName) {
    return open(
        c.getString("url"),
        c.getString("user"),
        c.getString("password"),
        c.getInt("pool-size"),
        poolName);
  }

  /** "postgres" or "embedded" — how the configuration names this database. */
  public String kind() {
    return dialect == Dialect.POSTGRES ? "postgres" : "embedded";
  }

  @Override
  public void close() {
    pool.close();
  }

  @Override
  public String toString() {
    return "SqlDatabase[" + kind() + "]";
  }

  /** DDL for {@link #createOnce}. */
  @FunctionalInterface
  public interface Ddl {
    void run(Connection c) throws SQLException;
  }

  /**
   * Runs {@code ddl} so that the nodes sharing a PostgreSQL database never race on it ({@link
   * SerializedDdl}); on H2 (one embedded process) it runs as it is.
   */
  public void createOnce(Connection c, String scope, Ddl ddl) throws SQLException {
    if (dialect == Dialect.POSTGRES) {
      SerializedDdl.run(c, scope, ddl::run);
    } else {
      ddl.run(c);
    }
  }
}
