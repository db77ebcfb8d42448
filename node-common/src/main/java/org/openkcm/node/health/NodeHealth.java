package org.openkcm.node.health;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * What a node needs before it takes traffic. Node code names each condition when it wires the part
 * the condition watches (the Core: unsealed, kill-switch state loaded, journal reachable; the
 * gateway: tenant watch connected) and says when its listener is bound; {@link NodeReadiness}
 * answers Kubernetes' readiness probe from here. Until {@link #serving()} the node is not ready.
 */
public final class NodeHealth implements Extension {

  /**
   * One condition: empty when met, otherwise why not (no key material, no free text from callers).
   */
  @FunctionalInterface
  public interface Condition {
    CompletionStage<Optional<String>> unmet();
  }

  private static final ExtensionId<NodeHealth> ID =
      new ExtensionId<>() {
        @Override
        public NodeHealth createExtension(ActorSystem<?> system) {
          com.typesafe.config.Config c = system.settings().config();
          NodeHealth health =
              new NodeHealth(
                  c.hasPath(CACHE) ? c.getDuration(CACHE) : java.time.Duration.ofSeconds(1),
                  System::nanoTime);
          // first thing of a coordinated shutdown (SIGTERM, a rolling restart): stop being ready,
          // so
          // load balancers and Kubernetes' endpoints drop the node before its listeners stop
          // accepting
          org.apache.pekko.actor.CoordinatedShutdown.get(system)
              .addTask(
                  org.apache.pekko.actor.CoordinatedShutdown.PhaseBeforeServiceUnbind(),
                  "openkcm-not-ready",
                  () -> {
                    health.stopping = true;
                    return CompletableFuture.completedFuture(org.apache.pekko.Done.getInstance());
                  });
          return health;
        }
      };

  private final Map<String, Condition> conditions = new LinkedHashMap<>();
  private volatile boolean serving;
  private volatile boolean stopping;
  private volatile Optional<java.net.URI> management = Optional.empty();

  /** How long one condition may take before it counts as unmet. */
  static final java.time.Duration CONDITION_TIMEOUT = java.time.Duration.ofSeconds(5);

  /** How long one evaluation of the conditions answers every probe. */
  static final String CACHE = "openkcm.management.ready-cache";

  private final long cacheNanos;
  private final java.util.function.LongSupplier nanoTime;
  private CompletableFuture<List<String>> last;
  private long lastAt;

  /**
   * {@code cache}: one evaluation of the conditions (a JDBC round trip, a seal check) answers every
   * probe for that long, and probes that arrive while one runs wait for it: a probe flood opens one
   * connection per {@code cache}, not one per probe. {@code nanoTime}: the clock (tests move their
   * own).
   */
  NodeHealth(java.time.Duration cache, java.util.function.LongSupplier nanoTime) {
    this.cacheNanos = cache.toNanos();
    this.nanoTime = nanoTime;
  }

  public static NodeHealth get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  /** Adds (or replaces) the condition called {@code name}. */
  public synchronized void require(String name, Condition condition) {
    conditions.put(name, condition);
    last = null; // the next probe evaluates the new set
  }

  /** The node's listener is bound: from now on readiness is the conditions alone. */
  public void serving() {
    serving = true;
  }

  /** True once a coordinated shutdown began: new calls should go to another node. */
  public boolean stopping() {
    return stopping;
  }

  /** Where this node's management listener answers ({@code /alive}, {@code /ready}), once bound. */
  public Optional<java.net.URI> management() {
    return management;
  }

  void managementAt(java.net.URI base) {
    management = Optional.of(base);
  }

  /** Every unmet condition as "name: why", in the order they were required; empty when ready. */
  public CompletionStage<List<String>> unmet() {
    if (stopping) {
      return CompletableFuture.completedFuture(List.of("node: shutting down (draining)"));
    }
    if (!serving) {
      return CompletableFuture.completedFuture(List.of("listener: not serving yet"));
    }
    synchronized (this) {
      long now = nanoTime.getAsLong();
      if (last == null || (last.isDone() && now - lastAt >= cacheNanos)) {
        last = evaluate();
        lastAt = now;
      }
      return last;
    }
  }

  /** Runs every condition once. */
  private CompletableFuture<List<String>> evaluate() {
    List<Map.Entry<String, Condition>> now;
    synchronized (this) {
      now = List.copyOf(conditions.entrySet());
    }
    CompletableFuture<List<String>> out = CompletableFuture.completedFuture(new ArrayList<>());
    for (Map.Entry<String, Condition> c : now) {
      CompletableFuture<Optional<String>> one;
      try {
        one = c.getValue().unmet().toCompletableFuture();
      } catch (RuntimeException e) {
        one = CompletableFuture.completedFuture(Optional.of(String.valueOf(e.getMessage())));
      }
      // a condition that hangs (a database that takes the connection and never answers) makes the
      // node not ready, never the probe hang for good: the next probe checks again
      CompletableFuture<Optional<String>> checked =
          one.orTimeout(CONDITION_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
              .exceptionally(e -> Optional.of("check failed: " + rootMessage(e)));
      out =
          out.thenCombine(
              checked,
              (list, why) -> {
                why.ifPresent(w -> list.add(c.getKey() + ": " + w));
                return list;
              });
    }
    return out.thenApply(List::copyOf);
  }

  private static String rootMessage(Throwable t) {
    Throwable cur = t;
    while (cur.getCause() != null && cur.getCause() != cur) {
      cur = cur.getCause();
    }
    return cur.getClass().getSimpleName() + ": " + cur.getMessage();
  }
}
