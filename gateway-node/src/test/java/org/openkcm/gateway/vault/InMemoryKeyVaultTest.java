package org.openkcm.gateway.vault;

import java.time.Clock;

class InMemoryKeyVaultTest extends KeyVaultContract {
  @Override
  protected KeyVault newVault() {
    return new InMemoryKeyVault(Clock.systemUTC());
  }
}
