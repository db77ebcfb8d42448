package org.openkcm.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.audit.PostgresAuditTrail;
import org.openkcm.systemtest.load.CpuMeter;

/**
 * What one key request's audit record costs where it is made, apart from any key service: records
 * with the Core key service's fields at a steady rate (as a benchmark at that many requests per
 * second makes them), and the CPU time the audit thread and the local PostgreSQL spend per record
 * in a measured window — the per-record figures of the benchmarks' audit share without their noise.
 *
 * <pre>
 * java -cp 'bench/target/bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*' org.openkcm.bench.AuditCostDriver \
 *   [--rate 2500] [--seconds 20] [--warmup 10] [--trail on|off] [--log on|off] 2>/dev/null
 * </pre>
 *
 * The trail writes into a fresh tenant's schema of {@code jdbc:postgresql://127.0.0.1:5432/test}
 * (or {@code --url}), dropped at the end.
 */
public final class AuditCostDriver {

  private AuditCostDriver() {}

  public static void main(String[] args) throws Exception {
    int rate = Integer.parseInt(arg(args, "--rate", "2500"));
    int seconds = Integer.parseInt(arg(args, "--seconds", "20"));
    int warmup = Integer.parseInt(arg(args, "--warmup", "10"));
    boolean trail = arg(args, "--trail", "on").equals("on");
    boolean logLine = arg(args, "--log", "on").equals("on");
    String url = arg(args, "--url", "jdbc:postgresql://127.0.0.1:5432/test");
    if (!logLine) {
      ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(AuditLog.LOGGER))
          .setLevel(ch.qos.logback.classic.Level.OFF);
    }
    String tenant = "audit-cost-" + UUID.randomUUID().toString().substring(0, 8);
    PostgresAuditTrail sink = null;
    AutoCloseable registration = null;
    if (trail) {
      sink =
          new PostgresAuditTrail(
              new PostgresAuditTrail.Settings(url, "postgres", "", 1000, Duration.ofSeconds(10)),
              Optional.empty(),
              Clock.systemUTC());
      registration = AuditLog.addSink(sink);
    }
    try {
      send(tenant, rate, warmup);
      drained();
      long thread = auditThread();
      ThreadMXBean mx = ManagementFactory.getThreadMXBean();
      long auditStart = mx.getThreadCpuTime(thread);
      long dbStart = CpuMeter.processNanos("postgres");
      long sent = send(tenant, rate, seconds);
      drained();
      double auditUs = (mx.getThreadCpuTime(thread) - auditStart) / 1000.0 / sent;
      double dbUs = (CpuMeter.processNanos("postgres") - dbStart) / 1000.0 / sent;
      System.out.printf(
          "{\"rate\":%d,\"records\":%d,\"trail\":%b,\"log\":%b,"
              + "\"auditThreadUsPerRecord\":%.2f,\"dbCpuUsPerRecord\":%.2f}%n",
          rate, sent, trail, logLine, auditUs, dbUs);
    } finally {
      if (registration != null) {
        registration.close();
        sink.close();
        try (Connection c = DriverManager.getConnection(url, "postgres", "");
            Statement st = c.createStatement()) {
          st.execute("DROP SCHEMA IF EXISTS " + PostgresAuditTrail.schema(tenant) + " CASCADE");
        }
      }
    }
  }

  /** Records at {@code rate} per second for {@code seconds}, in bursts every 10 ms. */
  private static long send(String tenant, int rate, int seconds) {
    Supplier<String> caller = () -> "spiffe://openkcm.local/gateway/gw-1";
    long burst = Math.max(1, rate / 100);
    long start = System.nanoTime();
    long sent = 0;
    for (int tick = 0; tick < seconds * 100; tick++) {
      LockSupport.parkNanos(start + tick * 10_000_000L - System.nanoTime());
      for (int i = 0; i < burst; i++) {
        AuditLog.recordLater(
            "keys.unwrap",
            "tenant",
            tenant,
            "service",
            "billing",
            "count",
            1,
            "caller",
            caller,
            "cid",
            "c-" + sent,
            "outcome",
            "ok");
        sent++;
      }
    }
    return sent;
  }

  /**
   * Waits until the audit thread has handed every record to the sinks — without a flush, which
   * would make it hurry (batches as they come, not one per linger) and change what is measured.
   */
  private static void drained() {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (AuditLog.backlog() > 0 && System.nanoTime() < deadline) {
      LockSupport.parkNanos(1_000_000);
    }
  }

  private static long auditThread() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("openkcm-audit"))
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("no audit thread"))
        .getId();
  }

  private static String arg(String[] args, String name, String otherwise) {
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals(name)) {
        return args[i + 1];
      }
    }
    return otherwise;
  }
}
