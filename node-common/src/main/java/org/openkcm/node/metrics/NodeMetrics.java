package org.openkcm.node.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.DoubleSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * One node's Prometheus metrics (one registry per actor system, so a Core and a gateway in one JVM
 * keep theirs apart), served at {@code /metrics} on the management listener ({@link MetricsRoute}).
 * Labels hold only bounded, typed values — method names, reason codes, driver kinds, scopes — never
 * key material, tenant ids (unless configured) or free text.
 */
public final class NodeMetrics implements Extension {

  /** Latency buckets in seconds: 0.1, 0.25, 0.5, 1, 2.5, 5 and 10 ms (then +Inf). */
  public static final double[] LATENCY_BUCKETS = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01
  };

  private static final ExtensionId<NodeMetrics> ID =
      new ExtensionId<>() {
        @Override
        public NodeMetrics createExtension(ActorSystem<?> system) {
          return new NodeMetrics();
        }
      };

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final java.util.Map<String, io.prometheus.metrics.model.registry.Collector> byName =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** Every RPC a node serves: method, outcome ("OK" or the gRPC status / reason code). */
  public final Histogram rpc =
      Histogram.builder()
          .name("openkcm_rpc_duration_seconds")
          .help("Time to answer one RPC, by method and outcome")
          .unit(io.prometheus.metrics.model.snapshots.Unit.SECONDS)
          .classicUpperBounds(LATENCY_BUCKETS)
          .classicOnly()
          .labelNames("method", "outcome")
          .register(registry);

  /**
   * Every call to a customer's L1 keystore: driver (devfile, aws-kms, pkcs11), operation, outcome.
   */
  public final Histogram l1Calls =
      Histogram.builder()
          .name("openkcm_l1_call_duration_seconds")
          .help("Time of one call to the customer's L1 keystore, by driver, operation and outcome")
          .unit(io.prometheus.metrics.model.snapshots.Unit.SECONDS)
          .classicUpperBounds(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
          .classicOnly()
          .labelNames("driver", "operation", "outcome")
          .register(registry);

  /**
   * Region/global kill-switch engagements and releases this node applied, by scope kind and action.
   */
  public final Counter killEvents =
      Counter.builder()
          .name("openkcm_kill_events_total")
          .help(
              "Kill-switch changes this node applied, by scope (tenant, region, global) and action")
          .labelNames("scope", "action")
          .register(registry);

  private NodeMetrics() {
    JvmMetrics.builder().register(registry);
  }

  public static NodeMetrics get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  public PrometheusRegistry registry() {
    return registry;
  }

  /** A gauge read when scraped (pool levels, backlogs). */
  public void gauge(String name, String help, DoubleSupplier value) {
    replace(
        name,
        GaugeWithCallback.builder()
            .name(name)
            .help(help)
            .callback(cb -> cb.call(value.getAsDouble()))
            .build());
  }

  /**
   * A gauge with one label read when scraped: {@code values} answers each label value (peers, ...,
   * a bounded set from configuration) with its current value.
   */
  public void gauge(
      String name,
      String help,
      String label,
      java.util.function.Supplier<java.util.Map<String, Double>> values) {
    replace(
        name,
        GaugeWithCallback.builder()
            .name(name)
            .help(help)
            .labelNames(label)
            .callback(cb -> values.get().forEach((k, v) -> cb.call(v, k)))
            .build());
  }

  /** A counter read when scraped from a monotonic count kept elsewhere (cache hits, refills). */
  public void counterFrom(String name, String help, java.util.function.LongSupplier value) {
    replace(
        name,
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder()
            .name(name)
            .help(help)
            .callback(cb -> cb.call(value.getAsLong()))
            .build());
  }

  /** A part wired again on the same system (tests) replaces its callback instead of failing. */
  private synchronized void replace(
      String name, io.prometheus.metrics.model.registry.Collector collector) {
    io.prometheus.metrics.model.registry.Collector old = byName.put(name, collector);
    if (old != null) {
      registry.unregister(old);
    }
    registry.register(collector);
  }
}
