package org.openkcm.gateway.vault;

import java.time.Clock;

/** Against the machine's real Redis (127.0.0.1:6379; OPENKCM_IT_REDIS_URI overrides). */
class RedisKeyVaultTest extends KeyVaultContract {
  @Override
  protected KeyVault newVault() {
    return new RedisKeyVault(
        System.getenv().getOrDefault("OPENKCM_IT_REDIS_URI", "redis://127.0.0.1:6379"),
        "okcm-test",
        Clock.systemUTC());
  }

  @org.junit.jupiter.api.Test
  void aDestroyWaitsForItsReplicasAndSaysWhenTheyDidNotAcknowledge() throws Exception {
    // this Redis has no replica: asking for one makes the destroy fail loudly, the key gone on the
    // primary all the same
    try (RedisKeyVault vault =
        new RedisKeyVault(
            System.getenv().getOrDefault("OPENKCM_IT_REDIS_URI", "redis://127.0.0.1:6379"),
            "okcm-test",
            Clock.systemUTC(),
            1,
            java.time.Duration.ofMillis(200))) {
      String tenant = "wait-" + Long.toHexString(System.nanoTime());
      vault
          .store(
              tenant,
              new KeyVault.StoredKey(
                  "k1",
                  "payments",
                  new byte[] {1, 2, 3},
                  java.util.Map.of(),
                  "",
                  java.time.Instant.now()))
          .toCompletableFuture()
          .get();
      var failed =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.util.concurrent.ExecutionException.class,
              () -> vault.destroy(tenant, "k1").toCompletableFuture().get());
      org.junit.jupiter.api.Assertions.assertTrue(
          failed.getCause().getMessage().contains("only 0 of 1 replicas"),
          failed.getCause().getMessage());
      org.junit.jupiter.api.Assertions.assertTrue(
          vault.lookup(tenant, "k1").toCompletableFuture().get() instanceof KeyVault.Destroyed);
      vault.dropTenant(tenant).toCompletableFuture().get();
    }
  }
}
