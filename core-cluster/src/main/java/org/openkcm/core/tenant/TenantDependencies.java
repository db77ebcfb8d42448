package org.openkcm.core.tenant;

import java.security.SecureRandom;
import java.time.Clock;
import org.openkcm.core.keystore.L1Keystore;
import org.openkcm.core.killswitch.KillSwitchView;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * What a tenant entity needs from outside: the L1 keystore drivers, randomness, time, settings,
 * this node's view of the region/global kill-switch, this node's master key (which seals what is
 * persisted), where status changes are published, and the kills this node accepted that the journal
 * does not have yet.
 */
public record TenantDependencies(
    L1Keystore keystore,
    SecureRandom random,
    Clock clock,
    TenantSettings settings,
    KillSwitchView killSwitch,
    MasterKey masterKey,
    TenantEvents events,
    PendingKills pendingKills) {

  public TenantDependencies(
      L1Keystore keystore,
      SecureRandom random,
      Clock clock,
      TenantSettings settings,
      KillSwitchView killSwitch,
      MasterKey masterKey,
      TenantEvents events) {
    this(keystore, random, clock, settings, killSwitch, masterKey, events, new PendingKills());
  }

  /** Without event publication (tests). */
  public TenantDependencies(
      L1Keystore keystore,
      SecureRandom random,
      Clock clock,
      TenantSettings settings,
      KillSwitchView killSwitch,
      MasterKey masterKey) {
    this(keystore, random, clock, settings, killSwitch, masterKey, TenantEvents.NONE);
  }

  /** For tests: no kill-switch, an unsealed random master key. */
  public TenantDependencies(
      L1Keystore keystore, SecureRandom random, Clock clock, TenantSettings settings) {
    this(keystore, random, clock, settings, KillSwitchView.NONE);
  }

  /** For tests: an unsealed random master key. */
  public TenantDependencies(
      L1Keystore keystore,
      SecureRandom random,
      Clock clock,
      TenantSettings settings,
      KillSwitchView killSwitch) {
    this(
        keystore,
        random,
        clock,
        settings,
        killSwitch,
        MasterKey.unsealedWith(KeyMaterial.random(32, random)));
  }
}
