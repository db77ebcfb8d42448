package org.openkcm.systemtest.load;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU time spent during a measurement: by this JVM (client and, in-process, gateway and Core) and
 * by the local PostgreSQL server's processes (read from Linux's {@code /proc}; 0 elsewhere). On a
 * shared, noisy machine the CPU a run spends per call is a steadier figure than its throughput:
 * other tenants' load slows a run down, but barely changes what each call costs.
 */
public final class CpuMeter {

  /** Linux's USER_HZ: the unit of utime/stime in {@code /proc/<pid>/stat}. */
  private static final long TICK_NANOS = 10_000_000L;

  private final long jvmStart = jvmNanos();
  private final long dbStart = processNanos("postgres");

  /** CPU time (ns) since this meter started: this JVM's and PostgreSQL's. */
  long[] elapsed() {
    return new long[] {jvmNanos() - jvmStart, processNanos("postgres") - dbStart};
  }

  private static long jvmNanos() {
    return ManagementFactory.getOperatingSystemMXBean()
            instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime()
        : 0;
  }

  /**
   * The CPU time (ns, user + system) of all processes whose name starts with {@code name}; 0 where
   * there is no {@code /proc}. Processes that ended during a run take their time with them: the
   * figure is a floor.
   */
  public static long processNanos(String name) {
    Path proc = Path.of("/proc");
    if (!Files.isDirectory(proc)) {
      return 0;
    }
    long ticks = 0;
    try (Stream<Path> pids = Files.list(proc)) {
      for (Path p : (Iterable<Path>) pids::iterator) {
        if (!p.getFileName().toString().chars().allMatch(Character::isDigit)) {
          continue;
        }
        ticks += ticks(p.resolve("stat"), name);
      }
    } catch (IOException e) {
      return 0;
    }
    return ticks * TICK_NANOS;
  }

  private static long ticks(Path stat, String name) {
    try {
      String s = Files.readAllLines(stat).get(0);
      // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis
      int open = s.indexOf('(');
      int close = s.lastIndexOf(')');
      if (open < 0 || close < open || !s.substring(open + 1, close).startsWith(name)) {
        return 0;
      }
      String[] f = s.substring(close + 2).split(" ");
      // after comm: state(0) ppid(1) ... utime(11) stime(12)
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (IOException | RuntimeException e) {
      return 0; // the process ended meanwhile, or is not ours to read
    }
  }
}
