package org.openkcm.systemtest.load;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives asynchronous calls and measures them with HdrHistogram: closed loop (N callers, each
 * sending its next request when the previous answer arrives) or open loop (requests leave at a
 * fixed rate whatever the answers do, latency counted from the intended send time, so stalls are
 * not hidden). A warm-up run is discarded. Results are one flat map per run, printed as one JSON
 * line.
 */
public final class LoadRunner {

  private LoadRunner() {}

  /** Closed loop with {@code concurrency} callers; {@code batch} keys per call (for keys/s). */
  public static Map<String, Object> closedLoop(
      String scenario,
      int concurrency,
      int batch,
      int warmupSeconds,
      int seconds,
      Supplier<CompletionStage<?>> call)
      throws Exception {
    if (warmupSeconds > 0) {
      measure(call, concurrency, warmupSeconds);
    }
    CpuMeter cpu = new CpuMeter();
    long start = System.nanoTime();
    Run r = measure(call, concurrency, seconds);
    double elapsed = (System.nanoTime() - start) / 1e9;
    long[] used = cpu.elapsed();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("scenario", scenario);
    out.put("concurrency", concurrency);
    out.put("batch", batch);
    out.put("seconds", Math.round(elapsed * 10) / 10.0);
    out.putAll(figures(r, elapsed, batch, used));
    return out;
  }

  /** Open loop at {@code rate} calls per second. */
  public static Map<String, Object> openLoop(
      String scenario, int rate, int warmupSeconds, int seconds, Supplier<CompletionStage<?>> call)
      throws Exception {
    if (warmupSeconds > 0) {
      open(call, rate, warmupSeconds);
    }
    CpuMeter cpu = new CpuMeter();
    long start = System.nanoTime();
    Run r = open(call, rate, seconds);
    double elapsed = (System.nanoTime() - start) / 1e9;
    long[] used = cpu.elapsed();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("scenario", scenario);
    out.put("openLoopRate", rate);
    out.put("seconds", Math.round(elapsed * 10) / 10.0);
    out.putAll(figures(r, elapsed, 1, used));
    return out;
  }

  /**
   * Open loop at {@code rate} calls per second for every scenario, interleaved: after each one's
   * warm-up, {@code rounds} rounds of {@code seconds / rounds} each per scenario (each round
   * starting at the next scenario), the rounds' histograms and CPU times added up per scenario.
   * What the host does meanwhile (another tenant's burst, a compilation) then falls on every
   * scenario alike, not on whichever ran at that time: for comparing the scenarios' tails with each
   * other.
   */
  public static List<Map<String, Object>> openLoopInterleaved(
      Map<String, Supplier<CompletionStage<?>>> scenarios,
      int rate,
      int warmupSeconds,
      int seconds,
      int rounds)
      throws Exception {
    List<String> names = new ArrayList<>(scenarios.keySet());
    Map<String, Totals> totals = new LinkedHashMap<>();
    for (String name : names) {
      if (warmupSeconds > 0) {
        open(scenarios.get(name), rate, warmupSeconds);
      }
      totals.put(name, new Totals());
    }
    int window = Math.max(1, seconds / rounds);
    for (int round = 0; round < rounds; round++) {
      for (int i = 0; i < names.size(); i++) {
        String name = names.get((round + i) % names.size());
        CpuMeter cpu = new CpuMeter();
        long start = System.nanoTime();
        Run r = open(scenarios.get(name), rate, window);
        totals.get(name).add(r, System.nanoTime() - start, cpu.elapsed());
      }
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (String name : names) {
      Totals t = totals.get(name);
      double elapsed = t.nanos / 1e9;
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("scenario", name);
      m.put("openLoopRate", rate);
      m.put("rounds", rounds);
      m.put("seconds", Math.round(elapsed * 10) / 10.0);
      m.putAll(figures(new Run(t.histogram, t.errors), elapsed, 1, new long[] {t.jvmCpu, t.dbCpu}));
      // each round's own p99, in round order: scenario windows of one round are neighbours in
      // time, so their ratio compares tails under the same host conditions
      m.put("roundP99us", t.roundP99us);
      out.add(m);
    }
    return out;
  }

  /** One scenario's rounds of an interleaved open loop, added up. */
  private static final class Totals {
    final Histogram histogram = new Histogram(3);
    final List<Long> roundP99us = new ArrayList<>();
    long errors;
    long nanos;
    long jvmCpu;
    long dbCpu;

    void add(Run r, long elapsedNanos, long[] cpu) {
      histogram.add(r.histogram());
      roundP99us.add(r.histogram().getValueAtPercentile(99) / 1000);
      errors += r.errors();
      nanos += elapsedNanos;
      jvmCpu += cpu[0];
      dbCpu += cpu[1];
    }
  }

  private record Run(Histogram histogram, long errors) {}

  /**
   * The run's figures; {@code cpu} is the CPU time (ns) this JVM and PostgreSQL spent meanwhile
   * ({@link CpuMeter}), given per call.
   */
  private static Map<String, Object> figures(Run r, double elapsed, int batch, long[] cpu) {
    Histogram h = r.histogram();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("ops", h.getTotalCount());
    out.put("errors", r.errors());
    out.put("opsPerSec", Math.round(h.getTotalCount() / elapsed));
    out.put("keysPerSec", Math.round(h.getTotalCount() * (double) batch / elapsed));
    out.put("p50us", h.getValueAtPercentile(50) / 1000);
    out.put("p99us", h.getValueAtPercentile(99) / 1000);
    out.put("p999us", h.getValueAtPercentile(99.9) / 1000);
    out.put("maxUs", h.getMaxValue() / 1000);
    long calls = Math.max(1, h.getTotalCount());
    out.put("cpuUsPerOp", Math.round(cpu[0] / 10.0 / calls) / 100.0);
    out.put("dbCpuUsPerOp", Math.round(cpu[1] / 10.0 / calls) / 100.0);
    return out;
  }

  private static Run measure(Supplier<CompletionStage<?>> call, int concurrency, int seconds)
      throws Exception {
    Recorder recorder = new Recorder(3);
    AtomicLong errors = new AtomicLong();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<CompletableFuture<Void>> callers = new ArrayList<>();
    for (int i = 0; i < concurrency; i++) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      loop(call, recorder, errors, deadline, done);
      callers.add(done);
    }
    CompletableFuture.allOf(callers.toArray(CompletableFuture[]::new))
        .get(seconds + 60L, TimeUnit.SECONDS);
    return new Run(recorder.getIntervalHistogram(), errors.get());
  }

