package org.openkcm.core.persistence;

import com.typesafe.config.Config;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.openkcm.node.health.NodeHealth;

/**
 * The readiness condition "journal reachable": a fresh JDBC connection to the journal's database
 * answers {@code isValid} within two seconds. Runs on the blocking executor; says only the SQL
 * state, never the URL's credentials.
 */
public final class JournalProbe implements NodeHealth.Condition {

  private static final String DB = "pekko-persistence-jdbc.shared-databases.openkcm.db";

  private final String url;
  private final String user;
  private final String password;
  private final Executor blocking;

  public JournalProbe(Config config, Executor blocking) {
    Config db = config.getConfig(DB);
    this.url = db.getString("url");
    this.user = db.getString("user");
    this.password = db.getString("password");
    this.blocking = blocking;
  }

  @Override
  public CompletionStage<Optional<String>> unmet() {
    return CompletableFuture.supplyAsync(
        () -> {
          java.util.Properties props = new java.util.Properties();
          props.setProperty("user", user);
          props.setProperty("password", password);
          if (url.startsWith("jdbc:postgresql:")) {
            // pgjdbc waits forever by default: a stalled database must not hold the probe's thread
            props.setProperty("loginTimeout", "2");
            props.setProperty("connectTimeout", "2");
            props.setProperty("socketTimeout", "3");
          }
          try (Connection c = DriverManager.getConnection(url, props)) {
            return c.isValid(2)
                ? Optional.<String>empty()
                : Optional.of("the journal's database did not answer within 2 s");
          } catch (SQLException e) {
            return Optional.of(
                "the journal's database is unreachable (SQL state " + e.getSQLState() + ")");
          }
        },
        blocking);
  }
}
