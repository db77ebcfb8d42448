package org.openkcm.node.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Readiness under a probe flood: one evaluation of the conditions answers every probe for {@code
 * ready-cache}, and probes arriving while one runs wait for it (the Core's journal condition opens
 * a JDBC connection each time). The clock is the test's.
 */
class NodeHealthTest {

  @Test
  void aProbeFloodEvaluatesTheConditionsOncePerCacheIntervalAndWaitsForOneInFlight() {
    AtomicLong nanos = new AtomicLong();
    NodeHealth health = new NodeHealth(Duration.ofSeconds(1), nanos::get);
    AtomicInteger checks = new AtomicInteger();
    CompletableFuture<Optional<String>> slow = new CompletableFuture<>();
    health.require(
        "journal",
        () -> {
          checks.incrementAndGet();
          return checks.get() == 1 ? slow : CompletableFuture.completedFuture(Optional.empty());
        });
    health.serving();

    List<CompletableFuture<List<String>>> probes = new java.util.ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      probes.add(health.unmet().toCompletableFuture());
    }
    assertEquals(1, checks.get(), "1,000 probes while one check runs: one check");
    assertFalse(probes.get(999).isDone(), "they wait for it");
    slow.complete(Optional.of("unreachable"));
    assertEquals(List.of("journal: unreachable"), probes.get(999).join());

    nanos.addAndGet(Duration.ofMillis(999).toNanos());
    for (int i = 0; i < 1_000; i++) {
      assertEquals(List.of("journal: unreachable"), health.unmet().toCompletableFuture().join());
    }
    assertEquals(1, checks.get(), "within the cache interval: the same answer");
    nanos.addAndGet(Duration.ofMillis(2).toNanos());
    assertTrue(health.unmet().toCompletableFuture().join().isEmpty(), "checked again: ready");
    assertEquals(2, checks.get());
  }
}
