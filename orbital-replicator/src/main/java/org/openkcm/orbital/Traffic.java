package org.openkcm.orbital;

import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What this region knows of its traffic with each peer, for {@code admin orbital status}: the last
 * outcome of shipping there, and the events applied from there with their delays.
 */
final class Traffic {

  /** Outbound to one peer: did the last shipment arrive, and if not why. */
  record Out(boolean connected, String lastError) {}

  /** Inbound from one peer: how many applied, when last, and the last delays (ms). */
  static final class In {
    private final long[] lags = new long[1000];
    private long count;
    private volatile Instant last;
    private static final int RECENT = 50;
    private long refused;
    private String lastRefusal = "";
    private final java.util.ArrayDeque<String> recent = new java.util.ArrayDeque<>();

    /** An event of this peer refused here ({@code why}: reason and detail). */
    synchronized void refused(String why) {
      recent.addLast(
          Instant.now()
              + " "
              + org.openkcm.protocol.error.Fields.safe(
                  why.length() > 512 ? why.substring(0, 512) : why));
      while (recent.size() > RECENT) {
        recent.removeFirst();
      }
      refused++;
      // the detail quotes what the peer sent: bounded, no control characters
      lastRefusal =
          org.openkcm.protocol.error.Fields.safe(why.length() > 512 ? why.substring(0, 512) : why);
    }

    private long gaps;
    private long caughtUp;
    private long unrecoverable;

    /**
     * A catch-up from this peer done: {@code fetched} events filled a gap; {@code truncated}: some
     * of it was purged there. A catch-up that found nothing (the previous event named was one that
     * does not cross, a pinned service's rotation) is no gap.
     */
    synchronized void gap(long fetched, boolean truncated) {
      if (fetched > 0 || truncated) {
        gaps++;
      }
      caughtUp += fetched;
      if (truncated) {
        unrecoverable++;
      }
    }

    synchronized long gaps() {
      return gaps;
    }

    synchronized long caughtUp() {
      return caughtUp;
    }

    synchronized long unrecoverableGaps() {
      return unrecoverable;
    }

    synchronized long refused() {
      return refused;
    }

    synchronized String lastRefusal() {
      return lastRefusal;
    }

    /** The last refusals, newest last (parked for an operator to read; also audited). */
    synchronized java.util.List<String> recentRefusals() {
      return java.util.List.copyOf(recent);
    }

    synchronized void applied(long lagMillis) {
      lags[(int) (count % lags.length)] = Math.max(0, lagMillis);
      count++;
      last = Instant.now();
    }

    synchronized long count() {
      return count;
    }

    Optional<Instant> last() {
      return Optional.ofNullable(last);
    }

    /** The {@code q} quantile (0..1) of the last delays, 0 when none. */
    synchronized double quantile(double q) {
      int n = (int) Math.min(count, lags.length);
      if (n == 0) {
        return 0;
      }
      long[] sorted = Arrays.copyOf(lags, n);
      Arrays.sort(sorted);
      return sorted[(int) Math.min(n - 1, Math.floor(q * n))];
    }
  }

  private final Map<String, Out> out = new ConcurrentHashMap<>();
  private final Map<String, In> in = new ConcurrentHashMap<>();

  void shipped(String peer) {
    out.put(peer, new Out(true, ""));
  }

  void failed(String peer, Throwable e) {
    out.put(peer, new Out(false, String.valueOf(e.getMessage())));
  }

  Out out(String peer) {
    return out.getOrDefault(peer, new Out(false, "nothing shipped yet"));
  }

  In in(String peer) {
    return in.computeIfAbsent(peer, p -> new In());
  }
}
