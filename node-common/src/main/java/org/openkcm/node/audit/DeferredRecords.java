package org.openkcm.node.audit;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Records made off the calling thread, for the hot path (one record per key request): a caller only
 * enqueues the event, its fields and the instant; one daemon thread ({@code openkcm-audit}) wakes
 * once per burst, lets it gather for {@link #LINGER}, and makes the JSON, the log line and the
 * hand-over to the sinks for the whole batch. A key request's answer never waits for its record,
 * and the event loops neither contend on a lock nor wake a thread per record.
 *
 * <p>Nothing is dropped: a full queue ({@link #CAPACITY} records in production) makes the caller
 * record synchronously itself; {@link #flush} (called by the trail's flush and close, and by a JVM
 * shutdown hook) waits until every record enqueued so far has been made. Each record keeps the
 * instant it was enqueued (the trail stores that instant, not the later one of its batch).
 */
final class DeferredRecords {

  static final int CAPACITY = 65_536;
  static final Duration LINGER = Duration.ofMillis(20);

  /** What a caller hands over: everything needed to make the record later. */
  record Deferred(String event, Object[] fields, Instant at) {}

  /** Makes one record (JSON, log line, sinks); runs on the audit thread. */
  interface Maker {
    void make(Deferred d);
  }

  private final ConcurrentLinkedQueue<Deferred> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();
  private final AtomicLong enqueued = new AtomicLong();
  private final AtomicLong made = new AtomicLong();
  private final Maker maker;
  private final int capacity;
  private final Thread thread;
  private volatile boolean sleeping;

  DeferredRecords(Maker maker, int capacity) {
    this.maker = maker;
    this.capacity = capacity;
    this.thread = new Thread(this::run, "openkcm-audit");
    thread.setDaemon(true);
    thread.start();
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> flush(Duration.ofSeconds(5)), "openkcm-audit-flush"));
  }

  /** Enqueues a record; {@code false} when the queue is full (the caller then makes it itself). */
  boolean offer(String event, Object[] fields) {
    if (size.incrementAndGet() > capacity) {
      size.decrementAndGet();
      return false;
    }
    enqueued.incrementAndGet();
    queue.add(new Deferred(event, fields, Instant.now()));
    if (sleeping) {
      sleeping = false;
      LockSupport.unpark(thread);
    }
    return true;
  }

  /** Waits (at most {@code timeout}) until every record enqueued before this call is made. */
  void flush(Duration timeout) {
    long target = enqueued.get();
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (made) {
      long left;
      while (made.get() < target && (left = deadline - System.nanoTime()) > 0) {
        LockSupport.unpark(thread); // no lingering while someone waits
        try {
          made.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private void run() {
    List<Deferred> batch = new ArrayList<>();
    while (true) {
      if (queue.isEmpty()) {
        // Dekker-style hand-shake with offer(): set the flag, then look once more
        sleeping = true;
        if (queue.isEmpty()) {
          LockSupport.park(this);
        }
        sleeping = false;
        LockSupport.parkNanos(this, LINGER.toNanos()); // let the burst gather
      }
      Deferred d;
      while (batch.size() < 4096 && (d = queue.poll()) != null) {
        batch.add(d);
      }
      size.addAndGet(-batch.size());
      for (Deferred r : batch) {
        try {
          maker.make(r);
        } catch (RuntimeException e) {
          org.slf4j.LoggerFactory.getLogger(DeferredRecords.class)
              .error("audit record {} not made: {}", r.event(), e.toString());
        }
      }
      synchronized (made) {
        made.addAndGet(batch.size());
        made.notifyAll();
      }
      batch.clear();
    }
  }
}
