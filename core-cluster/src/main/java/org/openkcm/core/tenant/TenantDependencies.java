package org.openkcm.core.tenant;

import java.security.SecureRandom;
import java.time.Clock;
import org.openkcm.core.keystore.L1Keystore;

/**
 * What a tenant entity needs from outside: the L1 keystore drivers, randomness, time, settings, and this
 * node's view of the region/global kill-switch.
 */
public record TenantDependencies(L1Keystore keystore, SecureRandom random, Clock clock, TenantSettings settings,
    KillSwitchView killSwitch) {

  public TenantDependencies(L1Keystore keystore, SecureRandom random, Clock clock, TenantSettings settings) {
    this(keystore, random, clock, settings, KillSwitchView.NONE);
  }
}
