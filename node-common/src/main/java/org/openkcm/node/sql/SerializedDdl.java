package org.openkcm.node.sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * Runs DDL that several nodes may run at once against one PostgreSQL database (Core nodes started
 * together creating the journal tables, gateways creating a tenant's vault schema) one node at a
 * time. PostgreSQL's {@code CREATE ... IF NOT EXISTS} is not safe under that race: two sessions
 * both find the name free and the second fails on a catalog index ({@code duplicate key value
 * violates unique constraint "pg_namespace_nspname_index"}), which once made the second node of
 * {@code cluster up} exit at start. A transaction-scoped advisory lock on the scope's name orders
 * the creators; it is released at commit or rollback, so a crashed node holds nothing.
 */
public final class SerializedDdl {

  /** DDL statements run on the connection while the lock is held. */
  @FunctionalInterface
  public interface Work {
    void run(Connection c) throws SQLException;
  }

  private SerializedDdl() {}

  /**
   * Runs {@code work} in one transaction holding the advisory lock named by {@code scope} (a schema
   * name, say), then restores the connection's auto-commit mode. Must be called outside a
   * transaction of the caller's own.
   */
  public static void run(Connection c, String scope, Work work) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtext(?))")) {
      lock.setString(1, "openkcm-ddl:" + scope);
      lock.execute();
      work.run(c);
      c.commit();
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(autoCommit);
    }
  }
}
