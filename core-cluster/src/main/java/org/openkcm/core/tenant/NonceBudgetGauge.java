package org.openkcm.core.tenant;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.openkcm.node.metrics.NodeMetrics;

/**
 * How much of each L3 version's nonce budget (wraps / max-wraps) the tenants on this node have
 * used, as the tenant entities report it after each batch of wraps. Exported as {@code
 * openkcm_nonce_budget_max_used_ratio} (the highest of all: alert before any version reaches its
 * rotation point), and per tenant, service and version as {@code openkcm_nonce_budget_used_ratio}
 * only when {@code openkcm.metrics.tenant-labels} is on (tenant ids in labels are the operator's
 * choice).
 */
final class NonceBudgetGauge implements Extension {

  private static final ExtensionId<NonceBudgetGauge> ID =
      new ExtensionId<>() {
        @Override
        public NonceBudgetGauge createExtension(ActorSystem<?> system) {
          return new NonceBudgetGauge(system);
        }
      };

  /** One L3 version of one tenant's service. */
  private record Version(String tenant, String service, long version) {
    String label() {
      return tenant + "/" + service + "/v" + version;
    }
  }

  private final Map<Version, Double> used = new ConcurrentHashMap<>();

  private NonceBudgetGauge(ActorSystem<?> system) {
    NodeMetrics metrics = NodeMetrics.get(system);
    metrics.gauge(
        "openkcm_nonce_budget_max_used_ratio",
        "The highest share of its nonce budget any L3 version unsealed on this node has used",
        () -> used.values().stream().mapToDouble(Double::doubleValue).max().orElse(0));
    com.typesafe.config.Config config = system.settings().config();
    if (config.hasPath("openkcm.metrics.tenant-labels")
        && config.getBoolean("openkcm.metrics.tenant-labels")) {
      metrics.gauge(
          "openkcm_nonce_budget_used_ratio",
          "Share of its nonce budget each L3 version has used (tenant/service/version)",
          "l3",
          () -> {
            Map<String, Double> byLabel = new java.util.HashMap<>();
            used.forEach((v, ratio) -> byLabel.put(v.label(), ratio));
            return byLabel;
          });
    }
  }

  static NonceBudgetGauge get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  void observe(String tenant, String service, long version, long wraps, long maxWraps) {
    used.put(new Version(tenant, service, version), (double) wraps / maxWraps);
  }

  /** A tenant's keys left this node (wiped, passivated, offboarded). */
  void forget(String tenant) {
    used.keySet().removeIf(v -> v.tenant().equals(tenant));
  }
}
