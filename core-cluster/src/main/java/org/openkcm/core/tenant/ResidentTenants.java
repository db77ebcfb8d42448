package org.openkcm.core.tenant;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.openkcm.core.tenant.KeyBatch.UnwrapItem;
import org.openkcm.core.tenant.KeyBatch.Unwrapped;

/**
 * The {@link ResidentTenant}s of this node: the tenants whose entity lives here and lets the key
 * listener unwrap and wrap on the caller's thread (unless {@code openkcm.core.tenant.direct-keys}
 * is off).
 */
public final class ResidentTenants implements Extension {

  private static final ExtensionId<ResidentTenants> ID =
      new ExtensionId<>() {
        @Override
        public ResidentTenants createExtension(ActorSystem<?> system) {
          return new ResidentTenants();
        }
      };

  private final Map<String, ResidentTenant> tenants = new ConcurrentHashMap<>();

  private ResidentTenants() {}

  public static ResidentTenants get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  /**
   * The answer of tenant {@code tenantId}'s entity to unwrapping {@code items}, made here; empty
   * when the entity itself must be asked.
   */
  public Optional<Unwrapped> unwrap(String tenantId, List<UnwrapItem> items) {
    ResidentTenant resident = tenants.get(tenantId);
    return resident == null ? Optional.empty() : resident.unwrap(items);
  }

  /**
   * The answer of tenant {@code tenantId}'s entity to wrapping {@code items} with service {@code
   * serviceId}'s current L3, made here; empty when the entity itself must be asked.
   */
  public Optional<KeyBatch.Wrapped> wrap(
      String tenantId, String serviceId, List<KeyBatch.WrapItem> items) {
    ResidentTenant resident = tenants.get(tenantId);
    return resident == null ? Optional.empty() : resident.wrap(serviceId, items);
  }

  /** Whether tenant {@code tenantId} is resident here now (tests, metrics). */
  public boolean isResident(String tenantId) {
    return tenants.containsKey(tenantId);
  }

  void publish(ResidentTenant resident) {
    tenants.put(resident.tenantId(), resident);
  }

  /** Withdraws {@code resident} and waits for its unwraps in progress. */
  void withdraw(ResidentTenant resident) {
    tenants.remove(resident.tenantId(), resident);
    resident.close();
  }
}
