package org.openkcm.node.grpc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.SpiffeId;

/**
 * The gRPC listeners of both nodes under a flood of sockets that never finish (or never start)
 * their TLS handshake: each is closed after the handshake timeout, not after grpc-java's two
 * minutes, so idle sockets cannot pile up.
 */
class NettyGrpcServerTest {

  @TempDir Path dir;

  @Test
  void socketsThatNeverHandshakeAreClosedAfterTheHandshakeTimeout() throws Exception {
    DevCa ca = DevCa.loadOrCreate(dir.resolve("ca"), "test.openkcm");
    ca.issue(
        SpiffeId.parse("spiffe://test.openkcm/gateway/g1"),
        Duration.ofDays(1),
        dir.resolve("g.crt"),
        dir.resolve("g.key"));
    MutualTls tls =
        MutualTls.load(
            new MutualTls.Settings(
                dir.resolve("g.crt"),
                dir.resolve("g.key"),
                dir.resolve("ca").resolve(DevCa.CA_CERT),
                "test.openkcm",
                List.of("TLSv1.3"),
                Duration.ofSeconds(30)));
    try (NettyGrpcServer server =
        NettyGrpcServer.start(
            "127.0.0.1",
            0,
            new NettyGrpcServer.Limits(10, 1 << 20, Duration.ofSeconds(1))
                .withHandshakeTimeout(Duration.ofMillis(500)),
            Runnable::run,
            Optional.of(tls),
            Set.of("app"),
            List.of())) {
      List<Socket> idle = new ArrayList<>();
      try {
        for (int i = 0; i < 20; i++) {
          idle.add(new Socket("127.0.0.1", server.address().getPort()));
        }
        for (Socket s : idle) {
          s.setSoTimeout(5_000); // ten times the handshake timeout
          try {
            assertTrue(s.getInputStream().readAllBytes().length < 64, "closed by the server");
          } catch (SocketTimeoutException e) {
            throw new AssertionError("a socket without a handshake was open after 5 s", e);
          } catch (java.net.SocketException reset) {
            // closed before a byte was read
          }
        }
      } finally {
        for (Socket s : idle) {
          s.close();
        }
      }
    }
  }
}
