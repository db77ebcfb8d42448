package org.openkcm.gateway;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.openkcm.gateway.cache.DekCache;
import org.openkcm.gateway.pool.DekPool;
import org.openkcm.gateway.tenantwatch.TenantStates;
import org.openkcm.node.health.NodeHealth;
import org.openkcm.node.metrics.NodeMetrics;

/**
 * What a gateway tells its management listener: when it is ready, and its pool and cache figures.
 */
final class GatewayProbes {

  private GatewayProbes() {}

  static void register(
      ActorSystem<?> system,
      TenantStates tenants,
      Optional<DekPool> pool,
      Optional<DekCache> cache) {
    // Ready once the Core's tenant-event stream is connected: it comes over the Core link, and
    // while
    // it is down nothing may be served from local state.
    NodeHealth.get(system)
        .require(
            "tenant-watch",
            () ->
                CompletableFuture.completedFuture(
                    tenants.isConnected()
                        ? Optional.<String>empty()
                        : Optional.of("the Core's tenant-event stream is not connected")));
    NodeMetrics metrics = NodeMetrics.get(system);
    pool.ifPresent(
        p -> {
          metrics.gauge(
              "openkcm_pool_ready_keys",
              "Data keys waiting in the gateway's pools, all tenants together",
              p::readyCount);
          metrics.counterFrom(
              "openkcm_pool_refills",
              "Pool refills the Core answered (one WrapKeys each)",
              p::refills);
          metrics.counterFrom(
              "openkcm_pool_refill_failures", "Pool refills that failed", p::refillFailures);
        });
    cache.ifPresent(
        k -> {
          metrics.counterFrom(
              "openkcm_cache_hits", "Decrypts answered from the DEK cache", k::hits);
          metrics.counterFrom(
              "openkcm_cache_misses", "Decrypts the DEK cache could not answer", k::misses);
        });
  }
}
