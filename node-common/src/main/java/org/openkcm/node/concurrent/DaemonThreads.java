package org.openkcm.node.concurrent;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** Threads of a node's own background work, which never keep the JVM from stopping. */
public final class DaemonThreads {

  private DaemonThreads() {}

  /**
   * A factory of daemon threads named {@code name} (the first) and {@code name-2}, {@code name-3},
   * … (any further one), so a thread dump says whose they are.
   */
  public static ThreadFactory named(String name) {
    AtomicInteger made = new AtomicInteger();
    return work -> {
      int n = made.incrementAndGet();
      Thread thread = new Thread(work, n == 1 ? name : name + "-" + n);
      thread.setDaemon(true);
      return thread;
    };
  }
}
