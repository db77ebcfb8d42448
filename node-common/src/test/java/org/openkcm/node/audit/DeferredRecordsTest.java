package org.openkcm.node.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Records made off the calling thread: in order, with their own instant, none lost. */
class DeferredRecordsTest {

  private record Seen(String tenant, String event, String json, Instant at) {}

  @Test
  void aDeferredRecordReachesTheSinksWithTheInstantItWasMadeAtAndFlushWaitsForIt()
      throws Exception {
    List<Seen> seen = new CopyOnWriteArrayList<>();
    AuditSink sink =
        new AuditSink() {
          @Override
          public void accept(String tenant, String event, String json) {
            seen.add(new Seen(tenant, event, json, null));
          }

          @Override
          public void accept(String tenant, String event, String json, Instant at) {
            seen.add(new Seen(tenant, event, json, at));
          }
        };
    try (AutoCloseable registered = AuditLog.addSink(sink)) {
      Instant before = Instant.now();
      for (int i = 0; i < 100; i++) {
        AuditLog.recordLater("keys.unwrap", "tenant", "acme", "count", i, "cid", "c" + i);
      }
      Instant after = Instant.now();
      AuditLog.flushDeferred(Duration.ofSeconds(10));
      List<Seen> mine =
          seen.stream().filter(s -> "acme".equals(s.tenant())).toList(); // other tests' records
      assertEquals(100, mine.size(), "every record, once");
      for (int i = 0; i < 100; i++) {
        Seen s = mine.get(i);
        assertEquals("keys.unwrap", s.event());
        assertEquals(i, new ObjectMapper().readTree(s.json()).get("count").asInt(), "in order");
        assertEquals(
            AuditLog.json("keys.unwrap", "tenant", "acme", "count", i, "cid", "c" + i),
            s.json(),
            "the same record as a synchronous one");
        assertTrue(
            s.at() != null && !s.at().isBefore(before) && !s.at().isAfter(after),
            "the instant of the call, not of the batch: " + s.at());
      }
    }
  }

  @Test
  void aFullQueueRefusesSoTheCallerMakesTheRecordItself() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    List<String> made = new CopyOnWriteArrayList<>();
    DeferredRecords q =
        new DeferredRecords(
            d -> {
              entered.countDown();
              try {
                release.await(10, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              made.add(d.event());
            },
            2);
    assertTrue(q.offer("a", new Object[0]));
    assertTrue(entered.await(10, TimeUnit.SECONDS), "the audit thread took the first record");
    assertTrue(q.offer("b", new Object[0]));
    assertTrue(q.offer("c", new Object[0]));
    assertFalse(q.offer("d", new Object[0]), "two records wait: the third is refused");
    release.countDown();
    q.flush(Duration.ofSeconds(10));
    assertEquals(List.of("a", "b", "c"), made);
    assertTrue(q.offer("e", new Object[0]), "room again once made");
    q.flush(Duration.ofSeconds(10));
    assertEquals(List.of("a", "b", "c", "e"), made);
  }

  @Test
  void aSuppliedTenantStillChoosesTheChainAndIsAskedOnce() throws Exception {
    List<String> tenants = new CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicInteger asked =
        new java.util.concurrent.atomic.AtomicInteger();
    AuditSink sink = (tenant, event, json) -> tenants.add(tenant);
    try (AutoCloseable registered = AuditLog.addSink(sink)) {
      AuditLog.recordLater(
          "keys.wrap",
          "tenant",
          (java.util.function.Supplier<String>)
              () -> {
                asked.incrementAndGet();
                return "supplied";
              });
      AuditLog.flushDeferred(Duration.ofSeconds(10));
    }
    assertTrue(tenants.contains("supplied"), tenants.toString());
    assertEquals(1, asked.get());
  }

  @Test
  void oddFieldsAreRefusedAtOnceNotLostLater() {
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> AuditLog.recordLater("keys.wrap", "tenant"));
  }
}
