package org.openkcm.core.tenant;

import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.openkcm.core.tenant.TenantState.Registered;

/**
 * One tenant incarnation's published view for the key listener ({@link ResidentTenant} in {@link
 * ResidentTenants}): published after the entity answered a wrap or an unwrap in a serving state,
 * withdrawn — waiting for the wraps and unwraps in progress — before anything else changes the
 * tenant, with the wraps it made counted against the L3 versions' nonce budgets. Owned by the
 * entity's actor, like {@link TenantRuntime}.
 */
final class TenantResidency {

  private final String tenantId;
  private final TenantDependencies deps;
  private final ActorSystem<?> system;
  private final ResidentTenants residents;
  private ResidentTenant resident; // while one is published

  TenantResidency(String tenantId, TenantDependencies deps, ActorSystem<?> system) {
    this.tenantId = tenantId;
    this.deps = deps;
    this.system = system;
    this.residents = ResidentTenants.get(system);
  }

  /** Publishes the tenant as {@code s} with {@code keys}, unless it is published already. */
  void publish(Registered s, UnsealedKeys keys, long sequence) {
    if (resident == null && deps.settings().directKeys()) {
      resident = new ResidentTenant(s, keys, sequence, deps, HomeRegionHeartbeats.get(system));
      residents.publish(resident);
    }
  }

  /**
   * Withdraws the published view, waiting for its unwraps and wraps in progress, and counts the
   * wraps it made on {@code keys} (the keys still held, if any).
   */
  void withdraw(Optional<UnsealedKeys> keys) {
    if (resident != null) {
      residents.withdraw(resident);
      List<ResidentTenant.Spent> spent = resident.spent();
      resident = null;
      for (ResidentTenant.Spent w : spent) {
        keys.ifPresent(k -> countWraps(k, w));
      }
    }
  }

  /** Counts wraps made with the published view (and tells the nonce-budget gauge). */
  private void countWraps(UnsealedKeys keys, ResidentTenant.Spent w) {
    keys.countWraps(w.serviceId(), w.l3Version(), w.wraps());
    NonceBudgetGauge.get(system)
        .observe(
            tenantId,
            w.serviceId(),
            w.l3Version(),
            keys.wraps(w.serviceId(), w.l3Version()),
            deps.settings().lifecycle().maxWrapsPerL3());
  }
}
