package org.openkcm.core.persistence;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.testkit.javadsl.SchemaUtils;
import org.openkcm.node.sql.SerializedDdl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the journal tables when {@code openkcm.core.persistence.create-schema} is on: H2 through
 * pekko-persistence-jdbc's own script, PostgreSQL through ours (idempotent, in the URL's {@code
 * currentSchema}, which it creates if missing).
 */
public final class JournalSchema {

  private static final Logger log = LoggerFactory.getLogger(JournalSchema.class);
  private static final Pattern CURRENT_SCHEMA =
      Pattern.compile("[?&]currentSchema=([A-Za-z_][A-Za-z0-9_]*)");
  private static final String DB = "pekko-persistence-jdbc.shared-databases.openkcm";

  private JournalSchema() {}

  public static CompletionStage<Done> ensure(ActorSystem<?> system, Executor blocking) {
    Config config = system.settings().config();
    if (!config.getBoolean("openkcm.core.persistence.create-schema")) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    String profile = config.getString(DB + ".profile");
    if (profile.contains("Postgres")) {
      Config db = config.getConfig(DB + ".db");
      return CompletableFuture.supplyAsync(
          () -> {
            createPostgres(db.getString("url"), db.getString("user"), db.getString("password"));
            return Done.getInstance();
          },
          blocking);
    }
    log.info("journal: ensuring tables exist ({})", profile);
    return SchemaUtils.createIfNotExists(system);
  }

  /** Runs the PostgreSQL DDL against {@code url}; public for tests and operators' tooling. */
  public static void createPostgres(String url, String user, String password) {
    Matcher m = CURRENT_SCHEMA.matcher(url);
    String schema = m.find() ? m.group(1) : "public";
    log.info("journal: ensuring tables exist in PostgreSQL schema {}", schema);
    try (Connection c = DriverManager.getConnection(url, user, password)) {
      // Core nodes started together all run this on one fresh schema: one at a time
      SerializedDdl.run(
          c,
          schema,
          tx -> {
            try (Statement st = tx.createStatement()) {
              st.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
              st.execute("SET LOCAL search_path TO " + schema);
              for (String sql : script().split(";")) {
                String stmt = stripComments(sql);
                if (!stmt.isBlank()) {
                  st.execute(stmt);
                }
              }
            }
          });
    } catch (SQLException e) {
      throw new IllegalStateException(
          "cannot create the journal tables in "
              + schema
              + " at "
              + url.replaceAll("password=[^&]*", "password=***")
              + ": "
              + e.getMessage(),
          e);
    }
  }

  private static String script() {
    try (InputStream in = JournalSchema.class.getResourceAsStream("postgres-journal.sql")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("postgres-journal.sql missing from the classpath", e);
    }
  }

  private static String stripComments(String sql) {
    return sql.lines().filter(l -> !l.strip().startsWith("--")).reduce("", (a, b) -> a + "\n" + b);
  }
}
