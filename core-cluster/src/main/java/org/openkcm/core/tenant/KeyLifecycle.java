package org.openkcm.core.tenant;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How a tenant's keys age ({@code openkcm.core.tenant.lifecycle}): the nonce budget of each L3
 * version and the cryptoperiods after which L3 and L2 rotate by themselves.
 *
 * @param maxWrapsPerL3 the hard cap: no L3 version ever wraps more DEKs (AES-GCM with random 96-bit
 *     nonces stays safe for about 2^32 encryptions per key; the default is 2^30)
 * @param rotateAtWraps past this many wraps the next wrap rotates the L3 first (below the cap, so
 *     the cap is never reached while rotation works)
 * @param reserveBlock wraps reserved (persisted) at a time; a crash skips at most one block
 * @param l3MaxAge an L3 version older than this rotates (checked on unseal and every L1 check)
 * @param l2MaxAge the L2 older than this rotates (through the customer's L1)
 */
public record KeyLifecycle(
    long maxWrapsPerL3,
    long rotateAtWraps,
    long reserveBlock,
    Duration l3MaxAge,
    Duration l2MaxAge) {

  public KeyLifecycle {
    if (maxWrapsPerL3 <= 0 || maxWrapsPerL3 > (1L << 32)) {
      throw new IllegalArgumentException(
          "openkcm.core.tenant.lifecycle.nonce-budget.max-wraps must be in 1..2^32, was "
              + maxWrapsPerL3);
    }
    if (rotateAtWraps <= 0 || rotateAtWraps > maxWrapsPerL3) {
      throw new IllegalArgumentException(
          "openkcm.core.tenant.lifecycle.nonce-budget.rotate-at must be in 1..max-wraps, was "
              + rotateAtWraps);
    }
    if (reserveBlock <= 0) {
      throw new IllegalArgumentException(
          "openkcm.core.tenant.lifecycle.nonce-budget.reserve-block must be positive, was "
              + reserveBlock);
    }
  }

  /** 2^30 wraps per L3, rotation at 3/4 of it, 100,000 reserved at a time, 90 / 365 days. */
  public static final KeyLifecycle DEFAULTS =
      new KeyLifecycle(1L << 30, 3L << 28, 100_000, Duration.ofDays(90), Duration.ofDays(365));

  /**
   * This region's share of the nonce budget when {@code regions} regions wrap with the same L3
   * versions (Orbital): the cap and the rotation point divided by {@code regions}, so all regions
   * together never pass {@code max-wraps}.
   */
  public KeyLifecycle sharedBy(int regions) {
    if (regions <= 1) {
      return this;
    }
    long cap = Math.max(1, maxWrapsPerL3 / regions);
    return new KeyLifecycle(
        cap,
        Math.max(1, Math.min(cap, rotateAtWraps / regions)),
        Math.max(1, Math.min(reserveBlock, cap)),
        l3MaxAge,
        l2MaxAge);
  }

  public static KeyLifecycle fromConfig(Config lifecycle) {
    return new KeyLifecycle(
        lifecycle.getLong("nonce-budget.max-wraps"),
        lifecycle.getLong("nonce-budget.rotate-at"),
        lifecycle.getLong("nonce-budget.reserve-block"),
        lifecycle.getDuration("l3-max-age"),
        lifecycle.getDuration("l2-max-age"));
  }
}
