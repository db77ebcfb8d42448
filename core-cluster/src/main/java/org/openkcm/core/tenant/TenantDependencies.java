package org.openkcm.core.tenant;

import java.security.SecureRandom;
import java.time.Clock;
import org.openkcm.core.keystore.L1Keystore;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * What a tenant entity needs from outside: the L1 keystore drivers, randomness, time, settings, this
 * node's view of the region/global kill-switch, and this node's master key (which seals what is persisted).
 */
public record TenantDependencies(L1Keystore keystore, SecureRandom random, Clock clock, TenantSettings settings,
    KillSwitchView killSwitch, MasterKey masterKey, TenantEvents events) {

  /** Without event publication (tests). */
  public TenantDependencies(L1Keystore keystore, SecureRandom random, Clock clock, TenantSettings settings,
      KillSwitchView killSwitch, MasterKey masterKey) {
    this(keystore, random, clock, settings, killSwitch, masterKey, TenantEvents.NONE);
  }

  /** For tests: no kill-switch, an unsealed random master key. */
  public TenantDependencies(L1Keystore keystore, SecureRandom random, Clock clock, TenantSettings settings) {
    this(keystore, random, clock, settings, KillSwitchView.NONE);
  }

  /** For tests: an unsealed random master key. */
  public TenantDependencies(L1Keystore keystore, SecureRandom random, Clock clock, TenantSettings settings,
      KillSwitchView killSwitch) {
    this(keystore, random, clock, settings, killSwitch, MasterKey.unsealedWith(KeyMaterial.random(32, random)));
  }
}
