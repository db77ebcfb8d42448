package org.openkcm.gateway.tenantwatch;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What this gateway knows of each tenant, from the Core's tenant-event watch. Anything held locally for a
 * tenant (cached DEKs, later pools) may be used only while the watch is connected and the tenant was
 * confirmed by a successful Core call since the watch (re)connected, with no kill or revocation since.
 * A disconnect forgets every confirmation: after a reconnect each tenant is re-synced by its next Core call.
 */
public final class TenantStates {

  private final AtomicLong generation = new AtomicLong();
  private final Map<String, Long> confirmed = new ConcurrentHashMap<>();
  private volatile boolean connected;
  private volatile boolean killSwitchInForce;

  /** A token taken before a Core call; {@link #confirm} succeeds only if nothing happened meanwhile. */
  public long generation() {
    return generation.get();
  }

  public boolean mayServeLocally(String tenantId) {
    return connected && !killSwitchInForce && confirmed.containsKey(tenantId);
  }

  /** After a successful Core call begun at {@code token}: the tenant may be served locally again. */
  public boolean confirm(String tenantId, long token) {
    if (!connected || killSwitchInForce || generation.get() != token) {
      return false;
    }
    confirmed.put(tenantId, token);
    if (generation.get() != token) { // lost a race with a kill or a disconnect: not confirmed after all
      confirmed.remove(tenantId, token);
      return false;
    }
    return true;
  }

  void connected() {
    generation.incrementAndGet();
    confirmed.clear();
    connected = true;
  }

  void disconnected() {
    connected = false;
    generation.incrementAndGet();
    confirmed.clear();
  }

  /** A kill or revocation: forget the tenant until a Core call confirms it again. */
  void blocked(String tenantId) {
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
