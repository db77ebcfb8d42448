package org.openkcm.node.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FreePortsTest {

  @Test
  void portsComeFromBelowTheEphemeralRangeAreBindableAndNeverRepeat() throws Exception {
    int ephemeral = FreePorts.ephemeralStart();
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      int port = FreePorts.pick();
      assertTrue(
          ephemeral <= 12_000 || port < ephemeral,
          port + " lies in the ephemeral range from " + ephemeral);
      assertTrue(seen.add(port), port + " handed out twice");
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress("127.0.0.1", port));
        assertEquals(port, s.getLocalPort());
      }
    }
  }
}
