package org.openkcm.gateway.vault;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.gateway.store.SqlDatabase;

/**
 * The vault contract against both JDBC databases: the machine's real PostgreSQL (database test;
 * OPENKCM_IT_PG_URL / _USER override) and an embedded H2 file in a temporary directory (the
 * demo's).
 */
class JdbcKeyVaultTest {

  private static final ExecutorService BLOCKING = Executors.newFixedThreadPool(2);

  @TempDir static Path dir;

  @AfterAll
  static void stop() {
    BLOCKING.shutdown();
  }

  private static String h2Url() {
    return "jdbc:h2:file:" + dir.resolve("vault/openkcm-vault") + ";DB_CLOSE_ON_EXIT=FALSE";
  }

  @Nested
  class OnPostgres extends KeyVaultContract {
    @Override
    protected KeyVault newVault() {
      return new JdbcKeyVault(
          SqlDatabase.open(
              System.getenv()
                  .getOrDefault("OPENKCM_IT_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test"),
              System.getenv().getOrDefault("OPENKCM_IT_PG_USER", "postgres"),
              "",
              2,
              "vault-test"),
          BLOCKING,
          Clock.systemUTC());
    }
  }

  @Nested
  class OnEmbeddedH2 extends KeyVaultContract {
    @Override
    protected KeyVault newVault() {
      return new JdbcKeyVault(
          SqlDatabase.open(h2Url(), "sa", "", 2, "vault-test"), BLOCKING, Clock.systemUTC());
    }
  }

  @Test
  void theEmbeddedFileKeepsKeysAcrossARestart() {
    byte[] envelope = {1, 2, 3, 4, 5};
    Instant created = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    try (KeyVault v =
        new JdbcKeyVault(
            SqlDatabase.open(h2Url(), "sa", "", 2, "vault-test"), BLOCKING, Clock.systemUTC())) {
      assertEquals("embedded", v.kind());
      v.store(
              "restart",
              new KeyVault.StoredKey(
                  "k1", "billing", envelope, Map.of("row", "7"), "alice", created))
          .toCompletableFuture()
          .join();
    }
    try (KeyVault v =
        new JdbcKeyVault(
            SqlDatabase.open(h2Url(), "sa", "", 2, "vault-test"), BLOCKING, Clock.systemUTC())) {
      KeyVault.Found found =
          assertInstanceOf(
              KeyVault.Found.class, v.lookup("restart", "k1").toCompletableFuture().join());
      assertArrayEquals(envelope, found.key().envelope());
      assertEquals(Map.of("row", "7"), found.key().context());
      assertEquals(created, found.key().created());
      v.dropTenant("restart").toCompletableFuture().join();
    }
  }

  @Test
  void onlyPostgresAndH2UrlsAreAccepted() {
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class,
            () -> SqlDatabase.open("jdbc:mysql://h/db?password=hunter2", "u", "", 1, "x"));
    assertEquals(
        "a gateway store's url must be a jdbc:postgresql: or jdbc:h2: URL, was"
            + " jdbc:mysql://h/db?password=***",
        e.getMessage());
  }

  @Test
  void tenantSchemasNeverCollide() {
    assertNotEquals(JdbcKeyVault.schema("a-b"), JdbcKeyVault.schema("a_b"));
    assertEquals(JdbcKeyVault.schema("acme"), JdbcKeyVault.schema("acme"));
  }
}
