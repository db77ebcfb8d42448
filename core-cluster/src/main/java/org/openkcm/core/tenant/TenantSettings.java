package org.openkcm.core.tenant;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Settings of tenant entities, read once from {@code openkcm.core.tenant}.
 *
 * @param l1CheckInterval how often an unsealed tenant asks its L1 again whether it still works
 * @param l1UnavailableGrace how long an unreachable keystore is tolerated before the keys are wiped
 *     anyway
 * @param unsealRetryBackoff after a failed unseal, how long commands are refused with that failure
 *     before the customer's keystore is asked again
 * @param l1CallTimeout how long one call to the customer's keystore may take before it counts as
 *     unreachable (a hung HSM or KMS never holds the tenant's commands longer)
 * @param maxWaitingCommands most commands that wait for an L1 call; more are refused at once
 * @param lifecycle nonce budget and cryptoperiods of the tenant's keys
 * @param directKeys whether a serving tenant lets the key listener wrap and unwrap on its own
 *     thread ({@link ResidentTenant})
 */
public record TenantSettings(
    int maxBatchSize,
    String shardRole,
    Duration l1CheckInterval,
    Duration l1UnavailableGrace,
    Duration unsealRetryBackoff,
    Duration l1CallTimeout,
    int maxWaitingCommands,
    KeyLifecycle lifecycle,
    boolean directKeys) {

  public TenantSettings(
      int maxBatchSize,
      String shardRole,
      Duration l1CheckInterval,
      Duration l1UnavailableGrace,
      Duration unsealRetryBackoff) {
    this(
        maxBatchSize,
        shardRole,
        l1CheckInterval,
        l1UnavailableGrace,
        unsealRetryBackoff,
        Duration.ofSeconds(8),
        1000,
        KeyLifecycle.DEFAULTS,
        true);
  }

  public static TenantSettings fromConfig(Config config) {
    Config c = config.getConfig("openkcm.core.tenant");
    return new TenantSettings(
        c.getInt("max-batch-size"),
        c.getString("shard-role"),
        c.getDuration("l1-check-interval"),
        c.getDuration("l1-unavailable-grace"),
        c.getDuration("unseal-retry-backoff"),
        c.getDuration("l1-call-timeout"),
        c.getInt("max-waiting-commands"),
        KeyLifecycle.fromConfig(c.getConfig("lifecycle")).sharedBy(regions(config)),
        c.getBoolean("direct-keys"));
  }

  /** How many regions wrap with the same L3 versions: this one and its Orbital peers. */
  static int regions(Config root) {
    if (!root.hasPath("openkcm.orbital.enabled") || !root.getBoolean("openkcm.orbital.enabled")) {
      return 1;
    }
    return 1 + root.getConfigList("openkcm.orbital.peers").size();
  }

  /** Defaults for tests that build an entity by hand. */
  public static TenantSettings forTests(int maxBatchSize) {
    return new TenantSettings(
        maxBatchSize, "crypto", Duration.ofHours(1), Duration.ofMinutes(5), Duration.ZERO);
  }

  public TenantSettings withL1CallTimeout(Duration timeout, int maxWaiting) {
    return new TenantSettings(
        maxBatchSize,
        shardRole,
        l1CheckInterval,
        l1UnavailableGrace,
        unsealRetryBackoff,
        timeout,
        maxWaiting,
        lifecycle,
        directKeys);
  }

  public TenantSettings withLifecycle(KeyLifecycle next) {
    return new TenantSettings(
        maxBatchSize,
        shardRole,
        l1CheckInterval,
        l1UnavailableGrace,
        unsealRetryBackoff,
        l1CallTimeout,
        maxWaitingCommands,
        next,
        directKeys);
  }
}
