package org.openkcm.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openkcm.node.audit.AuditLog;

/**
 * What a key request's audit record costs the thread that answers it: {@link AuditLog#recordLater}
 * with the fields the Core's key service gives (a supplied caller identity included). The audit
 * thread makes the records meanwhile (log line off here, a sink that counts): when it cannot keep
 * up, its queue fills and the caller waits for it, so the time per call measured is an upper bound
 * of the caller's own cost.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AuditBenchmark {

  private final AtomicLong delivered = new AtomicLong();
  private AutoCloseable sink;
  private final String[] cids = new String[1024];
  private int n;

  @Setup(Level.Trial)
  public void start() {
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(AuditLog.LOGGER))
        .setLevel(ch.qos.logback.classic.Level.OFF);
    for (int i = 0; i < cids.length; i++) {
      cids[i] = "c-" + i;
    }
    sink = AuditLog.addSink((tenant, event, json) -> delivered.incrementAndGet());
  }

  @TearDown(Level.Trial)
  public void stop() throws Exception {
    sink.close();
    System.out.println("# records made and delivered: " + delivered.get());
  }

  @Benchmark
  public void recordLater() {
    Supplier<String> caller = () -> "spiffe://openkcm.local/gateway/gw-1";
    AuditLog.recordLater(
        "keys.unwrap",
        "tenant",
        "acme",
        "service",
        "payments",
        "count",
        1,
        "caller",
        caller,
        "cid",
        cids[n++ & 1023],
        "outcome",
        "ok");
  }
}
