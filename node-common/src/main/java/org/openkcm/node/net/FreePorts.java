package org.openkcm.node.net;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports to hand to a node that binds them later ({@code cluster up}, tests). They
 * come from below the kernel's ephemeral range: a port picked with {@code bind(0)} lies inside it
 * and can be taken, before the node binds it, as the local port of some outgoing connection (this
 * failed OrbitalIT once with "Address already in use"). A port is handed out once per JVM.
 */
public final class FreePorts {

  /** Ports this JVM handed out (never twice). */
  private static final Set<Integer> PICKED = ConcurrentHashMap.newKeySet();

  private FreePorts() {}

  /** A port free on 127.0.0.1 now, below the ephemeral range when there is room. */
  public static int pick() {
    int below = ephemeralStart();
    ThreadLocalRandom r = ThreadLocalRandom.current();
    for (int i = 0; i < 200 && below > 12_000; i++) {
      int port = r.nextInt(10_000, below);
      if (PICKED.add(port) && free(port)) {
        return port;
      }
    }
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on 127.0.0.1", e);
    }
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress("127.0.0.1", port));
      return true;
    } catch (IOException taken) {
      return false;
    }
  }

  /** The first port of the kernel's ephemeral range (Linux), 32768 when unknown. */
  static int ephemeralStart() {
    try {
      // readAllLines, not readString: procfs reports a size of 0 and readString returned one byte
      String range =
          Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).strip();
      return Integer.parseInt(range.split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 32768;
    }
  }
}
