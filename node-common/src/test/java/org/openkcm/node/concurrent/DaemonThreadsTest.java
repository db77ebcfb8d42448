package org.openkcm.node.concurrent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ThreadFactory;
import org.junit.jupiter.api.Test;

class DaemonThreadsTest {

  @Test
  void threadsAreDaemonsNamedForTheirWork() {
    ThreadFactory factory = DaemonThreads.named("openkcm-sweeps");
    Thread first = factory.newThread(() -> {});
    Thread second = factory.newThread(() -> {});
    assertTrue(first.isDaemon(), "a background thread must not keep the JVM from stopping");
    assertTrue(second.isDaemon());
    assertEquals("openkcm-sweeps", first.getName());
    assertEquals("openkcm-sweeps-2", second.getName());
  }
}