  private static void loop(
      Supplier<CompletionStage<?>> call,
      Recorder recorder,
      AtomicLong errors,
      long deadline,
      CompletableFuture<Void> done) {
    long t0 = System.nanoTime();
    if (t0 >= deadline) {
      done.complete(null);
      return;
    }
    CompletableFuture<?> answer = call.get().toCompletableFuture();
    answer.whenCompleteAsync(
        (ok, failure) -> {
          recorder.recordValue(System.nanoTime() - t0);
          if (failure != null) {
            errors.incrementAndGet();
          }
          loop(call, recorder, errors, deadline, done);
        },
        answer.isDone()
            ? ForkJoinPool.commonPool()
            : DIRECT); // an answer already there: no recursion
  }

  /**
   * Runs a completion on the thread that completes the call. pekko-grpc's clients (and Pekko's Java
   * ask) answer with Scala's {@code CompletableFuture}, which runs even the non-async callbacks
   * ({@code whenComplete}, {@code handle}) on the default async executor, and where the common pool
   * has a parallelism of 1 (a 2-core machine) that executor starts a new thread per callback: the
   * driver started a thread for every call it measured.
   */
  private static final Executor DIRECT = Runnable::run;

  private static Run open(Supplier<CompletionStage<?>> call, int rate, int seconds)
      throws Exception {
    Recorder recorder = new Recorder(3);
    AtomicLong errors = new AtomicLong();
    long intervalNanos = 1_000_000_000L / rate;
    long start = System.nanoTime();
    long total = (long) rate * seconds;
    List<CompletableFuture<Void>> inFlight = new ArrayList<>();
    for (long i = 0; i < total; i++) {
      long intended = start + i * intervalNanos;
      long wait = intended - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      inFlight.add(
          call.get()
              .toCompletableFuture()
              .handleAsync(
                  (ok, failure) -> {
                    recorder.recordValue(System.nanoTime() - intended);
                    if (failure != null) {
                      errors.incrementAndGet();
                    }
                    return null;
                  },
                  DIRECT));
      if (inFlight.size() > 10_000) {
        inFlight.removeIf(CompletableFuture::isDone);
      }
    }
    CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    return new Run(recorder.getIntervalHistogram(), errors.get());
  }
}
