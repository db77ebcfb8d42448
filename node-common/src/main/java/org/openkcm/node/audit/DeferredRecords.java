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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit's one queue and one thread ({@code openkcm-audit}). A key request's caller only
 * enqueues the event, its fields and the instant; a synchronous record (admin, L1, policy) is made
 * on its caller's thread and enqueued for its sinks only. The thread wakes once per burst, lets it
 * gather for {@link #LINGER}, makes what is left to make (JSON, log line) and hands the whole batch
 * to the sinks at once — the persisted trail hashes and writes it there, in one transaction. A key
 * request's answer never waits for its record, the event loops neither contend on a lock nor wake a
 * thread per record, and every sink sees the records in the order they were enqueued.
 *
 * <p>Nothing is dropped and no caller waits: past {@link #CAPACITY} records (e.g. while the trail's
 * database is away) records are still taken ({@link #overCapacity} then tells the nodes to refuse
 * new requests, so that the queue grows only by what admitted requests still record: an event-loop
 * thread never parks here); {@link #flush} (called by the trail's flush and close, and by a JVM
 * shutdown hook) waits until every record enqueued so far has reached the sinks. Each record keeps
 * the instant it was enqueued.
 */
final class DeferredRecords {

  private static final Logger log = LoggerFactory.getLogger(DeferredRecords.class);
  static final int CAPACITY = 65_536;
  static final Duration LINGER = Duration.ofMillis(50);
  private static final int MAX_BATCH = 4096;

  /**
   * What a caller hands over: a record to make later from its event and fields, or one {@code made}
   * already whose sinks are left.
   */
  record Deferred(String event, Object[] fields, Instant at, AuditSink.Entry made) {}

  /** Makes one record (JSON, log line) on the audit thread; its entry for the sinks, or null. */
  interface Maker {
    AuditSink.Entry make(Deferred d);
  }

  /** Hands a batch of made records to the sinks, on the audit thread. */
  interface Delivery {
    void deliver(List<AuditSink.Entry> batch);
  }

  private final ConcurrentLinkedQueue<Deferred> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();
  private final AtomicLong enqueued = new AtomicLong();
  private final AtomicLong done = new AtomicLong();
  private final Maker maker;
  private final Delivery delivery;
  private final int capacity;
  private final Thread thread;
  private volatile boolean sleeping;
  private volatile boolean hurry; // a flush or a full queue waits: no lingering
  private final java.util.concurrent.atomic.AtomicBoolean full =
      new java.util.concurrent.atomic.AtomicBoolean();

  DeferredRecords(Maker maker, Delivery delivery, int capacity) {
    this.maker = maker;
    this.delivery = delivery;
    this.capacity = capacity;
    this.thread = new Thread(this::run, "openkcm-audit");
    thread.setDaemon(true);
    thread.start();
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> flush(Duration.ofSeconds(5)), "openkcm-audit-flush"));
  }

  /** Enqueues a record, never waiting (nothing is dropped; see {@link #overCapacity}). */
  void offer(Deferred d) {
    if (size.incrementAndGet() > capacity && full.compareAndSet(false, true)) {
      log.warn(
          "audit queue past its capacity ({} records): new requests are refused until it drains",
          capacity);
      hurry = true;
    }
    enqueued.incrementAndGet();
    queue.add(d);
    if (sleeping) {
      sleeping = false;
      LockSupport.unpark(thread);
    }
  }

  /** Records enqueued and not yet handed to the sinks. */
  int backlog() {
    return Math.max(0, size.get());
  }

  /** Whether as many records wait as the queue holds: the nodes admit no new request. */
  boolean overCapacity() {
    return size.get() >= capacity;
  }

  /** Waits (at most {@code timeout}) until every record enqueued before this call is delivered. */
  void flush(Duration timeout) {
    long target = enqueued.get();
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (done) {
      long left;
      while (done.get() < target && (left = deadline - System.nanoTime()) > 0) {
        hurry = true; // no lingering while someone waits
        LockSupport.unpark(thread);
        try {
          done.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private void run() {
    List<Deferred> batch = new ArrayList<>();
    List<AuditSink.Entry> entries = new ArrayList<>();
    long lastTaken = System.nanoTime();
    while (true) {
      long until = lastTaken + LINGER.toNanos(); // at most one batch per linger
      if (queue.isEmpty()) {
        // Dekker-style hand-shake with offer(): set the flag, then look once more
        sleeping = true;
        if (queue.isEmpty()) {
          LockSupport.park(this);
        }
        sleeping = false;
        until = Math.max(until, System.nanoTime() + LINGER.toNanos());
      }
      // Let the burst gather for the whole linger, also when records came in while the last batch
      // was written, and whatever wakes the thread meanwhile (several callers may see it sleeping):
      // otherwise batches shrink to what arrives during one write, and the trail's transactions
      // multiply (measured: twice its database CPU per record, three times the thread's)
      long left;
      while (!hurry && size.get() < MAX_BATCH && (left = until - System.nanoTime()) > 0) {
        LockSupport.parkNanos(this, left);
      }
      lastTaken = System.nanoTime();
      // served: a flush or a full queue still waiting hurries again after this batch (they are
      // woken by it); left set, a steady stream would never let it reset, and every later batch
      // would leave as soon as the last one was written
      hurry = false;
      Deferred d;
      while (batch.size() < MAX_BATCH && (d = queue.poll()) != null) {
        batch.add(d);
      }
      for (Deferred r : batch) {
        try {
          AuditSink.Entry e = r.made() != null ? r.made() : maker.make(r);
          if (e != null) {
            entries.add(e);
          }
        } catch (RuntimeException e) {
          log.error("audit record {} not made: {}", r.event(), e.toString());
        }
      }
      if (!entries.isEmpty()) {
        try {
          delivery.deliver(entries);
        } catch (RuntimeException e) {
          log.error("{} audit records not delivered: {}", entries.size(), e.toString());
        }
      }
      // room only once delivered: a stuck sink (its database away) holds the callers
      if (size.addAndGet(-batch.size()) < capacity && full.compareAndSet(true, false)) {
        log.info("audit queue has room again: requests are admitted");
      }
      synchronized (done) {
        done.addAndGet(batch.size());
        done.notifyAll();
      }
      batch.clear();
      entries.clear();
    }
  }
}
