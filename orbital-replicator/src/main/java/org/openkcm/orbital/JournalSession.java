package org.openkcm.orbital;

import com.typesafe.config.Config;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.projection.jdbc.JdbcSession;

/**
 * A transaction on the journal's database for Pekko Projection's offset store (the same database as
 * the Core's journal, {@code pekko-persistence-jdbc.shared-databases.openkcm.db}).
 */
final class JournalSession implements JdbcSession, AutoCloseable {

  private final Connection connection;

  JournalSession(Config db) {
    try {
      this.connection =
          DriverManager.getConnection(
              db.getString("url"), db.getString("user"), db.getString("password"));
      connection.setAutoCommit(false);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "Orbital: cannot reach the journal database for its offsets: " + e.getMessage(), e);
    }
  }

  @Override
  public <R> R withConnection(Function<Connection, R> func) throws Exception {
    return func.apply(connection);
  }

  @Override
  public void commit() throws SQLException {
    connection.commit();
  }

  @Override
  public void rollback() throws SQLException {
    connection.rollback();
  }

  @Override
  public void close() throws SQLException {
    connection.close();
  }
}
