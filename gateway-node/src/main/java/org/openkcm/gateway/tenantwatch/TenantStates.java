package org.openkcm.gateway.tenantwatch;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * What this gateway knows of each tenant, from the Core's tenant-event watch and the Core's
 * answers. Anything held locally for a tenant (pooled and cached DEKs) may be used only while
 *
 * <ul>
 *   <li>the watch is connected and no region/global kill-switch is in force,
 *   <li>a Core call confirmed the tenant since the watch (re)connected, with no kill, revocation,
 *       wipe, "blocked" answer or missed event since, and
 *   <li>that confirmation is younger than the lease: even a silent partition (no events, no errors)
 *       cannot keep a tenant served locally longer than {@code lease} after the Core last answered
 *       for it.
 * </ul>
 *
 * Events and answers carry the tenant's event sequence; a number that jumps past the last one seen
 * means an event was lost, and the tenant is re-synced (forgotten until its next Core call).
 */
public final class TenantStates {

  /**
   * When a tenant was confirmed: under which generation, at which instant of the monotonic clock.
   */
  private record Confirmation(long generation, long atNanos) {}

  private final AtomicLong generation = new AtomicLong();
  private final Map<String, Confirmation> confirmed = new ConcurrentHashMap<>();
  private final Map<String, Long> sequences = new ConcurrentHashMap<>();
  private final long leaseNanos;
  private final LongSupplier nanos;
  private volatile boolean connected;
  private volatile boolean killSwitchInForce;

  public TenantStates(Duration lease, LongSupplier nanos) {
    if (lease.isNegative() || lease.isZero()) {
      throw new IllegalArgumentException(
          "openkcm.gateway.watch.lease must be positive, was " + lease);
    }
    this.leaseNanos = lease.toNanos();
    this.nanos = nanos;
  }

  public TenantStates(Duration lease) {
    this(lease, System::nanoTime);
  }

  /**
   * A token taken before a Core call; {@link #confirm} succeeds only if nothing happened meanwhile.
   */
  public long generation() {
    return generation.get();
  }

  public boolean mayServeLocally(String tenantId) {
    Confirmation c = confirmed.get(tenantId);
    return connected
        && !killSwitchInForce
        && c != null
        && nanos.getAsLong() - c.atNanos() < leaseNanos;
  }

  /**
   * After a successful Core call begun at {@code token}: the tenant may be served locally for one
   * lease.
   */
  public boolean confirm(String tenantId, long token) {
    if (!connected || killSwitchInForce || generation.get() != token) {
      return false;
    }
    Confirmation c = new Confirmation(token, nanos.getAsLong());
    confirmed.put(tenantId, c);
    if (generation.get()
        != token) { // lost a race with a kill or a disconnect: not confirmed after all
      confirmed.remove(tenantId, c);
      return false;
    }
    return true;
  }

  /**
   * The Core answered for {@code tenantId} at event sequence {@code sequence}. Returns false when
   * that is past the last event this gateway saw of the tenant: something happened that the watch
   * did not deliver (yet), so the tenant is forgotten (the caller drops what it holds) until a
   * later call confirms it.
   */
  public boolean answered(String tenantId, long sequence) {
    Long seen = sequences.get(tenantId);
    if (seen != null && sequence > seen) {
      sequences.put(tenantId, sequence);
      blocked(tenantId);
      return false;
    }
    sequences.merge(tenantId, sequence, Math::max);
    return true;
  }

  /**
   * An event of {@code tenantId} with {@code sequence}: returns false when the number jumps past
   * the next one expected (an event was lost), after forgetting the tenant.
   */
  boolean event(String tenantId, long sequence) {
    Long seen = sequences.get(tenantId);
    sequences.merge(tenantId, sequence, Math::max);
    if (seen != null && sequence > seen + 1) {
      blocked(tenantId);
      return false;
    }
    return true;
  }

  void connected() {
    generation.incrementAndGet();
    confirmed.clear();
    sequences.clear();
    connected = true;
  }

  void disconnected() {
    connected = false;
    generation.incrementAndGet();
    confirmed.clear();
    sequences.clear();
  }

  /**
   * A kill, revocation, wipe or "blocked" answer: forget the tenant until a Core call confirms it
   * again.
   */
  public void blocked(String tenantId) {
    generation.incrementAndGet();
    confirmed.remove(tenantId);
  }

  void killSwitch(boolean inForce) {
    killSwitchInForce = inForce;
    if (inForce) {
      generation.incrementAndGet();
      confirmed.clear();
    }
  }

  public boolean isConnected() {
    return connected;
  }
}
