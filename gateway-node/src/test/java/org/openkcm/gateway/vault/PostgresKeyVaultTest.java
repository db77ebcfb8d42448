package org.openkcm.gateway.vault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.time.Clock;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** Against the machine's real PostgreSQL (database test; OPENKCM_IT_PG_URL / _USER override). */
class PostgresKeyVaultTest extends KeyVaultContract {
  @Override
  protected KeyVault newVault() {
    return new PostgresKeyVault(
        System.getenv().getOrDefault("OPENKCM_IT_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test"),
        System.getenv().getOrDefault("OPENKCM_IT_PG_USER", "postgres"),
        "",
        2,
        Executors.newFixedThreadPool(2),
        Clock.systemUTC());
  }

  @Test
  void tenantSchemasNeverCollide() {
    assertNotEquals(PostgresKeyVault.schema("a-b"), PostgresKeyVault.schema("a_b"));
    assertEquals(PostgresKeyVault.schema("acme"), PostgresKeyVault.schema("acme"));
  }
}
