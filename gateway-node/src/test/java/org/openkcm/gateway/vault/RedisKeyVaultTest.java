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
}
