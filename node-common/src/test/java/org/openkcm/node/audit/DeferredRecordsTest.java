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
    AuditSink sink = recording(seen);
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

  /** A sink that keeps every entry it is handed (by batch, with their instants). */
  private static AuditSink recording(List<Seen> seen) {
    return new AuditSink() {
      @Override
      public void accept(String tenant, String event, String json) {
        throw new AssertionError("the audit thread hands batches");
      }

      @Override
      public void acceptAll(List<AuditSink.Entry> batch) {
        batch.forEach(e -> seen.add(new Seen(e.tenant(), e.event(), e.json(), e.at())));
      }
    };
  }

  @Test
  void synchronousAndDeferredRecordsReachTheSinksInTheOrderTheyWereMade() throws Exception {
    List<Seen> seen = new CopyOnWriteArrayList<>();
    try (AutoCloseable registered = AuditLog.addSink(recording(seen))) {
      for (int i = 0; i < 50; i++) {
        if (i % 5 == 0) {
          AuditLog.record("tenant.kill", "tenant", "order", "n", i);
        } else {
          AuditLog.recordLater("keys.unwrap", "tenant", "order", "n", i);
        }
      }
    } // closing the registration waits for the records made before
    List<Seen> mine = seen.stream().filter(s -> "order".equals(s.tenant())).toList();
    assertEquals(50, mine.size());
    for (int i = 0; i < 50; i++) {
      assertEquals(i, new ObjectMapper().readTree(mine.get(i).json()).get("n").asInt());
      assertEquals(i % 5 == 0 ? "tenant.kill" : "keys.unwrap", mine.get(i).event());
    }
  }

  @Test
  void aFullQueueNeverMakesTheCallerWaitAndSaysSoUntilItDrains() throws Exception {
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
              return null;
            },
            batch -> {},
            2);
    q.offer(deferred("a"));
    assertTrue(entered.await(10, TimeUnit.SECONDS), "the audit thread took the first record");
    assertFalse(q.overCapacity());
    q.offer(deferred("b")); // "a" (being made) and "b": the queue is full
    assertTrue(q.overCapacity(), "the nodes admit no new request now");
    // an event-loop thread offering more returns at once (it used to park until there was room)
    Thread caller = new Thread(() -> q.offer(deferred("c")));
    caller.start();
    caller.join(10_000);
    assertFalse(caller.isAlive(), "the caller never waits");
    release.countDown();
    q.flush(Duration.ofSeconds(10));
    assertEquals(List.of("a", "b", "c"), made, "nothing dropped, in order");
    assertFalse(q.overCapacity(), "drained: requests are admitted again");
  }

  @Test
  void aSteadyStreamOfRecordsLeavesInOneBatchPerLingerNotOneBatchPerWrite() {
    // the trail writes a transaction per batch: records that come in while one is written must
    // wait for the linger too, or batches shrink to a few records and transactions multiply
    List<Integer> batches = new CopyOnWriteArrayList<>();
    DeferredRecords q = countingBatches(batches);
    long[] sent = steadyStream(q, 0, 400);
    q.flush(Duration.ofSeconds(10));
    assertEquals(sent[0], batches.stream().mapToInt(Integer::intValue).sum(), "every record");
    long lingers = sent[1] / DeferredRecords.LINGER.toNanos();
    assertTrue(
        batches.size() <= lingers + 2,
        batches.size() + " batches for " + sent[0] + " records in " + lingers + " lingers");
  }

  @Test
  void aFlushDuringASteadyStreamHurriesOnlyTheRecordsBeforeIt() throws Exception {
    // a flush makes the thread leave at once; once served, the stream lingers again (under a
    // steady stream the thread never sees its queue empty, so that cannot be when it stops)
    List<Integer> batches = new CopyOnWriteArrayList<>();
    DeferredRecords q =
        new DeferredRecords(
            d -> new AuditSink.Entry("t", d.event(), "{}", d.at()),
            batch -> {
              batches.add(batch.size());
              // a write takes a while, as the trail's does: records come in meanwhile
              java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(3));
            },
            DeferredRecords.CAPACITY);
    long[] sent = new long[2];
    Thread producer = new Thread(() -> System.arraycopy(steadyStream(q, 0, 600), 0, sent, 0, 2));
    producer.start();
    java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
    q.flush(Duration.ofSeconds(10)); // while the producer goes on
    long flushed = System.nanoTime();
    int batchesBefore = batches.size();
    producer.join();
    long lingers = (System.nanoTime() - flushed) / DeferredRecords.LINGER.toNanos();
    q.flush(Duration.ofSeconds(10));
    int batchesAfter = batches.size() - batchesBefore;
    assertEquals(sent[0], batches.stream().mapToInt(Integer::intValue).sum(), "every record");
    assertTrue(
        batchesAfter <= lingers + 2,
        batchesAfter + " batches after the flush in " + lingers + " lingers");
  }

  private static DeferredRecords countingBatches(List<Integer> batches) {
    return new DeferredRecords(
        d -> new AuditSink.Entry("t", d.event(), "{}", d.at()),
        batch -> batches.add(batch.size()),
        DeferredRecords.CAPACITY);
  }

  /** Offers records every 50 µs for {@code millis}: how many, and the nanoseconds it took. */
  private static long[] steadyStream(DeferredRecords q, long first, long millis) {
    long start = System.nanoTime();
    long offered = 0;
    while (System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(millis)) {
      q.offer(deferred("r" + (first + offered++)));
      java.util.concurrent.locks.LockSupport.parkNanos(50_000); // the producer's pace
    }
    return new long[] {offered, System.nanoTime() - start};
  }

  private static DeferredRecords.Deferred deferred(String event) {
    return new DeferredRecords.Deferred(event, new Object[0], Instant.now(), null);
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
